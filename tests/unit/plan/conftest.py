from __future__ import annotations

from pathlib import Path

import pytest

from migration_plan.plan import Plan, parse_plan

ROOT = Path(__file__).resolve().parents[3]

SMALL_PLAN = """
name: small
upstreams: {catalog: "http://127.0.0.1:8201"}
stages:
  - name: front-door
    routes: [{name: front-door, match: {kind: prefix, path: /}}]
    steps: [{kind: passthrough}]
  - name: catalog-reads
    upstream: catalog
    routes:
      - {name: api-reads, match: {kind: prefix, path: /api/products, methods: [GET, HEAD]}}
      - {name: pages, match: {kind: prefix, path: /products/, methods: [GET, HEAD]}}
    steps:
      - {kind: shadow}
      - kind: canary
        weight: 5
        gates: {shadow: {min_samples: 10, min_parity: 0.9}}
      - kind: canary
        weight: 50
        gates: {health: {min_requests: 10, max_5xx_rate: 0.05}}
      - {kind: retire}
"""


@pytest.fixture
def small_plan() -> Plan:
    return parse_plan(SMALL_PLAN)


@pytest.fixture
def root() -> Path:
    return ROOT
