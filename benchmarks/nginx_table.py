"""nginx configured by hand for the benchmarks: a pass-through, and the engine benchmark's table.

The benchmark's table (20 prefix rules, a regular-expression rule, ``/api/products`` to a new
upstream) written as nginx locations, with the products route on either side. nginx applies a
change only by reloading its configuration, so each flip is ``nginx -s reload``; the benchmark
counts what its clients lose then, beside HAProxy's runtime-API flips. This is a comparison rig, not
an engine: it renders this one table.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["NGINX", "reload", "render", "write_conf"]

NGINX = Path("/usr/sbin/nginx")


def write_conf(tmp: Path, *, port: int, upstreams: dict[str, int], locations: str) -> Path:
    """``nginx.conf`` in ``tmp``: one worker, upstream keep-alive, no buffering, no access log."""
    pools = "\n".join(
        f"  upstream {name} {{ server 127.0.0.1:{upstream}; keepalive 512; keepalive_requests 10000000; }}"
        for name, upstream in upstreams.items()
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
{pools}
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  proxy_buffering off;
  server {{
    listen 127.0.0.1:{port};
{locations}
  }}
}}
"""
    )
    return conf


def render(tmp: Path, *, port: int, legacy_port: int, new_port: int, products_to_new: bool) -> Path:
    """Write ``nginx.conf`` for the table with the products route on the new side or the legacy."""
    products = "new" if products_to_new else "legacy"
    areas = "\n".join(
        f"    location = /area-{i} {{ proxy_pass http://legacy; }}\n"
        f"    location /area-{i}/ {{ proxy_pass http://legacy; }}"
        for i in range(20)
    )
    locations = (
        f"{areas}\n"
        "    location ~ ^/orders/\\d+/items$ { proxy_pass http://legacy; }\n"
        f"    location = /api/products {{ proxy_pass http://{products}; }}\n"
        f"    location /api/products/ {{ proxy_pass http://{products}; }}\n"
        "    location / { proxy_pass http://legacy; }"
    )
    return write_conf(tmp, port=port, upstreams={"legacy": legacy_port, "new": new_port}, locations=locations)


def reload(conf: Path) -> None:
    """Apply the rewritten configuration (the only way nginx has): a graceful reload."""
    subprocess.run([str(NGINX), "-c", str(conf), "-s", "reload"], check=True, capture_output=True, timeout=30)
