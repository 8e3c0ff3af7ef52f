"""A lazy view of one request's raw ASGI headers: cookies are parsed only when something asks."""

from __future__ import annotations

__all__ = ["RequestView", "parse_cookie_header"]

_COOKIE = b"cookie"


def parse_cookie_header(value: str, into: dict[str, str]) -> None:
    """Add the ``name=value`` pairs of one Cookie header to ``into``; the first occurrence of a name wins.

    Lenient like browsers and Django: a malformed pair is skipped, never the whole header.
    """
    for part in value.split(";"):
        name, eq, cookie_value = part.partition("=")
        if not eq:
            continue
        name = name.strip()
        if not name or name in into:
            continue
        cookie_value = cookie_value.strip()
        if len(cookie_value) >= 2 and cookie_value[0] == '"' and cookie_value[-1] == '"':
            cookie_value = cookie_value[1:-1]
        into[name] = cookie_value


class RequestView:
    """Header and cookie lookups over ``[(lowercase name, value), ...]`` as ASGI gives them."""

    __slots__ = ("_cookies", "headers")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self._cookies: dict[str, str] | None = None

    def header_values(self, name: bytes) -> list[bytes]:
        """Every value of header ``name`` (lower case), in order."""
        return [value for key, value in self.headers if key == name]

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def cookies(self) -> dict[str, str]:
        """Every cookie of every Cookie header (HTTP/2 may split them), parsed once."""
        cookies = self._cookies
        if cookies is None:
            cookies = {}
            for key, value in self.headers:
                if key == _COOKIE:
                    parse_cookie_header(value.decode("latin-1"), cookies)
            self._cookies = cookies
        return cookies

    def cookie(self, name: str) -> str | None:
        return self.cookies().get(name)
