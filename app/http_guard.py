"""What every request passes before the routes see it, as one pure ASGI middleware.

In order:

1. **Host**: a `Host` the service does not answer to is refused (400) before anything else,
   so that a page on another name that resolves to this machine (DNS rebinding) cannot
   use it. The names allowed: `RACKPLAN_ALLOWED_HOSTS`; when that is empty, the address the
   request came in on and, on a loopback address, the loopback names (`localhost`,
   `127.0.0.1`, `[::1]`); with API keys configured and no list, any name (the key guards).
2. **OPTIONS** answers 204 with `Allow` (the methods of the path), **HEAD** is a GET
   without the body.
3. **Cross-site writes**: a POST, PUT, PATCH or DELETE that a browser sends from another
   site is refused (403), judged as browsers allow: `Sec-Fetch-Site` must be `same-origin`
   or `none`; without it, an `Origin` must name this host. A request with neither (curl, a
   script) is not a browser's and passes. The service's own pages fetch from their origin.
4. **Authentication before the body**: with API keys configured, a write without a valid
   `X-API-Key` is answered 401 before one byte of its body is read (the routes check
   the key's role for what each one does, on a body of bounded size).
5. **Body size while it streams**: a body over its limit (`RACKPLAN_MAX_BODY_BYTES`; an
   order file `RACKPLAN_MAX_UPLOAD_BYTES` and room for the form around it) is refused 413,
   from `Content-Length` before reading, or as soon as the bytes read pass the limit
   (chunked bodies included); nothing past the limit is read or kept.
6. **Security headers** on every answer: `X-Content-Type-Options: nosniff`,
   `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and a `Content-Security-Policy`:
   the pages may load only the service's own scripts, styles and images (the API docs pages
   also inline styles and a blob: worker), any other answer nothing at all; no page may be
   framed.

Every refusal is problem+json naming the limit or the header at fault.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import KeyStore
from app.config import Settings
from app.errors import problem_response
from app.routes.docs import DOCS_CSP  # the offline API docs' own policy

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MULTIPART_SLACK = 64 * 1024  # room for the multipart envelope around an order file
UPLOAD_PATHS = frozenset({"/orders/upload"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


class BodyTooLarge(HTTPException):
    """A request body passed its limit while it was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(limit))
        self.limit = limit


