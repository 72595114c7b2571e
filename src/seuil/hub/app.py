"""``create_hub_app``: the regional hub's FastAPI application.

It reuses the site's web parts (session and token guard, CSRF, security headers, body
limit, problem details, FR/EN, the login/TOTP/setup/password pages and the accounts
pages) with its own templates, navigation and routers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from seuil.hub.nav import HUB_NAV
from seuil.hub.runtime import Hub
from seuil.hub.tls import load_client_ca
from seuil.web import problems
from seuil.web.auth import LoginRequiredError
from seuil.web.security import BodySizeLimit, SecurityHeaders
from seuil.web.templating import render_error

HUB_API = "/hub/api/v1"


@dataclass(frozen=True, slots=True)
class HubWebOptions:
    secure_cookies: bool = False
    max_batch_bytes: int = 2_000_000
    timezone: str = "Europe/Paris"  # the zone the pages show times in
    sse_keepalive_s: float = 15.0  # a comment on an idle live stream this often
    # Mutual TLS: every site API request must come with a client certificate naming its
    # site (seuil.hub.tls); behind a terminator, the header it puts the certificate in.
    site_certificates: bool = False
    client_cert_header: str | None = None
    client_cert_ca: Path | None = None  # check the header's certificate against it


def local_time(zone: ZoneInfo) -> Callable[[datetime, str], str]:
    """The ``local`` template filter: a stored (UTC) time, in the pages' zone."""

    def local(value: datetime, fmt: str = "%d/%m/%Y %H:%M") -> str:
        if value.tzinfo is None:  # stored times are UTC; a naive one is read as UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(zone).strftime(fmt)

    return local


def hub_templates(timezone: str = "Europe/Paris") -> Environment:
    env = Environment(
        loader=ChoiceLoader([PackageLoader("seuil.hub", "templates"),
                             PackageLoader("seuil.web", "templates")]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )  # fmt: skip
    env.filters["local"] = local_time(ZoneInfo(timezone))
    return env


def create_hub_app(hub: Hub, options: HubWebOptions | None = None) -> FastAPI:
    from seuil.hub.routes import accounts as hub_accounts
    from seuil.hub.routes import admin, api, board, events, incidents, mediator
    from seuil.web.routes import accounts as accounts_routes
    from seuil.web.routes import auth

    opts = options or HubWebOptions()
    app = FastAPI(
        title="seuil hub API",
        version="1",
        description="Centre régional : réception des événements des sites (regional hub).",
        openapi_url=f"{HUB_API}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.hub = hub
    app.state.accounts = hub.accounts
    app.state.options = opts
    app.state.client_cas = load_client_ca(opts.client_cert_ca) if opts.client_cert_ca else ()
    app.state.templates = hub_templates(opts.timezone)
    app.state.nav = HUB_NAV
    problems.install(app, render_error)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequiredError)
        return RedirectResponse(exc.location, status_code=303)

    app.add_exception_handler(LoginRequiredError, login_required)
    app.mount("/static", StaticFiles(directory=str(files("seuil.web") / "static")), name="static")
    app.mount("/hub-static", StaticFiles(directory=str(files("seuil.hub") / "static")),
              name="hub-static")  # fmt: skip
    # The hub's accounts page first: it offers the hub's roles (the site's router, after
    # it, keeps the account updates and the API tokens pages).
    for module in (auth, board, events, incidents, mediator, admin, hub_accounts, accounts_routes):
        app.include_router(module.router)
    app.include_router(api.router, prefix=HUB_API)
    app.add_middleware(BodySizeLimit, max_bytes=opts.max_batch_bytes)
    app.add_middleware(SecurityHeaders)
    return app


def app_from_env() -> FastAPI:
    """For ``uvicorn seuil.hub.app:app_from_env --factory --workers N`` (settings from
    the ``SEUIL_HUB_`` environment)."""
    from seuil.hub.settings import HubSettings

    settings = HubSettings()
    hub = Hub(settings)
    options = HubWebOptions(secure_cookies=settings.secure_cookies,
                            max_batch_bytes=settings.max_batch_bytes,
                            timezone=settings.timezone,
                            site_certificates=settings.site_certificates,
                            client_cert_header=settings.client_cert_header,
                            client_cert_ca=settings.client_cert_ca)  # fmt: skip
    return create_hub_app(hub, options)
