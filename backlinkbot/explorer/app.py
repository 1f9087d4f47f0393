"""The explorer's ASGI application: routes, guards and error answers.

:class:`Guard` wraps every request: it refuses query parameters the
explorer does not know (``?target[$ne]=x`` is a 400, never a filter),
checks the API token when one is configured, and adds the security headers
(a Content-Security-Policy that allows no script at all, and no inline
style). Errors are JSON under ``/api/`` and a page elsewhere, never a
traceback; a query over its time limit, or a database that does not
answer, is a 503.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pymongo.errors import ExecutionTimeout, PyMongoError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backlinkbot import __version__
from backlinkbot.storage.queries import Graph

from . import api, pages
from .auth import presented_token, token_matches

__all__ = ["PARAMETERS", "SECURITY_HEADERS", "Guard", "create_app"]

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
#: Every query parameter any route takes.
PARAMETERS = frozenset({
    "target", "by", "status", "since", "dofollow", "kind", "section", "one_per_domain", "order",
    "sort", "limit", "cursor", "format", "days", "exclude", "tab",
})  # fmt: skip
#: Longest query string accepted.
MAX_QUERY = 16384
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


class Guard:
    """Parameter names, token and security headers, before any route."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, secured)
            return
        await self.app(scope, receive, secured)

    def _refusal(self, scope: Scope) -> Response | None:
        path = scope.get("path", "")
        if self.token is not None:
            headers = dict(scope.get("headers") or [])
            authorization = headers.get(b"authorization", b"").decode("latin-1")
            if not token_matches(presented_token(authorization), self.token):
                response = error_response(path, 401, "an API token is required")
                response.headers["www-authenticate"] = 'Basic realm="backlinkbot", charset="UTF-8"'
                return response
        raw = scope.get("query_string", b"")
        if len(raw) > MAX_QUERY:
            return error_response(path, 400, "query string too long")
        try:
            names = {k for k, _ in parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                                             strict_parsing=False, errors="strict")}  # fmt: skip
        except (UnicodeDecodeError, ValueError):
            return error_response(path, 400, "the query string is not UTF-8")
        unknown = sorted(names - PARAMETERS)
        if unknown:
            return error_response(path, 400, f"unknown parameter: {unknown[0][:100]!r}")
        return None


def error_response(
    path: str, status: int, message: str, detail: list[str] | None = None
) -> Response:
    if _is_api(path):
        return JSONResponse({"error": message, "detail": detail or []}, status_code=status)
    return pages.error_page(status, message, detail or [])


def create_app(graph: Graph, *, token: str | None = None) -> FastAPI:
    """The explorer over ``graph``; with ``token``, every request must show it."""
    app = FastAPI(
        title="backlinkbot explorer API",
        version=f"1 (backlinkbot {__version__})",
        description="The backlink graph: overview, backlinks, referring domains, anchors, "
        "top pages, broken backlinks, history and link intersect. Field names are those "
        "of docs/SCHEMA.md. Pages are cursor-paged: pass `next` back as `cursor`.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.graph = graph
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        ]
        return error_response(request.url.path, 400, "invalid parameters", detail)

    @app.exception_handler(api.BadRequest)
    async def bad(request: Request, exc: api.BadRequest) -> Response:
        return error_response(request.url.path, 400, str(exc)[:500])

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        response = error_response(request.url.path, exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(ExecutionTimeout)
    async def too_slow(request: Request, exc: ExecutionTimeout) -> Response:
        return error_response(request.url.path, 503, "the query took longer than its time limit")

    @app.exception_handler(PyMongoError)
    async def database(request: Request, exc: PyMongoError) -> Response:
        logger.warning("database error on %s: %s", request.url.path, exc)
        return error_response(request.url.path, 503, "the database did not answer")

    app.add_middleware(Guard, token=token)
    _document_security(app, token is not None)
    return app


def _document_security(app: FastAPI, required: bool) -> None:
    """Say in the OpenAPI document how the token is shown, when required."""
    if not required:
        return
    original = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original()
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
        }
        schema["security"] = [{"bearer": []}, {"basic": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
