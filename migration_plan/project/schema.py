"""The schema of ``strangler.toml`` (pydantic; unknown keys are errors, so a typo is named).

```toml
home = ".strangler"                 # state directory (--home and STRANGLER_HOME win)
plan = "plans/mysite.yaml"          # the migration plan (--plan and STRANGLER_PLAN win)

[legacy]                            # the monolith: a command the supervisor runs...
command = "{python} -m gunicorn mysite.wsgi:application --bind 127.0.0.1:{port}"
cwd = "."                           # relative to this file
port = 8100
health = "/readyz"                  # a path on 127.0.0.1:{port}, or a URL
env = { DJANGO_SETTINGS_MODULE = "mysite.settings" }
manage = "{python} manage.py"       # management commands (the route inventory runs urls_json)
setup = [{ command = "{python} manage.py migrate --noinput" },
         { command = "{python} manage.py loaddata demo", once = "{home}/legacy/.seeded", required = false }]
# url = "https://legacy.internal.example"   # ...or only the URL of a monolith deployed elsewhere

[store]
url = "postgresql://strangler@127.0.0.1/strangler"   # default: SQLite under the home

[ports]
dataplane = 8000
admin = 8001
dataplane_internal = 8002

[[services]]
name = "catalog"
path = "new_services/catalog"       # a service package (entrypoints/wsgi.py), or command = "..."
port = 8201
health = "/readyz"
upstream = "catalog"                # the upstream name in the route table (default: name)
processes = [                       # workers that belong to the service, supervised next to it
    { name = "recover", command = "{python} -m catalog_worker --every 10" },
]

[sync]
reverse = { catalog = "reverse" }   # upstream -> reverse-sync direction a rollback drains first
forward = ["catalog"]               # upstreams fed the monolith's outbox events (their /internal/sync/apply)

[load]                              # the project's locustfile (relative to this file): `strangler load`, the
locustfile = "loadtests/mysite.py"  # plan's load gates, `strangler drill --locust-users` (--locustfile wins)

[drills]                            # what `strangler drill` drills (migration_plan/project/drills_section.py)
upstream = "catalog"
reads = ["/api/items/{id}"]

[secrets.internal_token]            # where a secret comes from: STRANGLER_<NAME> or STRANGLER_<NAME>_FILE,
generate = true                     # else a file generated under the home
```

In ``command``, ``setup``, ``env`` and ``cwd``, ``{python}`` is the toolkit's interpreter, ``{home}`` the
state directory, ``{port}`` the process's port and ``{root}`` the folder of ``strangler.toml``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from migration_plan.project.drills_section import DrillsSection

__all__ = [
    "LegacySection",
    "LoadSection",
    "PortsSection",
    "ProjectFile",
    "SecretSection",
    "ServiceProcessSection",
    "ServiceSection",
    "SetupSection",
    "StoreSection",
    "SyncSection",
]

Port = Annotated[int, Field(ge=1, le=65535)]
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_DIRECTION = re.compile(r"reverse(:[a-z][a-z0-9_-]*)?")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetupSection(_Section):
    """A one-shot command before the process's first start (``once``: only while that file is missing)."""

    command: str = Field(min_length=1)
    once: str | None = None
    required: bool = True


class LegacySection(_Section):
    """The monolith: a supervised ``command`` on ``port``, or the ``url`` of one deployed elsewhere."""

    command: str | None = None
    url: str | None = None
    cwd: str = "."
    port: Port = 8100
    port_variables: list[Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]] = Field(default_factory=list)
    """Environment variables that also set ``port`` (after ``STRANGLER_LEGACY_PORT``, in this order): the
    name the monolith's own settings read, say."""
    health: str = "/readyz"
    env: dict[str, str] = Field(default_factory=dict)
    setup: list[SetupSection] = Field(default_factory=list)
    label: str = "monolith, direct"
    manage: str | None = None
    """How to run the monolith's management commands, e.g. ``{python} manage.py`` (the route inventory
    runs ``urls_json`` with it, in ``cwd`` with ``env``)."""
    startup_timeout: Annotated[float, Field(gt=0)] | None = None
    database: str | None = None
    """The monolith's database URL (``strangler_django``'s outbox and inbox), where a handover measures
    the sync backlog live (``STRANGLER_SYNC_LEGACY_DATABASE_URL`` wins); unset: from the relays' lag rows."""

    @model_validator(mode="after")
    def _command_or_url(self) -> LegacySection:
        if not self.command and not self.url:
            raise ValueError("give the monolith's command (supervised) or its url (deployed elsewhere)")
        if self.url and not re.match(r"https?://", self.url):
            raise ValueError("url must start with http:// or https://")
        if self.url and self.setup:
            raise ValueError("setup steps need a command: a monolith given by url is not run here")
        return self


class ServiceProcessSection(_Section):
    """A worker of a service (e.g. its saga recovery), run as ``<service>-<name>`` after the services are
    up, with the service's ``env`` and ``<NAME>_PORT``; no port, no health check, restarted on failure."""

    name: str
    command: str = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("a process name is lowercase letters, digits and '_', starting with a letter")
        return value


