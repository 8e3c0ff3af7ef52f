"""``python -m acl.sync lag [--json]``: sync lag and backlog per direction, measured now (and stored in
``sync_lag``)."""

from __future__ import annotations

import argparse
import json

from acl.sync.bootstrap import measure_lag
from acl.sync.settings import SyncSettings

__all__ = ["run"]


def run(settings: SyncSettings, args: argparse.Namespace) -> int:
    figures = measure_lag(settings)
    if args.json:
        print(json.dumps({figure.direction: figure.to_dict() for figure in figures}, indent=2))
    else:
        for figure in figures:
            dead = "" if figure.dead is None else f"   dead {figure.dead}"
            print(f"{figure.direction:8} lag {figure.lag_ms:10.1f} ms   backlog {figure.backlog}{dead}")
    return 0
