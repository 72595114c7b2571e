"""Every route is protected by the one guard; every forbidden (role, permission) pair
is refused, on the pages and on the API, generated from the matrix itself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route
from tests.web.conftest import PASSWORD, Web, csrf_of

from seuil.domain.accounts import SITE_ROLES, Role
from seuil.domain.permissions import MATRIX, Permission
from seuil.web import create_app
from seuil.web.auth import Guard

PUBLIC = {
    ("GET", "/login"), ("POST", "/login"), ("GET", "/setup"), ("POST", "/setup"),
    ("GET", "/"), ("GET", "/lang/{code}"), ("GET", "/api/v1/openapi.json"),
}  # fmt: skip
# Devices calling a URL: each authenticates with its own token (device gateway, badge
# endpoint), never with a staff session (tests/web/test_device_routes.py).
DEVICE_ROUTES = {
    ("POST", "/api/v1/devices/{device_id}/signal"), ("POST", "/api/v1/gates/{gate_id}/badge"),
}  # fmt: skip


def _guards(route: APIRoute) -> list[Guard]:
    return [d.call for d in route.dependant.dependencies if isinstance(d.call, Guard)]


def _flatten(routes: list[Any]) -> list[tuple[str, Any]]:
    """(full path, route) pairs; FastAPI 0.165 includes routers lazily."""
    flat: list[tuple[str, Any]] = []
    for route in routes:
        if hasattr(route, "effective_candidates"):
            flat += _flatten(route.effective_candidates())
        elif hasattr(route, "original_route"):
            flat.append((route.path, route.original_route))
        else:
            flat.append((getattr(route, "path", ""), route))
    return flat


def _routes(app: object) -> list[tuple[str, str, Guard | None]]:
    found = []
    for path, route in _flatten(app.routes):  # type: ignore[attr-defined]
        if isinstance(route, APIRoute):
            guards = _guards(route)
            assert len(guards) <= 1, f"{path} declares more than one guard"
            for method in route.methods:
                found.append((method, path, guards[0] if guards else None))
        elif isinstance(route, Route):
            for method in route.methods or ():
                found.append((method, path, None))
    return found


def test_every_route_is_guarded_except_the_public_ones(web: Web) -> None:
    unguarded = {(m, p) for m, p, g in _routes(web.app) if g is None and m != "HEAD"}
    assert unguarded == PUBLIC | DEVICE_ROUTES


def _protected(web: Web) -> list[tuple[str, str, Permission]]:
    return [(m, p, g.permission) for m, p, g in _routes(web.app)
            if g is not None and g.permission is not None]  # fmt: skip


def test_the_matrix_test_covers_many_routes(web: Web) -> None:
    protected = _protected(web)
    assert len(protected) >= 25
    # The API's name search (a POST, the name in the body) is one of them.
    assert ("POST", "/api/v1/people/search", Permission.VIEW_PEOPLE) in protected


@pytest.mark.parametrize("role", sorted(SITE_ROLES - {Role.ADMIN}))
def test_each_forbidden_pair_is_refused(web: Web, role: Role) -> None:
    name = f"user.{role.value}"
    web.add(name, role)
    client = web.login(name, PASSWORD + "!")
    csrf = csrf_of(client.get("/account/password").text)
    checked = 0
    for method, path, permission in _protected(web):
        if permission in MATRIX[role]:
            continue
        url = re.sub(r"\{[^}]+\}", "X-1", path)
        response = client.request(method, url, headers={"X-CSRF-Token": csrf},
                                  follow_redirects=False)  # fmt: skip
        assert response.status_code == 403, (role, method, url, response.status_code)
        if url.startswith("/api/"):
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "permission_denied"
        checked += 1
    assert checked > 0


def test_anonymous_is_sent_to_login_or_gets_401(web: Web) -> None:
    client = web.client()
    for method, path, _ in _protected(web):
        url = re.sub(r"\{[^}]+\}", "X-1", path)
        response = client.request(method, url, follow_redirects=False)
        if url.startswith("/api/"):
            assert response.status_code == 401, (method, url)
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 303, (method, url)
            assert response.headers["location"].startswith("/login?next=")


def test_create_app_is_side_effect_free(web: Web) -> None:
    again = create_app(web.site, web.accounts)
    assert {p for _, p, _ in _routes(again)} == {p for _, p, _ in _routes(web.app)}
