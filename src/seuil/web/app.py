"""``create_app``: the site's FastAPI application, from an already wired site."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from seuil.services.accounts import AccountService
from seuil.web import problems
from seuil.web.auth import LoginRequiredError
from seuil.web.runtime import WebRuntime
from seuil.web.security import BodySizeLimit, SecurityHeaders
from seuil.web.templating import render_error

if TYPE_CHECKING:
    from seuil.bootstrap import Site

API_PREFIX = "/api/v1"


@dataclass(frozen=True, slots=True)
class WebOptions:
    # Secure cookies: on when served over TLS or behind a TLS-terminating proxy.
    secure_cookies: bool = False
    max_upload_bytes: int = 20_000_000
    max_photos: int = 5
    sse_keepalive_s: float = 15.0  # a comment on idle event streams, this often


def create_app(
    site: Site,
    accounts: AccountService,
    options: WebOptions | None = None,
    runtime: WebRuntime | None = None,
) -> FastAPI:
    """The site's web app; ``runtime`` is the running site's view (gates, devices, demo)
    when there is one (``seuil site run``); without it the live pages show no gate."""
    from seuil.web.api import router as api_router
    from seuil.web.routes import accounts as accounts_routes
    from seuil.web.routes import (
        audit,
        auth,
        devices,
        events,
        gate,
        home,
        incidents,
        people,
        roster,
        settings,
    )

    opts = options or WebOptions()
    app = FastAPI(
        title="seuil API",
        version="1",
        description="API du site seuil (site API). Authentification : jeton Bearer.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # the stock docs pages load scripts from a CDN: not served
        redoc_url=None,
    )
    app.state.site = site
    app.state.accounts = accounts
    app.state.options = opts
    app.state.runtime = runtime or WebRuntime()
    app.state.pending_rosters = {}
    problems.install(app, render_error)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequiredError)
        return RedirectResponse(exc.location, status_code=303)

    app.add_exception_handler(LoginRequiredError, login_required)
    static = files("seuil.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for module in (auth, home, people, roster, audit, accounts_routes, gate, incidents,
                   devices, settings, events):  # fmt: skip
        app.include_router(module.router)
    app.include_router(api_router, prefix=API_PREFIX)
    app.add_middleware(BodySizeLimit, max_bytes=opts.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    return app
