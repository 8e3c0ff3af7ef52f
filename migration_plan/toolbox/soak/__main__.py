"""``python -m migration_plan.toolbox.soak --seconds N``: run the soak, print its figures, exit 1 when it
failed."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from migration_plan.toolbox.soak.runner import SoakOptions, run_soak
from migration_plan.toolbox.soak.traffic import SoakTrafficError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migration_plan.toolbox.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=600.0, help="length of the soak (default 600)")
    parser.add_argument("--workers", type=int, default=2, help="data-plane workers (default 2)")
    parser.add_argument("--concurrency", type=int, default=32, help="client connections (default 32)")
    parser.add_argument("--load-fraction", type=float, default=0.7, help="share of measured capacity")
    parser.add_argument(
        "--write-every",
        type=int,
        default=10,
        help="every Nth paced request is a write of [drills.write]'s probe (default 10; 0: none)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the strangler.toml whose [drills] to soak (default: nearest)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # not one line per flip published
    options = SoakOptions(
        seconds=args.seconds,
        workers=args.workers,
        concurrency=args.concurrency,
        load_fraction=args.load_fraction,
        write_every=args.write_every,
        config=args.config,
    )
    try:
        result = run_soak(options)
    except SoakTrafficError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    print(
        f"capacity_rps={result.capacity_rps:.0f} rate_rps={result.rate_rps:.0f} flips={result.flips} "
        f"restarts={result.restarts} rss_before={result.rss_before} rss_after={result.rss_after} "
        f"fds_before={result.fds_before} fds_after={result.fds_after} "
        f"by_upstream={dict(result.counts.by_upstream)} failed_writes={result.counts.failed_writes} "
        f"failures={dict(result.counts.failures)}"
    )
    for note in result.notes:
        print(f"note: {note}")
    print(result.line(), flush=True)
    return 0 if result.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
