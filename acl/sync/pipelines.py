"""A project's own sync pipelines, registered by name: their workers and their backfill and reconcile.

The generic commands (``relay``, ``reverse``, ``forward``, ``lag``, ``dead-letters``) serve every project.
What knows one monolith's aggregates (how its legacy rows translate, which port applies them) is a
pipeline, found through ``STRANGLER_SYNC_PIPELINES``: space-separated ``"package.module:ATTRIBUTE"``
references to ``Pipeline`` objects, loaded at start the way the ports are; when the variable is unset, the
``pipelines`` of ``[sync]`` in the project file (``strangler.toml`` in the working directory); else none.
``python -m acl.sync`` then offers each pipeline's workers as commands and its name as a target of
``backfill`` and ``reconcile``.
"""

from __future__ import annotations

import argparse
import importlib
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from acl.sync.settings import SyncSettings, aliased_settings

__all__ = [
    "PIPELINES_VARIABLE",
    "PROJECT_FILE",
    "Command",
    "Pipeline",
    "Worker",
    "configured_pipelines",
    "load_pipelines",
    "sync_settings",
]

PIPELINES_VARIABLE = "STRANGLER_SYNC_PIPELINES"
PROJECT_FILE = "strangler.toml"

Command = Callable[[SyncSettings, argparse.Namespace], int]
"""A command of ``python -m acl.sync``: the settings and the parsed arguments in, the exit status out."""


@dataclass(frozen=True, slots=True)
class Worker:
    """A long-running command of a pipeline (its consumer), run under ``strangler up``."""

    command: str
    help: str
    run: Command


@dataclass(frozen=True, slots=True)
class Pipeline:
    """One aggregate's sync: ``name`` is its target of ``backfill`` and ``reconcile``.

    ``environ_aliases`` maps the monolith's own variable names a user may have set to the generic ones
    (``{"OLD_NAME": "STRANGLER_..."}``), read when the generic one is unset; ``environ_defaults`` gives
    generic variables still unset a value (``$home``: the state folder), such as its service's origin and
    database for the generic commands; ``directions`` names the ``sync_lag`` row of an origin's reverse
    relay (``{"origin": "reverse"}``) when ``STRANGLER_SYNC_DIRECTION`` is unset. The first registered
    pipeline's wins.
    """

    name: str
    workers: tuple[Worker, ...] = ()
    backfill: Command | None = None
    reconcile: Command | None = None
    environ_aliases: Mapping[str, str] = field(default_factory=dict)
    environ_defaults: Mapping[str, str] = field(default_factory=dict)
    directions: Mapping[str, str] = field(default_factory=dict)


def configured_pipelines(environ: Mapping[str, str], folder: Path | None = None) -> str:
    """``STRANGLER_SYNC_PIPELINES`` (empty: none), else ``[sync] pipelines`` of ``folder``'s (the working
    directory's) ``strangler.toml``, else no pipeline."""
    if PIPELINES_VARIABLE in environ:
        return environ[PIPELINES_VARIABLE]
    path = (folder or Path.cwd()) / PROJECT_FILE
    try:
        project = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ""
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    references = project.get("sync", {}).get("pipelines", [])
    if not isinstance(references, list) or not all(isinstance(item, str) for item in references):
        raise ValueError(f"{path}: [sync] pipelines is a list of 'package.module:ATTRIBUTE' strings")
    return " ".join(references)


def load_pipelines(references: str) -> list[Pipeline]:
    """The pipelines ``references`` names (space- or comma-separated ``package.module:ATTRIBUTE``)."""
    pipelines = [_load(reference) for reference in references.replace(",", " ").split()]
    names = [pipeline.name for pipeline in pipelines]
    if len(set(names)) != len(names):
        raise ValueError(f"two sync pipelines share a name: {names}")
    return pipelines


def _load(reference: str) -> Pipeline:
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a sync pipeline is written 'package.module:ATTRIBUTE', got {reference!r}")
    pipeline = getattr(importlib.import_module(module_name), attribute, None)
    if not isinstance(pipeline, Pipeline):
        raise ValueError(f"{reference} is not a sync pipeline (acl.sync.pipelines.Pipeline)")
    return pipeline


def sync_settings(pipelines: Sequence[Pipeline], environ: Mapping[str, str]) -> SyncSettings:
    """The settings from the environment, each pipeline's aliased variables, then its defaults, standing in
    for the generic ones left unset."""
    return aliased_settings(
        environ,
        [pipeline.environ_aliases for pipeline in pipelines],
        [pipeline.environ_defaults for pipeline in pipelines],
        [pipeline.directions for pipeline in pipelines],
    )
