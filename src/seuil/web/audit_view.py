"""Reading and verifying the audit trail for the pages and the API (reads are audited)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seuil.domain.audit import AnchorVerdict, AuditEntry, AuditEvent, ChainVerdict
from seuil.domain.audit_actions import AuditAction

if TYPE_CHECKING:
    from seuil.bootstrap import Site

SCAN = 5000  # the newest entries the actor/target filters look through


def read_audit(
    site: Site, reader: str, *, action: str = "", actor: str = "", target: str = "",
    limit: int = 200,
) -> list[AuditEntry]:  # fmt: skip
    limit = max(1, min(limit, 1000))
    action = action.strip()
    with site.uow() as uow:
        scan = limit if not (actor or target) else SCAN
        entries = uow.audit.latest(scan, action or None)
        found = [
            e
            for e in entries
            if (not actor or e.actor == actor) and (not target or e.target == target)
        ]
        uow.audit.append(
            AuditEvent(
                reader, AuditAction.AUDIT_READ, target, "", {"action": action, "actor": actor}
            ),
            site.clock.now(),
        )
        uow.commit()  # fmt: skip
    return list(reversed(found))[:limit]


def verify(site: Site, reader: str) -> tuple[ChainVerdict, AnchorVerdict | None]:
    """The chain, and with a hub link the chain against the hub's anchors."""
    verdict, anchors = site.verify_audit()
    details: dict[str, object] = {"ok": verdict.ok}
    if anchors is not None:
        details["anchors_checked"] = anchors.checked
        details["rewritten"] = anchors.rewritten
    with site.uow() as uow:
        uow.audit.append(AuditEvent(reader, AuditAction.AUDIT_VERIFY, "", "", details),
                         site.clock.now())  # fmt: skip
        uow.commit()
    return verdict, anchors
