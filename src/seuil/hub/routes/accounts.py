"""The hub's accounts page: the same page as a site's, offering only the hub's roles
(administrator, regional operator and supervisor, mediator), the roles its account
service accepts. Creating, changing and the API tokens stay on the site's shared
router."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seuil.domain.accounts import Role
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.auth import accounts_of, requires
from seuil.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/accounts")
def accounts_page(
    request: Request, identity: Identity = requires(Permission.MANAGE_ACCOUNTS)
) -> Response:
    accounts = accounts_of(request)
    found = accounts.list_accounts(identity.account)
    roles = [r for r in Role if r in accounts.policy.roles]  # the enum's order
    return render(request, "accounts.html", accounts=found, roles=roles)
