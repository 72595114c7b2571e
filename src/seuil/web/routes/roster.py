"""Roster: upload a SIECLE export or CSV, see the diff (dry run), then apply it.

The uploaded file waits (in this process, 15 minutes, for the same account) between
the preview and the apply, so what is applied is the file that was shown.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from seuil.adapters.roster import parse_roster
from seuil.domain.errors import ConflictError
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.routes.people import site_of
from seuil.web.templating import render

P = Permission
router = APIRouter(include_in_schema=False)
PENDING_S = 900
Format = Literal["auto", "csv", "siecle"]


@dataclass(frozen=True, slots=True)
class PendingRoster:
    account_id: str
    data: bytes
    source: str
    format: Format
    full: bool | None
    until: float


def _pending(request: Request) -> dict[str, PendingRoster]:
    store: dict[str, PendingRoster] = request.app.state.pending_rosters
    now = time.monotonic()
    for key in [k for k, v in store.items() if v.until < now]:
        del store[key]
    return store


def _full(value: str) -> bool | None:
    return {"full": True, "partial": False}.get(value)


@router.get("/roster")
def roster_page(request: Request, identity: Identity = requires(P.SYNC_ROSTER)) -> Response:
    return render(request, "roster.html")


@router.post("/roster/preview")
def preview(
    request: Request, file: UploadFile = File(), format: Format = Form("auto"),
    scope: str = Form("auto"), identity: Identity = requires(P.SYNC_ROSTER),
) -> Response:  # fmt: skip
    data = file.file.read()
    source = file.filename or "roster"
    roster = parse_roster(data, source=source, format=format, full_export=_full(scope))
    diff = site_of(request).roster.sync(
        identity.account.username, roster.entries, full_export=roster.full_export,
        source=source, dry_run=True,
    )  # fmt: skip
    key = secrets.token_urlsafe(16)
    _pending(request)[key] = PendingRoster(identity.account.id, data, source, format,
                                           _full(scope), time.monotonic() + PENDING_S)  # fmt: skip
    return render(request, "roster_diff.html", diff=diff, key=key, source=source,
                  warnings=roster.warnings, applied=False)  # fmt: skip


@router.post("/roster/apply")
def apply(
    request: Request, key: str = Form(max_length=64), force: bool = Form(False),
    identity: Identity = requires(P.SYNC_ROSTER),
) -> Response:  # fmt: skip
    pending = _pending(request).get(key)
    if pending is None or pending.account_id != identity.account.id:
        raise ConflictError(
            "aperçu expiré ou inconnu : envoyez le fichier à nouveau "
            "(preview expired or unknown: upload the file again)"
        )
    roster = parse_roster(pending.data, source=pending.source, format=pending.format,
                          full_export=pending.full)  # fmt: skip
    diff = site_of(request).roster.sync(
        identity.account.username, roster.entries, full_export=roster.full_export,
        source=pending.source, dry_run=False, force=force,
    )  # fmt: skip
    del _pending(request)[key]
    return render(request, "roster_diff.html", diff=diff, key="", source=pending.source,
                  warnings=roster.warnings, applied=True)  # fmt: skip
