"""The composition root and HTTP entry points of a new service (see :mod:`.scaffold_templates`)."""

# Each template is one string keyed by its path (long lines here); what it renders is linted when tested.
# ruff: noqa: E501

from __future__ import annotations

__all__ = ["WEB_FILES"]

WEB_FILES: dict[str, str] = {
    "bootstrap.py": '''"""The composition root: settings in, wired dependencies out. Nothing connects before it is called."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from acl.identity_verifier import IdentityVerifier, load_identity_key
from acl.sync.service.apply import ForwardInbox
from new_services.__NAME__.adapters.appliers import APPLIERS
from new_services.__NAME__.adapters.migrate import MIGRATIONS
from new_services.__NAME__.adapters.repository import SqlThingRepository
from new_services.__NAME__.settings import __CLASS__Settings
from new_services.kit.engine import make_engine

__all__ = ["__CLASS__", "bootstrap"]


@dataclass(frozen=True)
class __CLASS__:
    """What the entrypoints need: the repository, the readiness check, the identity verifier
    (``X-Strangler-Identity``, signed by the proxy from the monolith's session) and the inbox of forward
    sync (the monolith's events, applied by ``adapters.appliers``)."""

    settings: __CLASS__Settings
    engine: Engine
    repository: SqlThingRepository
    identity: IdentityVerifier
    forward: ForwardInbox

    def readiness(self) -> dict[str, str]:
        return MIGRATIONS.readiness(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def bootstrap(settings: __CLASS__Settings) -> __CLASS__:
    engine = make_engine(settings.database_url)
    return __CLASS__(
        settings=settings,
        engine=engine,
        repository=SqlThingRepository(engine),
        identity=IdentityVerifier(load_identity_key(settings.strangler_home)),
        forward=ForwardInbox(engine, APPLIERS),
    )
''',
    "entrypoints/__init__.py": '''"""HTTP: the Flask app and its routes."""
''',
    "entrypoints/auth.py": '''"""Who sends a request: only a valid signed ``X-Strangler-Identity`` header (set by the proxy)."""

from __future__ import annotations

import structlog
from flask import current_app, request

from acl.identity_verifier import CustomerIdentity, IdentityError

__all__ = ["current_identity"]

log = structlog.get_logger("__NAME__.auth")


def current_identity() -> CustomerIdentity | None:
    """The verified identity, or None (no header, or one that cannot be trusted: logged)."""
    wired = current_app.extensions["__NAME__"]
    try:
        identity: CustomerIdentity | None = wired.identity.identify(request.headers)
    except IdentityError as exc:
        log.warning("identity refused", reason=str(exc), kind=type(exc).__name__)
        return None
    return identity
''',
    "entrypoints/api.py": '''"""``GET`` and ``POST __ROUTE__``: the route the service takes over from the monolith."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from new_services.__NAME__.entrypoints.auth import current_identity
from new_services.__NAME__.service_layer.services import add_thing, list_things
from new_services.kit.responses import error_response

__all__ = ["blueprint"]

blueprint = Blueprint("__NAME___api", __name__)

SHADOW_HEADER = "X-Strangler-Shadow"
"""Set by the proxy on a shadowed request: the write runs and is rolled back (the monolith answers)."""


@blueprint.get("__ROUTE__")
def things() -> ResponseReturnValue:
    wired = current_app.extensions["__NAME__"]
    return jsonify({"results": [thing.as_dict() for thing in list_things(wired.repository)]})


@blueprint.post("__ROUTE__")
def create_thing() -> ResponseReturnValue:
    """201 with the new thing; 401 without a verified identity; 400 without a valid ``name``; nothing kept
    when shadowed."""
    if current_identity() is None:
        return error_response(401, "not_authenticated", "Authentication required: log in.")
    body = request.get_json(silent=True)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str):
        return error_response(400, "invalid", "The body is a JSON object with a text 'name'.")
    try:
        dry_run = request.headers.get(SHADOW_HEADER) == "1"
        thing = add_thing(current_app.extensions["__NAME__"].repository, name, dry_run=dry_run)
    except ValueError as exc:
        return error_response(400, "invalid", str(exc))
    return jsonify(thing.as_dict()), 201
''',
    "entrypoints/app.py": '''"""The Flask application factory: ``create_app(settings)`` wires the routes into the kit's app."""

from __future__ import annotations

from flask import Flask

from new_services.__NAME__.bootstrap import __CLASS__, bootstrap
from new_services.__NAME__.entrypoints import api
from new_services.__NAME__.settings import __CLASS__Settings
from new_services.kit.forward_endpoint import forward_sync_blueprint
from new_services.kit.web import answer_as_the_monolith, service_app

__all__ = ["create_app"]


def create_app(settings: __CLASS__Settings | None = None, *, wired: __CLASS__ | None = None) -> Flask:
    """The app; ``wired`` replaces the bootstrapped dependencies (tests pass their own). Its routes, and
    ``POST /internal/sync/apply`` for the toolkit's forward consumer (internal token only)."""
    settings = settings or (wired.settings if wired is not None else __CLASS__Settings())
    wired = wired or bootstrap(settings)
    app = service_app(__name__, settings, wired)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(forward_sync_blueprint(wired.forward.apply, token=settings.internal_token))
    answer_as_the_monolith(app, ())
    return app
''',
    "entrypoints/wsgi.py": '''"""The app gunicorn serves (``new_services.__NAME__.entrypoints.wsgi:app``), built on first access."""

from __future__ import annotations

from new_services.__NAME__.entrypoints.app import create_app
from new_services.kit.wsgi import lazy_app

__all__ = ["app"]  # noqa: F822 - provided by __getattr__

__getattr__ = lazy_app(__name__, create_app)
''',
}
