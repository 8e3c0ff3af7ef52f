"""nginx configured by hand for the engine benchmark's table: the measurement that chose HAProxy.

The benchmark's table (20 prefix rules, a regular-expression rule, ``/api/products`` to a new
upstream) written as nginx locations, with the products route on either side. nginx applies a
change only by reloading its configuration, so each flip is ``nginx -s reload``; the benchmark
counts what its clients lose then, beside HAProxy's runtime-API flips. This is a comparison rig, not
an engine: it renders this one table.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["NGINX", "reload", "render"]

NGINX = Path("/usr/sbin/nginx")


def render(tmp: Path, *, port: int, legacy_port: int, new_port: int, products_to_new: bool) -> Path:
    """Write ``nginx.conf`` for the table with the products route on the new side or the legacy."""
    products = "new" if products_to_new else "legacy"
    areas = "\n".join(
        f"    location = /area-{i} {{ proxy_pass http://legacy; }}\n"
        f"    location /area-{i}/ {{ proxy_pass http://legacy; }}"
        for i in range(20)
    )
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path {tmp}/nginx-body;
  proxy_temp_path {tmp}/nginx-proxy;
  upstream legacy {{ server 127.0.0.1:{legacy_port}; keepalive 512; keepalive_requests 10000000; }}
  upstream new {{ server 127.0.0.1:{new_port}; keepalive 512; keepalive_requests 10000000; }}
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  proxy_buffering off;
  server {{
    listen 127.0.0.1:{port};
{areas}
    location ~ ^/orders/\\d+/items$ {{ proxy_pass http://legacy; }}
    location = /api/products {{ proxy_pass http://{products}; }}
    location /api/products/ {{ proxy_pass http://{products}; }}
    location / {{ proxy_pass http://legacy; }}
  }}
}}
"""
    )
    return conf


def reload(conf: Path) -> None:
    """Apply the rewritten configuration (the only way nginx has): a graceful reload."""
    subprocess.run([str(NGINX), "-c", str(conf), "-s", "reload"], check=True, capture_output=True, timeout=30)
