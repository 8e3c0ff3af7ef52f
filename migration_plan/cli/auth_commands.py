"""`strangler login|logout` and `strangler admin password`: the CLI's credentials.

``login`` exchanges a password for a scoped, expiring API token (one ``login`` audit row) and stores it
0600 in ``$STRANGLER_HOME/secrets/api_token.json``; every later command uses it instead of the password.
``admin password`` shows the generated admin password again (``--reset`` sets a new one).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from migration_plan.admin_client import AdminApiError, AdminClient, token_login
from migration_plan.cli.routes_commands import HomeOption, UrlOption
from migration_plan.credentials import forget_token, load_token, save_token
from migration_plan.home import find_home

__all__ = ["register"]

admin_app = typer.Typer(name="admin", help="The admin account of this home.")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``12h``, ``30d`` (or plain seconds) as seconds."""
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    if not number.isdigit() or int(number) <= 0:
        raise typer.BadParameter(f"{text!r}: give a duration such as 12h or 30d")
    return int(number) * (unit or 1)


def login(
    username: Annotated[str, typer.Option("--username", "-u", help="Who logs in.")] = "admin",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    scope: Annotated[
        str | None,
        typer.Option("--scope", help="viewer, operator or admin (default: the user's role, at most)."),
    ] = None,
    expires_in: Annotated[
        str, typer.Option("--expires-in", help="How long the token lives: 12h, 30d (server max 365d).")
    ] = "30d",
    url: UrlOption = None,
    home: HomeOption = None,
) -> None:
    """Store an API token for the CLI (0600 under the home's secrets); later commands use it.

    Without --password-stdin the admin password is read from the home's secrets/admin_password when it
    is there, else asked for.
    """
    if scope is not None and scope not in ("viewer", "operator", "admin"):
        raise _fail("--scope must be viewer, operator or admin", 2)
    ttl_s = parse_duration(expires_in)
    state = find_home(home)
    password_file = state / "secrets" / "admin_password"
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif username == "admin" and password_file.exists():
        password = password_file.read_text(encoding="utf-8").strip()
    else:
        password = typer.prompt(f"password for {username}", hide_input=True)
    client = None
    try:
        client = AdminClient.anonymous(url)
        stored = token_login(client, username, password, scope=scope, ttl_s=ttl_s)
    except AdminApiError as exc:
        raise _fail(str(exc)) from None
    finally:
        if client is not None:
            client.close()
    path = save_token(state, stored)
    Console(highlight=False).print(
        f"[green]logged in[/] as {escape(stored.username)} ({stored.scope}) at {escape(stored.url)}; "
        f"token stored in {escape(str(path))}, expires {escape(stored.expires_at[:19])} UTC"
    )


def logout(
    url: UrlOption = None,
    home: HomeOption = None,
) -> None:
    """Revoke the stored API token on the control plane and delete it from the home."""
    state = find_home(home)
    client = AdminClient.anonymous(url)
    try:
        stored = load_token(state, client.url)
        if stored is not None:
            client.client.headers["Authorization"] = f"Bearer {stored.token}"
            token_id = client.request("GET", "/session").get("token_id")
            if token_id:
                client.request("DELETE", f"/tokens/{token_id}", {})
    except (AdminApiError, OSError) as exc:
        raise _fail(str(exc)) from None
    finally:
        client.close()
    removed = forget_token(state)
    typer.echo("logged out" if removed else "no stored token")


@admin_app.command("password")
def admin_password(
    reset: Annotated[
        bool, typer.Option("--reset", help="Set a new generated password (ends admin's sessions/tokens).")
    ] = False,
    url: UrlOption = None,
    home: HomeOption = None,
) -> None:
    """Show the admin password generated at first start (or, with --reset, set a new one)."""
    state = find_home(home)
    path = state / "secrets" / "admin_password"
    if not reset:
        if not path.exists():
            raise _fail(f"no admin password in {path}: is this the home of a started stack? (--home)")
        typer.echo(path.read_text(encoding="utf-8").strip())
        return
    new_password = secrets.token_urlsafe(18)
    try:
        with AdminClient.connect(url, None, state) as client:
            client.request("PATCH", "/users/admin", {"password": new_password})
    except AdminApiError as exc:
        raise _fail(str(exc)) from None
    _write_private(path, new_password)
    forget_token(state)
    typer.echo(new_password)


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text + "\n", encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)


def register(app: typer.Typer) -> None:
    app.command("login")(login)
    app.command("logout")(logout)
    app.add_typer(admin_app, name="admin")
