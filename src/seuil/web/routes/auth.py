"""Login (+ TOTP step), first-admin setup, logout, password change, language switch."""

from __future__ import annotations

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seuil.domain.accounts import LoginThrottledError, PasswordPolicyError, SessionStage
from seuil.domain.errors import AuthenticationError, ConflictError
from seuil.services.accounts import Identity
from seuil.web.auth import SESSION_COOKIE, accounts_of, client_address, requires, requires_stage
from seuil.web.i18n import COOKIE, LANGS
from seuil.web.routes._forms import safe_next, secure, see_other, set_session
from seuil.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if accounts_of(request).needs_setup():
        return see_other("/setup")
    return render(request, "login.html", next=safe_next(next))


@router.post("/login")
def login(
    request: Request, username: str = Form(max_length=200), password: str = Form(max_length=1000),
    next: str = Form("/", max_length=2000),
) -> Response:  # fmt: skip
    try:
        result = accounts_of(request).login(username, password, client_address(request))
    except LoginThrottledError as exc:
        page = render(request, "login.html", status=429, error=exc.message, next=safe_next(next),
                      username=username)  # fmt: skip
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    except AuthenticationError as exc:
        return render(request, "login.html", status=401, error=exc.message, next=safe_next(next),
                      username=username)  # fmt: skip
    stage = result.session.stage
    target = safe_next(next)
    if stage is SessionStage.TOTP:
        target = "/login/totp"
    elif stage is SessionStage.TOTP_ENROL:
        target = "/account/totp"
    elif result.account.must_change_password:
        target = "/account/password"
    response = see_other(target)
    set_session(request, response, result)
    return response


@router.get("/login/totp")
def totp_page(request: Request, identity: Identity = requires_stage(SessionStage.TOTP)) -> Response:
    return render(request, "totp.html")


@router.post("/login/totp")
def totp(
    request: Request, code: str = Form(max_length=20),
    identity: Identity = requires_stage(SessionStage.TOTP),
) -> Response:  # fmt: skip
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        result = accounts_of(request).second_factor(token, code, client_address(request))
    except AuthenticationError as exc:
        return render(request, "totp.html", status=401, error=exc.message)
    response = see_other("/")
    set_session(request, response, result)
    return response


def _qr_svg(text: str) -> str:
    return segno.make(text, error="m").svg_inline(scale=4, title="QR")


@router.get("/account/totp")
def totp_enrol_page(
    request: Request,
    identity: Identity = requires_stage(SessionStage.FULL, SessionStage.TOTP_ENROL),
) -> Response:
    secret, uri = accounts_of(request).new_totp_secret(identity.account)
    required = identity.session is not None and identity.session.stage is SessionStage.TOTP_ENROL
    return render(request, "totp_enrol.html", secret=secret, qr_svg=_qr_svg(uri), required=required)


@router.post("/account/totp")
def totp_enrol(
    request: Request, secret: str = Form(max_length=64), code: str = Form(max_length=20),
    identity: Identity = requires_stage(SessionStage.FULL, SessionStage.TOTP_ENROL),
) -> Response:  # fmt: skip
    accounts = accounts_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        result = accounts.enable_totp(token, secret, code, client_address(request))
    except AuthenticationError as exc:
        _, uri = accounts.new_totp_secret(identity.account)
        uri = uri.replace(uri.split("secret=")[1].split("&")[0], secret)
        return render(request, "totp_enrol.html", status=401, error=exc.message, secret=secret,
                      qr_svg=_qr_svg(uri), required=True)  # fmt: skip
    response = see_other("/")
    set_session(request, response, result)
    return response


@router.get("/setup")
def setup_page(request: Request) -> Response:
    if not accounts_of(request).needs_setup():
        return see_other("/login")
    return render(request, "setup.html")


@router.post("/setup")
def setup(
    request: Request, token: str = Form(max_length=200), username: str = Form(max_length=64),
    display_name: str = Form(max_length=200), password: str = Form(max_length=1000),
) -> Response:  # fmt: skip
    accounts = accounts_of(request)
    try:
        accounts.complete_setup(token, username, display_name, password, client_address(request))
    except (AuthenticationError, PasswordPolicyError, ConflictError) as exc:
        return render(request, "setup.html", status=400, error=exc.message, username=username,
                      display_name=display_name)  # fmt: skip
    return see_other("/login")


@router.post("/logout")
def logout(
    request: Request,
    identity: Identity = requires_stage(*SessionStage),
) -> Response:
    accounts_of(request).logout(request.cookies.get(SESSION_COOKIE, ""))
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=secure(request))  # fmt: skip
    return response


@router.get("/account/password")
def password_page(
    request: Request, done: bool = False, identity: Identity = requires(None)
) -> Response:
    return render(request, "password.html", must=identity.account.must_change_password, done=done)


@router.post("/account/password")
def change_password(
    request: Request, current: str = Form(max_length=1000), new: str = Form(max_length=1000),
    identity: Identity = requires(None),
) -> Response:  # fmt: skip
    try:
        result = accounts_of(request).change_password(
            identity.account.id, current, new, client_address(request)
        )
    except (AuthenticationError, PasswordPolicyError) as exc:
        return render(request, "password.html", status=400, error=exc.message)
    response: HTMLResponse | RedirectResponse = see_other("/account/password?done=1")
    set_session(request, response, result)  # type: ignore[arg-type]
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/") -> Response:
    response = see_other(safe_next(next))
    if code in LANGS:
        response.set_cookie(COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response
