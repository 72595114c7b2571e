"""/accounts (admin) and /tokens (the caller's own API tokens)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.api.schemas import AccountIn, AccountOut, TokenCreated, TokenIn, TokenOut
from seuil.web.auth import accounts_of, requires

P = Permission
router = APIRouter(tags=["accounts"])


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(
    request: Request, identity: Identity = requires(P.MANAGE_ACCOUNTS)
) -> list[AccountOut]:
    return [AccountOut.of(a) for a in accounts_of(request).list_accounts(identity.account)]


@router.post("/accounts", response_model=AccountOut, status_code=201)
def create_account(
    request: Request, body: AccountIn, identity: Identity = requires(P.MANAGE_ACCOUNTS)
) -> AccountOut:
    account = accounts_of(request).create_account(
        identity.account, body.username, body.display_name, body.role, body.initial_password
    )
    return AccountOut.of(account)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(request: Request, identity: Identity = requires(P.USE_API)) -> list[TokenOut]:
    return [TokenOut.of(t) for t in accounts_of(request).list_tokens(identity.account)]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(
    request: Request, body: TokenIn, identity: Identity = requires(P.USE_API)
) -> TokenCreated:
    created = accounts_of(request).create_token(
        identity.account, body.name, body.scopes, body.expires_at
    )
    return TokenCreated(token_info=TokenOut.of(created.token), token=created.secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(
    request: Request, token_id: str, identity: Identity = requires(P.USE_API)
) -> TokenOut:
    return TokenOut.of(accounts_of(request).revoke_token(identity.account, token_id))
