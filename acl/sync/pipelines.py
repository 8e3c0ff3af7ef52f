"""A project's own sync pipelines, registered by name: their workers and their backfill and reconcile.

The generic commands (``relay``, ``reverse``, ``forward``, ``lag``, ``dead-letters``) serve every project.
What knows one monolith's aggregates (how its legacy rows translate, which port applies them) is a
pipeline, found through ``STRANGLER_SYNC_PIPELINES``: space-separated ``"package.module:ATTRIBUTE"``
references to ``Pipeline`` objects, loaded at start the way the ports are. ``python -m acl.sync`` then
offers each pipeline's workers as commands and its name as a target of ``backfill`` and ``reconcile``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from acl.sync.settings import SyncSettings, aliased_settings

__all__ = [
    "DEFAULT_PIPELINES",
    "PIPELINES_VARIABLE",
    "Command",
    "Pipeline",
    "Worker",
    "load_pipelines",
    "sync_settings",
]

PIPELINES_VARIABLE = "STRANGLER_SYNC_PIPELINES"
# The demo's pipelines when the variable is unset, as the port factories default to the demo's services.
DEFAULT_PIPELINES = "acl.catalog.sync.pipeline:PIPELINE acl.orders.sync.pipeline:PIPELINE"

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
    (``{"OLD_NAME": "STRANGLER_..."}``), read when the generic one is unset.
    """

    name: str
    workers: tuple[Worker, ...] = ()
    backfill: Command | None = None
    reconcile: Command | None = None
    environ_aliases: Mapping[str, str] = field(default_factory=dict)


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
    """The settings from the environment, each pipeline's aliased variables standing in for the generic
    ones left unset."""
    return aliased_settings(environ, [pipeline.environ_aliases for pipeline in pipelines])
