"""Routing for the data plane: a route table compiled once per version, then ``decide()`` per request.

    table = compile_table(route_table, override_key=key)   # once per published version
    decision = table.decide(method, path, raw_headers)      # per request; never raises on user input

See :mod:`.matcher` (first match wins, O(path length) for exact and prefix rules), :mod:`.canary`
(the request's bucket key; the bucket function itself is shared with the engines,
:mod:`strangler_proxy.routes.canary`) and :mod:`.table` (choice of side: canary, shadow sampling,
tester override).
"""

from strangler_proxy.dataplane.routing.decision import UNMATCHED, Decision, Target
from strangler_proxy.dataplane.routing.table import SAFE_METHODS, CompiledTable, compile_table
from strangler_proxy.routes.canary import BUCKET_COOKIE, bucket_of, on_new_side

__all__ = [
    "BUCKET_COOKIE",
    "SAFE_METHODS",
    "UNMATCHED",
    "CompiledTable",
    "Decision",
    "Target",
    "bucket_of",
    "compile_table",
    "on_new_side",
]
