"""The soak: sustained traffic through a real data plane while routes flip and workers restart.

    python -m migration_plan.toolbox.soak --seconds 600      # make soak SOAK_S=600

Measures the proxy's capacity first, then holds 70% of it for ``--seconds`` with a route flip every
5 s and a data-plane worker restart every minute, one request in ten a write (never retried), and ends
with one line::

    soak: seconds=<n> requests=<n> writes=<n> failed_requests=<n> rss_growth=<fraction> fd_growth=<n>
"""

from migration_plan.toolbox.soak.runner import SoakOptions, SoakResult, run_soak

__all__ = ["SoakOptions", "SoakResult", "run_soak"]
