"""Settings: gate modes and operating points, escalation policy, notification retries,
retention; what the site allows to change while running (heightened security) is
changed here, the rest is shown with where it is set."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.errors import ConflictError
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.i18n import tr
from seuil.web.routes._forms import see_other
from seuil.web.site_access import runtime_of, site_of
from seuil.web.templating import render

P = Permission
router = APIRouter(include_in_schema=False)


@router.get("/settings")
def settings_page(request: Request, identity: Identity = requires(P.MANAGE_SETTINGS)) -> Response:
    site = site_of(request)
    runtime = runtime_of(request)
    return render(
        request, "settings.html", gates=runtime.gates, incidents=site.settings.incidents,
        notifications=site.settings.notifications, site_settings=site.settings.site,
        heightened=runtime.heightened() if runtime.heightened else None,
        can_heighten=runtime.set_heightened is not None,
    )  # fmt: skip


@router.post("/settings/heightened")
def set_heightened(
    request: Request, enabled: str = Form(max_length=5),
    identity: Identity = requires(P.MANAGE_SETTINGS),
) -> Response:  # fmt: skip
    """Heightened security: the gates that ask for it add the active liveness challenge."""
    runtime = runtime_of(request)
    if runtime.set_heightened is None:
        raise ConflictError(tr(request, "Ce site ne permet pas ce réglage en marche.",
                               "This site does not allow this change while running."))  # fmt: skip
    if enabled not in ("on", "off"):
        raise ConflictError("enabled: on ou off (on or off)")
    runtime.set_heightened(enabled == "on")
    site = site_of(request)
    with site.uow() as uow:
        event = AuditEvent(identity.account.username, AuditAction.SETTINGS_HEIGHTENED, "site", "",
                           {"enabled": enabled == "on"})  # fmt: skip
        uow.audit.append(event, site.clock.now())
        uow.commit()
    return see_other("/settings")
