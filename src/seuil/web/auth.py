"""Who is calling, and whether they may: the one guard every protected route uses.

A route declares its permission in one place: ``identity = requires(Permission.X)`` (or
``requires(None)`` for "any signed-in account"). The guard resolves the identity (the
session cookie, or ``Authorization: Bearer`` with an API token), checks the CSRF token
on every unsafe method of a cookie session (token calls are exempt: a browser never
sends them on its own), then the permission matrix.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from seuil.domain.accounts import SessionStage
from seuil.domain.errors import PermissionDeniedError
from seuil.domain.permissions import Permission
from seuil.services.accounts import AccountService, Identity
from seuil.web.i18n import tr
from seuil.web.problems import is_api_path

SESSION_COOKIE = "seuil_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequiredError(Exception):
    """An HTML page asked by someone not (fully) signed in: redirect to ``location``."""

    def __init__(self, location: str) -> None:
        self.location = location


def accounts_of(request: Request) -> AccountService:
    service: AccountService = request.app.state.accounts
    return service


async def resolve_identity(request: Request) -> Identity | None:
    cached: Identity | None = getattr(request.state, "identity", None)
    if cached is not None:
        return cached
    accounts = accounts_of(request)
    header = request.headers.get("authorization", "")
    identity: Identity | None = None
    if header.lower().startswith("bearer "):
        identity = await run_in_threadpool(accounts.authenticate_token, header[7:].strip())
    else:
        cookie = request.cookies.get(SESSION_COOKIE, "")
        if cookie:
            identity = await run_in_threadpool(accounts.authenticate, cookie)
    request.state.identity = identity
    return identity


async def check_csrf(request: Request, identity: Identity) -> None:
    if request.method in SAFE_METHODS or identity.session is None:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not sent or not secrets.compare_digest(sent, identity.session.csrf_secret):
        raise HTTPException(
            403,
            tr(request, "Jeton CSRF absent ou invalide : rechargez la page et recommencez.",
               "Missing or invalid CSRF token: reload the page and try again."),
        )  # fmt: skip


class Guard:
    """The dependency behind :func:`requires`; ``permission`` is what the route needs."""

    def __init__(self, permission: Permission | None, *, stages: frozenset[SessionStage]) -> None:
        self.permission = permission
        self.stages = stages

    async def __call__(self, request: Request) -> Identity:
        api = is_api_path(request.url.path)
        identity = await resolve_identity(request)
        if identity is None:
            if api:
                raise HTTPException(
                    401,
                    tr(request, "Authentification requise (jeton ou session).",
                       "Authentication required (token or session)."),
                    headers={"WWW-Authenticate": "Bearer"},
                )  # fmt: skip
            raise LoginRequiredError("/login?next=" + quote(request.url.path, safe="/"))
        await check_csrf(request, identity)
        session = identity.session
        if session is not None and session.stage not in self.stages:
            if api:
                raise HTTPException(401, "second factor required")
            target = "/login/totp" if session.stage is SessionStage.TOTP else "/account/totp"
            raise LoginRequiredError(target)
        if self.permission is not None and not identity.can(self.permission):
            raise PermissionDeniedError(
                tr(request, f"Votre rôle ne permet pas cette action ({self.permission.value}).",
                   f"Your role does not allow this ({self.permission.value}).")
            )  # fmt: skip
        return identity


FULL = frozenset({SessionStage.FULL})


def requires(permission: Permission | None) -> Any:
    """``identity: Identity = requires(Permission.VIEW_PEOPLE)`` in a route's signature."""
    return Depends(Guard(permission, stages=FULL))


def requires_stage(*stages: SessionStage) -> Any:
    """Signed in, possibly half-way (the TOTP steps)."""
    return Depends(Guard(None, stages=frozenset(stages)))


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""
