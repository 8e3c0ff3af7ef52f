"""A procfile (``strangler up --procfile``) as a ``strangler.toml``: one process is the monolith, the
others become services. What a procfile says that strangler.toml has no place for (restart policy,
backoff, stage) is listed as a comment at the top of the output, so nothing is dropped silently."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from migration_plan.project.loader import parse_project
from migration_plan.toolbox.supervisor.procfile import load_procfile
from migration_plan.toolbox.supervisor.spec import ProcessSpec

__all__ = ["procfile_to_project"]


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _health(spec: ProcessSpec) -> str:
    if not spec.health_urls:
        return "/"
    url = spec.health_urls[0]
    prefix = f"http://127.0.0.1:{spec.port}"
    return url[len(prefix) :] or "/" if spec.port and url.startswith(prefix) else url


def _env(spec: ProcessSpec) -> str:
    pairs = ", ".join(f"{name} = {_string(value)}" for name, value in spec.env.items())
    return "{ " + pairs + " }" if pairs else "{}"


def procfile_to_project(path: Path, *, legacy: str | None = None) -> str:
    """The text of a ``strangler.toml`` equivalent to the procfile ``path``; ``legacy`` names the
    monolith's process (default: the one named "legacy", else the first). Every process needs a port."""
    specs = load_procfile(path)
    names = [spec.name for spec in specs]
    chosen = legacy or ("legacy" if "legacy" in names else names[0])
    if chosen not in names:
        raise ValueError(f"--legacy {chosen}: the procfile has no such process ({', '.join(names)})")
    base = path.resolve().parent
    lines = [
        f"# Converted from {path.name} by `strangler project convert`; check the ports and health paths."
    ]
    dropped = [
        f"#   {spec.name}: restart = {spec.restart.value!r}, stage = {spec.stage}"
        for spec in specs
        if spec.restart.value != "on-failure" or spec.stage is not None
    ]
    if dropped:
        lines += ["# Not carried over (strangler.toml decides restart and start order itself):", *dropped]
    for spec in specs:
        if spec.port is None:
            raise ValueError(f"process {spec.name!r} has no port: give it one in the procfile first")
        command = _string(shlex.join(spec.argv))
        cwd = _string(
            str(Path(spec.cwd).relative_to(base))
            if spec.cwd and Path(spec.cwd).is_relative_to(base)
            else str(spec.cwd or ".")
        )
        if spec.name == chosen:
            lines += ["", "[legacy]", f"command = {command}", f"cwd = {cwd}", f"port = {spec.port}"]
            lines += [f"health = {_string(_health(spec))}", f"env = {_env(spec)}"]
            if spec.setup:
                lines.append("setup = [")
                for step in spec.setup:
                    once = f", once = {_string(str(step.once_marker))}" if step.once_marker else ""
                    required = str(step.required).lower()
                    command_text = _string(shlex.join(step.argv))
                    lines.append(f"    {{ command = {command_text}{once}, required = {required} }},")
                lines.append("]")
        else:
            if spec.setup:
                raise ValueError(f"process {spec.name!r} has setup steps: only the monolith's are supported")
            name = spec.name.replace("-", "_").lower()
            lines += ["", "[[services]]", f"name = {_string(name)}", f"command = {command}", f"cwd = {cwd}"]
            lines += [f"port = {spec.port}", f"health = {_string(_health(spec))}", f"env = {_env(spec)}"]
    text = "\n".join(lines) + "\n"
    parse_project(text, source="the converted strangler.toml")  # what we write must load
    return text