class ServiceSection(_Section):
    """An extracted service: a package ``path`` (with ``entrypoints/wsgi.py``) or a ``command``."""

    name: str
    path: str | None = None
    command: str | None = None
    cwd: str = "."
    port: Port
    health: str = "/readyz"
    upstream: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    processes: list[ServiceProcessSection] = Field(default_factory=list)
    """Workers of the service (``strangler up`` runs each as ``<service>-<name>``)."""
    database: str | None = None
    """The service's database URL (its ``service_outbox``), for its reverse relay and the handover's
    backlog; ``<NAME>_DATABASE_URL`` wins; unset: the service kit's SQLite file under the home."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("a service name is lowercase letters, digits and '_', starting with a letter")
        return value

    @model_validator(mode="after")
    def _path_or_command(self) -> ServiceSection:
        if bool(self.path) == bool(self.command):
            raise ValueError("give exactly one of path (a service package) or command")
        names = [process.name for process in self.processes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"two processes of {self.name} are named {', '.join(duplicates)}")
        return self

    @property
    def upstream_name(self) -> str:
        return self.upstream or self.name


class StoreSection(_Section):
    url: str = ""
    """Empty: ``sqlite:///{home}/store.sqlite3``."""


class PortsSection(_Section):
    dataplane: Port = 8000
    admin: Port = 8001
    dataplane_internal: Port = 8002


SyncWorker = Literal["relay", "consume", "reverse", "reverse-orders", "consume-orders"]


class SyncSection(_Section):
    workers: list[SyncWorker] = Field(default_factory=list)
    """The demo's sync workers `strangler up` runs (as ``sync-<name>``): its catalog and orders pipelines."""
    reverse: dict[str, str] = Field(default_factory=dict)
    """Upstream -> the reverse-sync direction carrying its writes (``reverse`` or ``reverse:<name>``).
    `strangler up` runs a reverse relay (``sync-reverse-<service>``) for each ``reverse:<origin>`` of a
    service that no worker of ``workers`` carries: the service's ``service_outbox`` -> the monolith."""

    pipelines: list[str] = Field(default_factory=list)
    """The project's sync pipelines (``package.module:ATTRIBUTE``), given to every sync worker as
    ``STRANGLER_SYNC_PIPELINES`` (unless set; none: empty): their consumers are among ``workers``, their
    names the targets of ``strangler sync backfill|reconcile``; ``python -m acl.sync`` run where this
    file is reads them from it too."""

    env: dict[str, str] = Field(default_factory=dict)
    """Variables every sync worker `strangler up` runs gets (placeholders ``{home}``, ``{root}``,
    ``{python}`` filled); what the toolkit sets itself (``STRANGLER_*``) wins."""

    forward: list[str] = Field(default_factory=list)
    """The upstreams (``[[services]]`` by upstream name) that receive the monolith's outbox events: `strangler
    up` runs the relay (``sync-relay``, the monolith's ``outbox_event`` from ``[legacy] database``) unless
    ``workers`` lists it, and a generic forward consumer (``sync-forward-<service>``) per upstream, posting
    to the service's ``/internal/sync/apply``."""

    @field_validator("forward")
    @classmethod
    def _forwarded(cls, value: list[str]) -> list[str]:
        shared = sorted({upstream for upstream in value if value.count(upstream) > 1})
        if shared:
            raise ValueError(f"{', '.join(shared)} listed twice: one forward consumer each")
        return value

    @field_validator("reverse")
    @classmethod
    def _directions(cls, value: dict[str, str]) -> dict[str, str]:
        for upstream, direction in value.items():
            if not _DIRECTION.fullmatch(direction) or len(direction) > 20:
                raise ValueError(
                    f"{upstream} = {direction!r}: a direction is 'reverse' or 'reverse:<name>' (the origin"
                    " of the service's outbox events: lowercase letters, digits, '_' and '-'; 20 characters"
                    " at most in all)"
                )
        directions = list(value.values())
        shared = sorted({d for d in directions if directions.count(d) > 1})
        if shared:
            raise ValueError(f"two upstreams share the direction {', '.join(shared)}: one relay each")
        return value


class LoadSection(_Section):
    """The project's own traffic for locust: ``strangler load``, the plan's load gates (unless a gate names
    its own) and the locust users of ``strangler drill --locust-users`` run this file."""

    locustfile: str | None = None
    """A locustfile, relative to ``strangler.toml``; unset: the demo's ``loadtests/shop.py`` in a checkout."""

    @field_validator("locustfile")
    @classmethod
    def _python_file(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or not value.endswith(".py")):
            raise ValueError(f"{value!r}: a locustfile is a Python file (.py), relative to strangler.toml")
        return value


class SecretSection(_Section):
    """Where a secret comes from: ``STRANGLER_<NAME>``, else the file ``STRANGLER_<NAME>_FILE`` names,
    else (``generate``) a file generated under the home at first start."""

    generate: bool = True


class ProjectFile(_Section):
    home: str | None = None
    plan: str | None = None
    """The migration plan (YAML), relative to this file; ``--plan`` and ``STRANGLER_PLAN`` win."""
    legacy: LegacySection
    services: list[ServiceSection] = Field(default_factory=list)
    store: StoreSection = Field(default_factory=StoreSection)
    ports: PortsSection = Field(default_factory=PortsSection)
    sync: SyncSection = Field(default_factory=SyncSection)
    secrets: dict[str, SecretSection] = Field(default_factory=dict)
    engine: Literal["dataplane", "haproxy"] | None = None
    load: LoadSection = Field(default_factory=LoadSection)
    drills: DrillsSection | None = None
    """What `strangler drill` drills: route, upstream, load and write probe (see drills_section)."""

    @model_validator(mode="after")
    def _unique(self) -> ProjectFile:
        names = [service.name for service in self.services]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"two services are named {', '.join(duplicates)}")
        if "legacy" in names:
            raise ValueError("'legacy' is the monolith's name, not a service's")
        ports = [service.port for service in self.services]
        if self.legacy.command:
            ports.append(self.legacy.port)
        clash = sorted({port for port in ports if ports.count(port) > 1})
        if clash:
            raise ValueError(f"two processes listen on port {', '.join(map(str, clash))}")
        return self
