"""The route table on HAProxy: the front door as an engine the team already trusts.

``python -m strangler_proxy.engines.haproxy`` (``strangler up --engine haproxy``) runs HAProxy instead
of the Python data plane, and an agent beside it that applies every publish, rollback and panic from
the store, verifies HAProxy serves it, and writes the per-route figures the guards read. See
docs/scale-out.md for what the engine keeps and loses against the data plane.

    config.py      the table's structure as a configuration     table_map.py   its actions as a map
    conditions.py  a rule's match as ACLs                       runtime.py     runtime API, master CLI
    process.py     the HAProxy master                           request_log.py per-second figures
    identity_sidecar.py  the identity sidecar (+ identity.lua)  store_io.py    store reads and writes
    agent.py       the loop that ties them                      settings.py    environment
"""
