"""What the supervisor runs: a process is a spec, and the supervisor does not care what is inside."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from migration_plan.toolbox.supervisor.backoff import Backoff

__all__ = ["ProcessSpec", "RestartPolicy", "SetupStep", "start_stages", "validate_specs"]


class RestartPolicy(StrEnum):
    """When a process that exited on its own is started again (a process stopped on purpose never is)."""

    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    NEVER = "never"

    def restarts(self, returncode: int) -> bool:
        if self is RestartPolicy.ALWAYS:
            return True
        if self is RestartPolicy.ON_FAILURE:
            return returncode != 0
        return False


@dataclass(frozen=True)
class SetupStep:
    """A one-shot command run before the first start of its process in a supervisor run.

    With ``once_marker`` the step runs only while that file is missing, and creates it after success
    (e.g. seeding a database on first start only). A step that is not ``required`` may fail with a
    warning (e.g. a seed command that politely refuses because the data is already there).
    """

    argv: tuple[str, ...]
    once_marker: Path | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if not self.argv:
            raise ValueError("a setup step needs a command")


@dataclass(frozen=True)
class ProcessSpec:
    """One supervised process: its command line, environment and how to tell it is healthy."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    health_urls: tuple[str, ...] = ()
    setup: tuple[SetupStep, ...] = ()
    restart: RestartPolicy = RestartPolicy.ON_FAILURE
    backoff: Backoff = field(default_factory=Backoff)
    port: int | None = None
    url: str | None = None
    label: str | None = None
    startup_timeout: float = 60.0
    stop_grace: float = 10.0
    stage: int | None = None
    """Neighbours in the list with the same stage start together; None starts after the one before."""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"process name {self.name!r} must be letters, digits, '-' or '_'")
        if not self.argv:
            raise ValueError(f"process {self.name!r} needs a command")
        if self.startup_timeout <= 0 or self.stop_grace < 0:
            raise ValueError(f"process {self.name!r}: startup_timeout must be > 0 and stop_grace >= 0")


def validate_specs(specs: tuple[ProcessSpec, ...] | list[ProcessSpec]) -> None:
    """Refuse an empty list and duplicate names."""
    if not specs:
        raise ValueError("nothing to run: the process list is empty")
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ValueError(f"two processes are named {spec.name!r}")
        seen.add(spec.name)


def start_stages(specs: Sequence[ProcessSpec]) -> list[list[ProcessSpec]]:
    """The start order: groups of neighbours sharing a stage, each group started once the previous is up."""
    stages: list[list[ProcessSpec]] = []
    for spec in specs:
        if stages and spec.stage is not None and stages[-1][-1].stage == spec.stage:
            stages[-1].append(spec)
        else:
            stages.append([spec])
    return stages
