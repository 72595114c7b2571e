"""Helpers shared by the page routers: cookies, redirects, safe ``next`` targets."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

from seuil.services.accounts import LoginResult
from seuil.web.auth import SESSION_COOKIE


def secure(request: Request) -> bool:
    return bool(request.app.state.options.secure_cookies or request.url.scheme == "https")


def set_session(request: Request, response: RedirectResponse, result: LoginResult) -> None:
    max_age = int((result.session.expires_at - result.session.created_at).total_seconds())
    response.set_cookie(
        SESSION_COOKIE, result.token, max_age=max_age, httponly=True, samesite="lax",
        secure=secure(request), path="/",
    )  # fmt: skip


def safe_next(target: str | None) -> str:
    """Only a local path: never an open redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)
