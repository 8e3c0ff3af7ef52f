"""A process list from a file (TOML or JSON), for `strangler up --procfile FILE`.

```toml
[[process]]
name = "web"
command = "python -m http.server 9000"      # or argv = ["python", "-m", "http.server", "9000"]
cwd = "."                                   # relative paths are relative to this file
env = { GREETING = "hello" }
health = ["http://127.0.0.1:9000/"]         # every URL must answer 2xx
port = 9000
restart = "on-failure"                      # always | on-failure | never
startup_timeout = 30
stop_grace = 10
setup = [{ command = "python seed.py", once = "var/.seeded", required = true }]
backoff = { initial = 0.5, factor = 2, cap = 30, reset_after = 30 }
stage = 2                                   # neighbours with the same stage start together
```
"""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path
from typing import Any

from migration_plan.toolbox.supervisor.backoff import Backoff
from migration_plan.toolbox.supervisor.spec import ProcessSpec, RestartPolicy, SetupStep, validate_specs

__all__ = ["ProcfileError", "load_procfile", "parse_procfile"]

_PROCESS_KEYS = {
    "name",
    "command",
    "argv",
    "cwd",
    "env",
    "health",
    "port",
    "url",
    "label",
    "restart",
    "startup_timeout",
    "stop_grace",
    "setup",
    "backoff",
    "stage",
}


class ProcfileError(ValueError):
    """The process file cannot be used; the message says where and why."""


def load_procfile(path: Path) -> list[ProcessSpec]:
    """Read ``path`` (``.json`` is JSON, anything else TOML) into a validated list of specs."""
    path = path.resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProcfileError(f"cannot read process file {path}: {exc}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except ValueError as exc:
        raise ProcfileError(
            f"{path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}"
        ) from exc
    return parse_procfile(data, base_dir=path.parent, source=str(path))


def parse_procfile(data: Any, *, base_dir: Path, source: str = "process file") -> list[ProcessSpec]:
    if not isinstance(data, dict) or not isinstance(data.get("process"), list):
        raise ProcfileError(f"{source}: expected a list of processes under the key 'process'")
    specs = []
    for index, entry in enumerate(data["process"]):
        where = f"{source}: process #{index + 1}"
        if not isinstance(entry, dict):
            raise ProcfileError(f"{where}: expected a table/object")
        try:
            specs.append(_spec(entry, base_dir))
        except (ValueError, TypeError) as exc:
            raise ProcfileError(f"{where} ({entry.get('name', '?')}): {exc}") from exc
    try:
        validate_specs(specs)
    except ValueError as exc:
        raise ProcfileError(f"{source}: {exc}") from exc
    return specs


def _argv(entry: dict[str, Any]) -> tuple[str, ...]:
    if ("command" in entry) == ("argv" in entry):
        raise ValueError("give exactly one of 'command' (a string) or 'argv' (a list)")
    if "command" in entry:
        if not isinstance(entry["command"], str):
            raise ValueError("'command' must be a string")
        return tuple(shlex.split(entry["command"]))
    argv = entry["argv"]
    if not isinstance(argv, list) or not all(isinstance(part, str) for part in argv):
        raise ValueError("'argv' must be a list of strings")
    return tuple(argv)


def _path(value: Any, base_dir: Path, key: str) -> Path:
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a path string")
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()


def _spec(entry: dict[str, Any], base_dir: Path) -> ProcessSpec:
    unknown = set(entry) - _PROCESS_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} (known: {sorted(_PROCESS_KEYS)})")
    if not isinstance(entry.get("name"), str):
        raise ValueError("'name' is required and must be a string")
    health = entry.get("health", [])
    if isinstance(health, str):
        health = [health]
    env = entry.get("env", {})
    if not isinstance(env, dict):
        raise ValueError("'env' must be a table of strings")
    setup = []
    for step in entry.get("setup", []):
        if not isinstance(step, dict):
            raise ValueError("each setup step must be a table with 'command' or 'argv' (and optional 'once')")
        marker = _path(step["once"], base_dir, "once") if "once" in step else None
        unknown_step = set(step) - {"command", "argv", "once", "required"}
        if unknown_step:
            raise ValueError(
                f"unknown setup keys {sorted(unknown_step)} (known: command, argv, once, required)"
            )
        setup.append(
            SetupStep(argv=_argv(step), once_marker=marker, required=bool(step.get("required", True)))
        )
    options: dict[str, Any] = {}
    for key in ("startup_timeout", "stop_grace"):
        if key in entry:
            options[key] = float(entry[key])
    return ProcessSpec(
        name=entry["name"],
        argv=_argv(entry),
        env={str(key): str(value) for key, value in env.items()},
        cwd=_path(entry["cwd"], base_dir, "cwd") if "cwd" in entry else base_dir,
        health_urls=tuple(str(url) for url in health),
        setup=tuple(setup),
        restart=RestartPolicy(entry.get("restart", RestartPolicy.ON_FAILURE)),
        backoff=Backoff(**{key: float(value) for key, value in entry.get("backoff", {}).items()}),
        port=int(entry["port"]) if "port" in entry else None,
        stage=int(entry["stage"]) if "stage" in entry else None,
        url=entry.get("url"),
        label=entry.get("label"),
        **options,
    )
