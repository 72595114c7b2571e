"""Accounts (admin): create, change role, disable, reset; everyone's own API tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from seuil.domain.accounts import Role
from seuil.domain.permissions import Permission, permissions_of
from seuil.services.accounts import Identity
from seuil.web.auth import accounts_of, requires
from seuil.web.routes._forms import see_other
from seuil.web.templating import render

P = Permission
router = APIRouter(include_in_schema=False)


@router.get("/accounts")
def accounts_page(request: Request, identity: Identity = requires(P.MANAGE_ACCOUNTS)) -> Response:
    found = accounts_of(request).list_accounts(identity.account)
    return render(request, "accounts.html", accounts=found, roles=list(Role))


@router.post("/accounts")
def create_account(
    request: Request, username: str = Form(max_length=64), display_name: str = Form(max_length=200),
    role: Role = Form(), password: str = Form(max_length=1000),
    identity: Identity = requires(P.MANAGE_ACCOUNTS),
) -> Response:  # fmt: skip
    accounts_of(request).create_account(identity.account, username, display_name, role, password)
    return see_other("/accounts")


@router.post("/accounts/{account_id}")
def update_account(
    request: Request, account_id: str, role: Role | None = Form(None),
    disabled: bool | None = Form(None), new_password: str | None = Form(None, max_length=1000),
    identity: Identity = requires(P.MANAGE_ACCOUNTS),
) -> Response:  # fmt: skip
    accounts_of(request).update_account(
        identity.account,
        account_id,
        role=role,
        disabled=disabled,
        new_password=new_password or None,
    )
    return see_other("/accounts")  # fmt: skip


@router.get("/account/tokens")
def tokens_page(request: Request, identity: Identity = requires(P.USE_API)) -> Response:
    tokens = accounts_of(request).list_tokens(identity.account)
    scopes = sorted(permissions_of(identity.account.role) - {P.USE_API})
    return render(request, "tokens.html", tokens=tokens, scopes=scopes, created=None)


@router.post("/account/tokens")
def create_token(
    request: Request, name: str = Form(max_length=100), scopes: list[P] = Form([]),
    expires: date | None = Form(None), identity: Identity = requires(P.USE_API),
) -> Response:  # fmt: skip
    accounts = accounts_of(request)
    until = datetime.combine(expires, time(), UTC) if expires else None
    created = accounts.create_token(identity.account, name, scopes, until)
    tokens = accounts.list_tokens(identity.account)
    allowed = sorted(permissions_of(identity.account.role) - {P.USE_API})
    return render(request, "tokens.html", tokens=tokens, scopes=allowed, created=created)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: str, identity: Identity = requires(P.USE_API)
) -> Response:
    accounts_of(request).revoke_token(identity.account, token_id)
    return see_other("/account/tokens")
