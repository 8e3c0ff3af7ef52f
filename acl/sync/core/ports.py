"""The port a service provides so that sync can write legacy changes into it and read it back.

Sync never imports a service: the service implements its pipeline's port and the pipeline names a factory
(``"package.module:function"``, a setting of the pipeline's own) that the sync processes load at start, the
way gunicorn loads an app.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["load_port_factory"]


def load_port_factory(reference: str) -> Callable[[], Any]:
    """``"package.module:function"`` -> the function (it builds the port from its own environment)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a port factory is written 'package.module:function', got {reference!r}")
    module = importlib.import_module(module_name)
    try:
        factory = getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"{module_name} has no {attribute!r}") from None
    if not callable(factory):
        raise ValueError(f"{reference} is not callable")
    return factory