def too_large_detail(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def host_name(authority: str) -> str:
    """The host of a `Host` header or an origin's authority, lower case, without the port
    (`[::1]:8000` -> `::1`)."""
    text = authority.strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text  # a bare name, or an IPv6 address without brackets


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HostPolicy:
    """Which `Host` names the service answers to (see the module's docstring)."""

    names: frozenset[str]  # from RACKPLAN_ALLOWED_HOSTS; "*" is any
    any_when_unlisted: bool  # API keys are configured

    @classmethod
    def from_settings(cls, settings: Settings, keys: KeyStore) -> HostPolicy:
        names = frozenset(host_name(n) for n in settings.allowed_hosts.split(",") if n.strip())
        return cls(names, any_when_unlisted=not keys.local_mode)

    def allows(self, host: str, server: str | None) -> bool:
        """Whether a request for `host` that came in on the address `server` is answered."""
        if "*" in self.names or host in self.names:
            return True
        if self.names:
            return False
        if self.any_when_unlisted or (server is not None and host == server.lower()):
            return True
        return server is not None and _is_loopback(server.lower()) and _is_loopback(host)


def methods_of(routes: Iterable[BaseRoute], scope: Scope) -> set[str]:
    """The methods the `routes` answer at `scope`'s path (empty: no such path)."""
    methods: set[str] = set()
    for route in routes:
        route_methods = getattr(route, "methods", None)
        if not route_methods:
            continue
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= set(route_methods)
    if "GET" in methods:
        methods.add("HEAD")
    if methods:
        methods.add("OPTIONS")
    return methods


def cross_site_fault(scope: Scope) -> tuple[str, str] | None:
    """(the header, why) when a write is a browser's cross-site request (None: it is not
    one)."""
    fetch_site = _header(scope, b"sec-fetch-site")
    if fetch_site is not None:
        if fetch_site.strip().lower() in ("same-origin", "none"):
            return None
        return "Sec-Fetch-Site", (f"Sec-Fetch-Site: {fetch_site}: a write must come from "
                                  "this service's own pages")
    origin = _header(scope, b"origin")
    if origin is None:
        return None  # not sent by a browser
    host = _header(scope, b"host") or ""
    authority = origin.split("://", 1)[1] if "://" in origin else ""
    if authority and authority.lower() == host.strip().lower():
        return None
    return "Origin", (f"Origin: {origin} is not this service ({host}): a write must come "
                      "from its pages")


class HttpGuard:
    """The checks of the module's docstring, in that order, around the whole app."""

    def __init__(self, app: ASGIApp, settings: Settings, keys: KeyStore,
                 routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.keys = keys
        self.routes = routes
        self.hosts = HostPolicy.from_settings(settings, keys)
        self.body_limit = settings.max_body_bytes
        self.upload_limit = settings.max_upload_bytes + MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(scope, send)
        method = scope["method"]
        host = _header(scope, b"host")
        server = scope.get("server")
        if host is not None and not self.hosts.allows(host_name(host),
                                                      str(server[0]) if server else None):
            await self._refuse(scope, receive, send, 400, f"Host: {host} is not a name this "
                               "service answers to (RACKPLAN_ALLOWED_HOSTS)",
                               title="Invalid Host header", field="Host")
            return
        if method == "OPTIONS":
            await self._options(scope, receive, send)
            return
        if method == "HEAD":
            await self._head(scope, receive, send)
            return
        if method in UNSAFE:
            fault = cross_site_fault(scope)
            if fault is not None:
                await self._refuse(scope, receive, send, 403, fault[1],
                                   title="Cross-site request refused", field=fault[0])
                return
            if not self.keys.local_mode:
                key = _header(scope, b"x-api-key")
                if self.keys.lookup(key) is None:
                    detail = ("a valid X-API-Key header is required" if key is None
                              else "the X-API-Key is not valid")
                    await self._refuse(scope, receive, send, 401, detail, field="X-API-Key",
                                       headers={"WWW-Authenticate": "X-API-Key"})
                    return
        await self._limited(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int,
                      detail: str, *, title: str | None = None, field: str = "body",
                      headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        if status == 413:  # the rest of the body is not read: the connection cannot go on
            headers["Connection"] = "close"
        response = problem_response(Request(scope), status, detail, title=title,
                                    errors=[{"field": field, "message": detail}],
                                    headers=headers or None)
        await response(scope, receive, send)

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = methods_of(self.routes, scope)
        if not methods:
            await self._refuse(scope, receive, send, 404, f"no resource at {scope['path']}",
                               title="Not Found", field="path")
            return
        allow = ", ".join(sorted(methods))
        await send({"type": "http.response.start", "status": 204,
                    "headers": [(b"allow", allow.encode())]})
        await send({"type": "http.response.body", "body": b""})

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The GET answer's status and headers, without its body."""

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        scope["method"] = "GET"
        try:
            await self.app(scope, receive, headers_only)
        finally:
            scope["method"] = "HEAD"

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.upload_limit if scope["path"] in UPLOAD_PATHS else self.body_limit
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await self._refuse(scope, receive, send, 413, too_large_detail(limit))
            return
        read = 0
        exceeded = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal read, exceeded
            if exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the route made of the cut-off body: the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except BodyTooLarge:
            if started:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send, 413, too_large_detail(limit))


def _with_security_headers(scope: Scope, send: Send) -> Send:
    """`send` with the security headers added to the answer's start (kept where the
    answer sets its own)."""
    path = scope.get("path", "")

    async def secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
            present = {k.lower() for k, _ in headers}
            ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            if ctype.startswith(b"text/html"):
                csp = DOCS_CSP if path in DOCS_PATHS else PAGE_CSP
            else:
                csp = API_CSP
            extra: Iterable[tuple[bytes, bytes]] = (
                (b"x-content-type-options", b"nosniff"),
                (b"x-frame-options", b"DENY"),
                (b"referrer-policy", b"no-referrer"),
                (b"content-security-policy", csp.encode()),
            )
            headers += [(k, v) for k, v in extra if k not in present]
            message = {**message, "headers": headers}
        await send(message)

    return secured


def install(app: FastAPI, settings: Settings, keys: KeyStore,
            routes: Sequence[BaseRoute]) -> None:
    """Put the guard around `app` (inside the request-id and logging middleware when that
    is installed after it); `routes` are every route of the app (for `Allow`)."""
    app.add_middleware(HttpGuard, settings=settings, keys=keys, routes=list(routes))
