"""The home page: the areas this account may open."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seuil.services.accounts import Identity
from seuil.web.auth import accounts_of, requires
from seuil.web.routes._forms import see_other
from seuil.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    if accounts_of(request).needs_setup():
        return see_other("/setup")
    return _home(request)


def _home(request: Request) -> Response:
    return see_other("/home")


@router.get("/home")
def home_page(request: Request, identity: Identity = requires(None)) -> Response:
    if identity.account.must_change_password:
        return see_other("/account/password")
    return render(request, "home.html")
