"""What keeps other websites from driving ``lvwall serve``: the ``Host`` check (against DNS
rebinding) and, on every state-changing request, the Origin/Referer check and the
per-session token.

* :func:`host_allowed`: the ``Host`` header names one of the server's names (IPv6 literals
  in brackets, ``[::1]:8765``, as browsers send them);
* :func:`foreign_origin`: the ``Origin`` (or, without one, the ``Referer``) of a request
  names another origin than the request's own;
* :class:`RequestGuard`: refuses, before the body is read, a request whose ``Host`` is not
  allowed (400), and a POST from another origin or without the token (403).

The token is made at random when the server starts (:func:`new_token`); the server puts it
into its own page (a ``<meta name="lvwall-token">``, which other origins cannot read), the
page sends it in the :data:`TOKEN_HEADER` header, and a script sends the token that
``lvwall serve`` printed (or that it was given with ``--token`` / ``LVWALL_SERVE_TOKEN``)
in that header or as the query parameter ``token``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: The header (or query parameter :data:`TOKEN_PARAMETER`) that carries the token.
TOKEN_HEADER, TOKEN_PARAMETER = "X-Lvwall-Token", "token"
#: Methods that change nothing; every other one needs the same origin and the token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_Message = MutableMapping[str, Any]


def new_token() -> str:
    """A random token of 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this
    machine's loopback: ``localhost``, 127.0.0.0/8 or ``::1``."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def loopback_names(host: str) -> tuple[str, ...]:
    """The host names a server listening on the loopback address ``host`` answers to:
    ``localhost``, ``127.0.0.1``, ``::1`` and ``host`` itself."""
    names = ["localhost", "127.0.0.1", "::1", _canonical(host)]
    return tuple(dict.fromkeys(names))


def server_url(host: str, port: int) -> str:
    """The URL of a server on ``host`` and ``port``; an IPv6 address in brackets."""
    name = host.strip("[]")
    return f"http://[{name}]:{port}/" if ":" in name else f"http://{name}:{port}/"


def split_host(header: str) -> tuple[str, int | None] | None:
    """The name and port of a ``Host`` header (``[::1]:8765`` gives ``("::1", 8765)``);
    ``None`` for one that is malformed."""
    try:
        parts = urlsplit(f"//{header.strip()}")
        return (parts.hostname or "", parts.port) if parts.hostname else None
    except ValueError:
        return None


def host_allowed(header: str, allowed: Iterable[str]) -> bool:
    """Whether the ``Host`` header ``header`` names one of ``allowed`` (names, or addresses
    without brackets), whatever its port."""
    split = split_host(header)
    return split is not None and _canonical(split[0]) in {_canonical(a) for a in allowed}


def foreign_origin(scheme: str, host: str, origin: str | None, referer: str | None) -> bool:
    """Whether a request to ``scheme://host`` (its ``Host`` header) came from another origin:
    its ``Origin`` header names another one (``null``, sent by sandboxed frames and local
    files, included), or it has none and its ``Referer`` is of another one. A request with
    neither (a script) is not foreign: the token decides."""
    sent = origin if origin is not None else referer
    if sent is None:
        return False
    own = _origin(f"{scheme}://{host}")
    return own is None or _origin(sent) != own


class RequestGuard:
    """Plain ASGI middleware: answers ``{"error": ...}`` for a ``Host`` not in ``allowed``
    (400; ``None``: any, for a server on every interface) and, for a request of a method
    not in :data:`SAFE_METHODS`, one from another origin or without the token (403),
    before anything reads its body."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        token: str,
        allowed: tuple[str, ...] | None = None,
    ) -> None:
        self.app, self.token, self.allowed = app, token, allowed

    async def __call__(
        self,
        scope: _Message,
        receive: Callable[[], Awaitable[_Message]],
        send: Callable[[_Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, sentence = refusal
        body = json.dumps({"error": sentence}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope: _Message) -> tuple[int, str] | None:
        """The status and sentence that refuse the request of ``scope``, or ``None``."""
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        host = headers.get("host", "")
        if self.allowed is not None and not host_allowed(host, self.allowed):
            return 400, (
                f"this server answers to the host names {', '.join(self.allowed)} only, "
                f"not {host!r} (a page elsewhere cannot reach it through a name of its own)"
            )
        if scope["method"] in SAFE_METHODS:
            return None
        if foreign_origin(
            scope.get("scheme", "http"), host, headers.get("origin"), headers.get("referer")
        ):
            sent = headers.get("origin", headers.get("referer"))
            return 403, (
                f"this server accepts uploads from its own page only, not from {sent!r} "
                "(another website cannot use it)"
            )
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = headers.get(TOKEN_HEADER.lower()) or next(iter(query.get(TOKEN_PARAMETER, [])), "")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return 403, (
                f"this request has {'a wrong' if given else 'no'} token: send the token that "
                f"lvwall serve printed in the header {TOKEN_HEADER} (or as ?token=)"
            )
        return None


def _canonical(host: str) -> str:
    name = host.strip().strip("[]").lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url.strip())
        if not parts.scheme or not parts.hostname:
            return None
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    return scheme, _canonical(parts.hostname), port
