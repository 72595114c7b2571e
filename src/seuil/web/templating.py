"""Jinja2 templates (package data), rendered with the caller's language and rights."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from seuil.domain.accounts import SessionStage
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.auth import CSRF_FIELD
from seuil.web.i18n import language
from seuil.web.labels import label, local
from seuil.web.nav import NAV

_ENV = Environment(
    loader=PackageLoader("seuil.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``name``. An application may bring its own environment and navigation
    (``app.state.templates``, ``app.state.nav``: the regional hub does)."""
    env: Environment = getattr(request.app.state, "templates", None) or _ENV
    nav_items = getattr(request.app.state, "nav", None) or NAV
    lang = language(request)
    identity: Identity | None = getattr(request.state, "identity", None)

    def tr(fr: str, en: str) -> str:
        return en if lang == "en" else fr

    def lab(group: str, value: object) -> str:
        return label(group, value, lang)

    full = identity is not None and (
        identity.session is None or identity.session.stage is SessionStage.FULL
    )
    nav = [
        item
        for item in nav_items
        if full and identity is not None and identity.can(item.permission)
    ]
    html = env.get_template(name).render(
        request=request, lang=lang, tr=tr, label=lab, local=local, identity=identity, nav=nav,
        P=Permission,
        csrf_field=CSRF_FIELD,
        csrf=identity.session.csrf_secret if identity and identity.session else "",
        **context,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, message=message)
