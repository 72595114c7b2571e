"""/roster/sync: upload a SIECLE export or CSV; ``dry_run`` (default) shows the diff."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Query, Request, UploadFile

from seuil.adapters.roster import parse_roster
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.api.schemas import RosterDiffOut
from seuil.web.auth import requires
from seuil.web.routes.people import site_of

P = Permission
router = APIRouter(tags=["roster"])


@router.post("/roster/sync", response_model=RosterDiffOut)
def sync(
    request: Request, file: UploadFile = File(), dry_run: bool = True,
    format: Literal["auto", "csv", "siecle"] = "auto", full_export: bool | None = None,
    force: bool = False, source: str = Query("api", max_length=100),
    identity: Identity = requires(P.SYNC_ROSTER),
) -> RosterDiffOut:  # fmt: skip
    data = file.file.read()
    name = file.filename or source
    roster = parse_roster(data, source=name, format=format, full_export=full_export)
    diff = site_of(request).roster.sync(
        identity.account.username, roster.entries, full_export=roster.full_export,
        source=name, dry_run=dry_run, force=force,
    )  # fmt: skip
    return RosterDiffOut.of(diff, not dry_run, list(roster.warnings))
