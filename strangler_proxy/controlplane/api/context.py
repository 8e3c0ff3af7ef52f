"""The glue of every API endpoint: authenticate, check the role and CSRF, parse the JSON body,
run the (synchronous) service call in a worker thread, and answer JSON."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from strangler_proxy.controlplane.errors import BadRequest, Refused
from strangler_proxy.controlplane.parsing import load_json
from strangler_proxy.controlplane.security import CSRF_FIELD, check_csrf, client_address, require_role
from strangler_proxy.controlplane.service_layer.auth import Principal, Role
from strangler_proxy.controlplane.service_layer.composition import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.publishing import Actor

__all__ = ["Context", "endpoint", "json_response", "validation_problems"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def json_response(data: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status_code)


def validation_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return problems


@dataclass
class Context:
    request: Request
    services: ControlPlaneServices
    principal: Principal

    @property
    def actor(self) -> Actor:
        return Actor(self.principal.username, client_address(self.request))

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(function, *args, **kwargs)

    async def body(self, model: type[M]) -> M:
        content_type = self.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await self.request.form()
            data = {k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)}
        else:
            data = load_json(await self.request.body())
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise Refused("the request body is invalid", problems=validation_problems(exc)) from exc

    def query_int(
        self, name: str, default: int | None = None, *, low: int = 0, high: int = 10**9
    ) -> int | None:
        value = self.request.query_params.get(name)
        if value is None or value == "":
            return default
        if not re.fullmatch(r"[+-]?[0-9]{1,30}", value.strip()):
            raise BadRequest(f"query parameter {name!r} must be an integer")
        return max(low, min(int(value), high))


def endpoint(
    services: ControlPlaneServices, role: Role, handler: Callable[[Context], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint that runs ``handler`` for a caller holding ``role`` (CSRF-checked when unsafe)."""

    async def run(request: Request) -> Response:
        principal = await require_role(request, services, role)
        await check_csrf(request, principal, services)
        return await handler(Context(request, services, principal))

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run
