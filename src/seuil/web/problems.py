"""Errors as RFC 9457 problem details (API) or an error page (HTML), each mapped once."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from seuil.domain.accounts import LoginThrottledError, PasswordPolicyError
from seuil.domain.errors import (
    AuthenticationError,
    ConflictError,
    ConsentRequiredError,
    CredentialRejectedError,
    DataFormatError,
    InvalidImageError,
    NotFoundError,
    PermissionDeniedError,
    SeuilError,
    StorageUnavailableError,
)

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Most specific first: the first match wins.
STATUS: tuple[tuple[type[SeuilError], int], ...] = (
    (LoginThrottledError, 429),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (PasswordPolicyError, 422),
    (DataFormatError, 422),
    (InvalidImageError, 422),
    (ConsentRequiredError, 409),
    (CredentialRejectedError, 409),
    (ConflictError, 409),
    (StorageUnavailableError, 503),
)


def status_of(error: SeuilError) -> int:
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 400


# Paths answered as JSON problem details: the site's API and the regional hub's.
API_PATHS = ("/api/", "/hub/api/")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PATHS)


def wants_problem(request: Request) -> bool:
    return is_api_path(request.url.path)


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://seuil.example/problems/{code}", "title": code, "status": status,
            "detail": detail, "code": code, **extra}  # fmt: skip
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: Any, render_error: Any) -> None:
    """Register the handlers; ``render_error(request, status, message)`` draws HTML."""

    async def seuil_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SeuilError)
        status = status_of(exc)
        headers = {}
        if isinstance(exc, LoginThrottledError):
            headers["Retry-After"] = str(exc.retry_after_s)
        if wants_problem(request):
            response: Response = problem(status, exc.code, exc.message)
        else:
            response = render_error(request, status, exc.message)
        response.headers.update(headers)
        return response

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {401: "authentication_required", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error")  # fmt: skip
        if wants_problem(request):
            response: Response = problem(exc.status_code, code, str(exc.detail))
        else:
            response = render_error(request, exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
        if wants_problem(request):
            return problem(422, "invalid_request", detail, errors=errors)
        page: Response = render_error(request, 422, detail)
        return page

    app.add_exception_handler(SeuilError, seuil_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
