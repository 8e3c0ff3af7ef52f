"""The route table as Kubernetes Gateway API objects (``strangler export gateway-api``).

:func:`export_table` turns a table into ``HTTPRoute`` objects and ``Service`` stubs, refusing what the
Gateway API cannot express faithfully and noting what a cluster loses against the data plane.
"""

from strangler_proxy.engines.gateway_api.export import Export, ExportOptions, ExportRefused, export_table

__all__ = ["Export", "ExportOptions", "ExportRefused", "export_table"]
