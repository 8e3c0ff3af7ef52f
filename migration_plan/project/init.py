"""`strangler init`: a strangler.toml for an existing Django project."""

from __future__ import annotations

import json

from migration_plan.project.introspect import DjangoProject, health_path

__all__ = ["project_file_text"]


def _string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string


def project_file_text(project: DjangoProject, *, port: int = 8100, workers: int = 2) -> str:
    """The strangler.toml of ``project``: the monolith under gunicorn, migrated before each start."""
    manage = project.manage.relative_to(project.directory)
    command = f"{{python}} -m gunicorn {project.wsgi} --bind 127.0.0.1:{{port}} --workers {workers}"
    lines = [
        "# Written by `strangler init`; edit freely (re-running init keeps it unless --force).",
        "# Schema: the toolkit's docs/project-file.md.",
        "",
        "[legacy]",
        f"command = {_string(command)}",
        'cwd = "."',
        f"port = {port}",
        f"health = {_string(health_path(project))}",
        f'manage = "{{python}} {manage}"',
        f"env = {{ DJANGO_SETTINGS_MODULE = {_string(project.settings)} }}",
        f'setup = [{{ command = "{{python}} {manage} migrate --noinput" }}]',
        f'label = "monolith, direct ({project.settings.partition(".")[0]})"',
        "",
        "[ports]",
        "dataplane = 8000",
        "admin = 8001",
        "dataplane_internal = 8002",
        "",
        "# The token of strangler_django's /internal/ endpoints, shared by the monolith",
        "# (STRANGLER_INTERNAL_TOKEN in its environment) and the toolkit: STRANGLER_INTERNAL_TOKEN(_FILE),",
        "# else generated under the home at first start.",
        "[secrets.internal_token]",
        "",
        "# Services come here as they are extracted:",
        "# [[services]]",
        '# name = "things"',
        '# command = "{python} -m gunicorn things.wsgi:app --bind 127.0.0.1:{port}"',
        "# port = 8201",
        "",
    ]
    return "\n".join(lines)
