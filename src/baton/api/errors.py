"""JSON error bodies with a stable ``code`` and a human message, for every failure."""

from __future__ import annotations

import json
import logging
import re
import socket
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton.domain.errors import StoreUnavailable

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


#: seconds a client is asked to wait when the store is unavailable
STORE_RETRY_SECONDS = 5


#: what SQLite says when the file, not the statement, is the trouble ("no such table" or
#: a syntax error is a bug, and stays a 500)
_SQLITE_TROUBLE = re.compile(
    r"locked|busy|disk|full|I/O|not a database|unable to open|malformed|readonly", re.I
)


def store_trouble(exc: BaseException) -> str | None:
    """Why the event store could not serve, when ``exc`` says so (a locked or full SQLite
    file, a file that is no database, PostgreSQL unreachable), else None."""
    if isinstance(exc, StoreUnavailable):
        return str(exc)
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    if isinstance(cause, sqlite3.DatabaseError):  # raw, or under SQLAlchemy's wrapper
        return str(cause) if _SQLITE_TROUBLE.search(str(cause)) else None
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return str(cause)
    if isinstance(exc, OperationalError | InterfaceError):  # PostgreSQL: connection trouble
        return str(cause)
    if isinstance(exc, ConnectionError | socket.gaierror):
        return f"{type(exc).__name__}: {exc}"
    return None


def failure_response(exc: BaseException, where: str) -> JSONResponse:
    """The answer to an unexpected failure: 503 ``store_unavailable`` with
    ``Retry-After`` when the store could not serve (the request was not taken in; a retry
    of a message with its id is never taken twice), else 500 ``internal_error``. The log
    line names the request either way."""
    trouble = store_trouble(exc)
    if trouble is None:
        log.error("unexpected error in %s", where, exc_info=exc)
        return error_response(500, "internal_error", "something went wrong on our side")
    log.error("the event store could not serve %s: %s", where, trouble)
    message = (
        "the event store is unavailable; send the request again later (a message sent "
        "again with its id is never taken twice)"
    )
    headers = {"Retry-After": str(STORE_RETRY_SECONDS)}
    return error_response(503, "store_unavailable", message, headers)


class ErrorDetail(BaseModel):
    """What went wrong: ``code`` is stable (for programs), ``message`` for people."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer's body."""

    error: ErrorDetail


class ApiError(Exception):
    """An error answer; raise it anywhere in a route."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error answer."""
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def not_found(what: str, ident: str) -> ApiError:
    """404 for something missing, or belonging to another account (never 403)."""
    return ApiError(404, f"{what}_not_found", f"no {what} {ident!r} in this account")


_MEANINGS = {
    400: "the body is not UTF-8 (`invalid_encoding`), or the provider's request is malformed",
    401: "no API key, or a revoked or unknown one",
    403: "a provider's signature or verify token does not match",
    404: "not found in the key's account",
    405: "the channel does not take this method",
    413: "the body is over the size limit",
    422: "the request does not match the schema, or its body is not JSON",
    429: "rate limited; see Retry-After",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses (every body an ``ErrorBody``)."""
    return {
        status: {"model": ErrorBody, "description": _MEANINGS.get(status, "see the error code")}
        for status in statuses
    }


ERROR_RESPONSES = error_responses(400, 401, 404, 413, 422, 429)


def _problem(request: Request, error: Any) -> str:
    """One validation error in words; a body that never became JSON says why."""
    where = ".".join(str(part) for part in error.get("loc", ()))
    if error.get("type") == "json_invalid":  # FastAPI's "body.14: JSON decode error"
        reason = error.get("ctx", {}).get("error", "")
        return f"the body is not valid JSON: {reason} at character {where.split('.')[-1]}"
    raw = error.get("input")
    if where == "body" and isinstance(raw, bytes):  # not read as JSON: the content type
        try:
            json.loads(raw)
        except ValueError as exc:
            return f"the body is not valid JSON: {exc}"
        except RecursionError:
            return "the body is not valid JSON: it is nested too deeply to read"
        kind = request.headers.get("content-type") or "none"
        return f"send the JSON body with Content-Type: application/json (this request's: {kind})"
    if error.get("type") == "string_pattern_mismatch":
        from baton.api.models import PATTERN_MEANINGS

        meaning = PATTERN_MEANINGS.get(error.get("ctx", {}).get("pattern", ""))
        if meaning is not None:
            return f"{where}: the text {meaning}"
    return f"{where}: {error.get('msg', 'invalid')}"


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, including unexpected ones, a JSON body with a code."""

    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, ApiError):  # registered for this type only
            raise exc
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, StarletteHTTPException):  # registered for this type only
            raise exc
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        cause = exc.__cause__
        if isinstance(cause, RecursionError):  # FastAPI's "error parsing the body" again
            depth = "the body is not valid JSON: it is nested too deeply to read"
            return error_response(422, "invalid_request", depth, {})
        if isinstance(cause, UnicodeDecodeError):  # FastAPI's "error parsing the body"
            code = "invalid_encoding"
            message = (
                f"the body is not UTF-8 (byte 0x{cause.object[cause.start]:02x} at position "
                f"{cause.start}); send JSON encoded in UTF-8"
            )
        return error_response(exc.status_code, code, message, dict(exc.headers or {}))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):  # registered for this type only
            raise exc
        problems = [_problem(request, error) for error in exc.errors()[:5]]
        return error_response(422, "invalid_request", "; ".join(problems) or "invalid request")

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return failure_response(exc, f"{request.method} {request.url.path}")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, unexpected)
