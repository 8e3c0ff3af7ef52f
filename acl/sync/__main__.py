"""Sync processes and commands: ``python -m acl.sync <command>``.

    relay                 monolith outbox -> transport (sql stream or Redis), forever
    reverse               a service's service_outbox -> monolith /internal/sync/apply, forever
    forward               transport -> a project's service's /internal/sync/apply (STRANGLER_SYNC_FORWARD_URL,
                          STRANGLER_SYNC_ORIGIN the service's origin), forever
    backfill TARGET       copy every legacy record of a pipeline into its service (resumable; --restart)
    reconcile TARGET      compare both sides of a pipeline, and each side's changes against the other's
                          inbox (a loss both share shows); exit 1 on any difference
    lag [--json]          sync lag and backlog per direction, measured now (and stored in sync_lag)
    dead-letters          reverse events the monolith refused for good (--retry EVENT_ID | --all)

Each registered pipeline (``acl.sync.pipelines``: STRANGLER_SYNC_PIPELINES, else ``[sync] pipelines`` in
strangler.toml) adds its workers (its consumer, through its service's port) and its name as a target of
``backfill`` and ``reconcile``.

The relays also store their direction's lag in the sync database's ``sync_lag`` table every second, and
so does each pipeline's consumer (its share of the published stream not applied yet).

Settings come from the environment (acl.sync.settings). SIGTERM or SIGINT stops a worker after its batch.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from acl.sync.commands import dead_letters, lag, workers
from acl.sync.pipelines import (
    PIPELINES_VARIABLE,
    Command,
    Pipeline,
    configured_pipelines,
    load_pipelines,
    sync_settings,
)
from acl.sync.settings import SyncSettingsMissing
from strangler_proxy.error_tracking import init_error_tracking
from strangler_proxy.json_logs import configure_json_logging
from strangler_proxy.telemetry import TracingConfig, tracer_provider

__all__ = ["main"]


def _targets(pipelines: Sequence[Pipeline], step: str) -> dict[str, Command]:
    """The pipelines' ``step`` commands (``backfill`` or ``reconcile``) by target name."""
    found: dict[str, Command] = {}
    for pipeline in pipelines:
        command = getattr(pipeline, step)
        if command is not None:
            found[pipeline.name] = command
    return found


def _parser(pipelines: Sequence[Pipeline]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m acl.sync", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    long_running = [
        ("relay", "publish the monolith's outbox to the transport"),
        *((worker.command, worker.help) for pipeline in pipelines for worker in pipeline.workers),
        ("reverse", "apply a service's outbox to the monolith"),
        ("forward", "apply published legacy events to a project's service (its /internal/sync/apply)"),
    ]
    for name, helptext in long_running:
        worker = commands.add_parser(name, help=helptext)
        worker.add_argument("--health-port", type=int, default=None, help="serve /healthz and /readyz here")
    backfill = commands.add_parser("backfill", help="copy a pipeline's legacy records into its service")
    backfill.add_argument("target", choices=list(_targets(pipelines, "backfill")))
    backfill.add_argument("--batch-size", type=int, default=1000)
    backfill.add_argument("--restart", action="store_true", help="ignore the checkpoint and start over")
    backfill.add_argument("--no-progress", action="store_true")
    backfill.add_argument("--max-pages", type=int, default=None, help="stop after N pages (resume later)")
    reconcile = commands.add_parser("reconcile", help="compare legacy and service data")
    reconcile.add_argument("target", choices=list(_targets(pipelines, "reconcile")))
    reconcile.add_argument("--json", action="store_true")
    reconcile.add_argument("--limit", type=int, default=50, help="differences listed (text output)")
    lag_parser = commands.add_parser("lag", help="sync lag and backlog per direction")
    lag_parser.add_argument("--json", action="store_true")
    dead_letters.register(commands)
    return parser


WORKERS = frozenset({"relay", "reverse", "forward"})
"""The long-running generic commands (under ``strangler up``, with each pipeline's workers): their logs
are JSON lines."""

COMMANDS: Mapping[str, Command] = {
    "relay": workers.relay,
    "reverse": workers.reverse,
    "forward": workers.forward,
    "lag": lag.run,
    "dead-letters": dead_letters.run,
}


def _commands(pipelines: Sequence[Pipeline]) -> tuple[dict[str, Command], frozenset[str]]:
    """Every command by name (the generic ones, each pipeline's workers, backfill and reconcile by
    target), and the names of the long-running ones."""
    own = {worker.command: worker.run for pipeline in pipelines for worker in pipeline.workers}
    backfills, reconciles = _targets(pipelines, "backfill"), _targets(pipelines, "reconcile")
    return {
        **COMMANDS,
        **own,
        "backfill": lambda settings, args: backfills[args.target](settings, args),
        "reconcile": lambda settings, args: reconciles[args.target](settings, args),
    }, WORKERS | frozenset(own)


GENERIC = frozenset({*COMMANDS, "-h", "--help"})


def _no_pipeline(argv: Sequence[str]) -> str | None:
    """Why ``argv`` cannot run without a registered pipeline (a pipeline's command or target), else None."""
    if not argv or argv[0] in GENERIC:
        return None
    return (
        f"no sync pipeline is registered, so {argv[0]!r} is unknown: name the project's pipelines in"
        f" {PIPELINES_VARIABLE} ('package.module:ATTRIBUTE ...') or in [sync] pipelines of strangler.toml"
    )


def main(argv: list[str] | None = None) -> int:
    pipelines = load_pipelines(configured_pipelines(os.environ))
    arguments = sys.argv[1:] if argv is None else argv
    if not pipelines and (why := _no_pipeline(arguments)):
        print(f"error: {why}", file=sys.stderr)
        return 2
    args = _parser(pipelines).parse_args(arguments)
    commands, long_running = _commands(pipelines)
    if args.command in long_running:  # JSON lines, with the trace id of the events being relayed or applied
        configure_json_logging()
    else:  # a one-shot command, read by a person
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Sentry when SENTRY_DSN is set; the process's provider when the OTEL_* variables turn tracing on:
    # relayed events join the trace of the transaction that wrote them (acl.tracing)
    init_error_tracking(f"strangler-sync-{args.command}", os.environ)
    provider = tracer_provider(
        TracingConfig.from_environ(os.environ), f"strangler-sync-{args.command}", install=True
    )
    try:
        return commands[args.command](sync_settings(pipelines, os.environ), args)
    except SyncSettingsMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if provider is not None:
            provider.shutdown()


if __name__ == "__main__":
    sys.exit(main())
