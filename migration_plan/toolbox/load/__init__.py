"""`strangler load`: a bounded headless locust run against the front door, summarised and checked.

from migration_plan.toolbox.load import LoadOptions, run_load
summary = run_load(LoadOptions(host=..., max_error_rate=0.01, max_p95_ms=500))
summary.passed  # thresholds met
"""

from migration_plan.toolbox.load.runner import LoadError, LoadOptions, Progress, locust_command, run_load
from migration_plan.toolbox.load.summary import EndpointFigures, LoadSummary, read_stats_csv

__all__ = [
    "EndpointFigures",
    "LoadError",
    "LoadOptions",
    "LoadSummary",
    "Progress",
    "locust_command",
    "read_stats_csv",
    "run_load",
]
