"""People: search, person page, consent, status, credentials, printable card, enrolment."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from seuil.adapters.qr import render_svg
from seuil.domain.consent import ConsentGiver, ConsentState, current_consent
from seuil.domain.credentials import RevocationReason, TemplateStorage
from seuil.domain.errors import ConflictError, NotFoundError
from seuil.domain.people import PersonKind, PersonStatus
from seuil.domain.permissions import Permission
from seuil.ports.storage import PeopleQuery
from seuil.services.accounts import Identity
from seuil.services.enrolment import EnrolmentOutcome
from seuil.web.auth import requires
from seuil.web.i18n import tr
from seuil.web.routes._forms import see_other
from seuil.web.site_access import runtime_of
from seuil.web.templating import render

if TYPE_CHECKING:
    from seuil.bootstrap import Site

P = Permission
router = APIRouter(include_in_schema=False)
PAGE = 50


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def _in_demo_wallet(request: Request, credential_id: str, text: str) -> None:
    """Demonstration only: the printed card goes into the visitor's hand (memory)."""
    wallet = request.app.state.runtime.demo_wallet
    if wallet is not None:
        wallet[credential_id] = text


def _search(
    request: Request, identity: Identity, q: str, group: str, status: str, page: int
) -> Response:
    page = max(1, min(page, 10_000))
    chosen = PersonStatus(status) if status in set(PersonStatus) else None
    query = PeopleQuery(status=chosen, group=group.strip() or None, text=q.strip() or None,
                        limit=PAGE, offset=(page - 1) * PAGE)  # fmt: skip
    found = site_of(request).people.search(identity.account.username, query, "web search")
    return render(request, "people.html", people=found, q=q, group=group, chosen=status,
                  page=page, more=len(found) == PAGE, statuses=list(PersonStatus))  # fmt: skip


@router.get("/people")
def people_list(
    request: Request, group: str = "", status: str = "", page: int = 1,
    identity: Identity = requires(P.VIEW_PEOPLE),
) -> Response:  # fmt: skip
    """The list by class and status. A name is never read from the URL (query strings
    end up in proxies' and servers' logs): searching by name is the POST below."""
    return _search(request, identity, "", group, status, page)


@router.post("/people/search")
def people_search(
    request: Request, q: str = Form("", max_length=200), group: str = Form("", max_length=50),
    status: str = Form("", max_length=20), page: int = Form(1),
    identity: Identity = requires(P.VIEW_PEOPLE),
) -> Response:  # fmt: skip
    """Search by name: the name travels in the (CSRF-protected) form body, not the URL."""
    return _search(request, identity, q, group, status, page)


@router.get("/people/{ref}")
def person_page(
    request: Request, ref: str, identity: Identity = requires(P.VIEW_PEOPLE)
) -> Response:
    site = site_of(request)
    actor = identity.account.username
    person = site.people.get(actor, ref, "web person page")
    consents = site.consent.history(actor, ref)
    credentials = site.credentials.list_for(actor, ref)
    return render(
        request, "person.html", person=person, consents=consents,
        consent=current_consent(consents), credentials=credentials,
        consent_states=list(ConsentState), givers=list(ConsentGiver),
        statuses=[s for s in PersonStatus if s is not PersonStatus.LEFT],
        reasons=list(RevocationReason), storages=[s for s in TemplateStorage
                                                 if s is not TemplateStorage.NONE],
        staff=person.kind is PersonKind.STAFF,
        capture_gates=_capture_gates(request),
    )  # fmt: skip


@router.post("/people/{ref}/consent")
def record_consent(
    request: Request, ref: str, state: ConsentState = Form(), given_by: ConsentGiver = Form(),
    form_version: str = Form(max_length=100), evidence_ref: str = Form("", max_length=200),
    identity: Identity = requires(P.RECORD_CONSENT),
) -> Response:  # fmt: skip
    site_of(request).consent.record(
        identity.account.username, ref, state, given_by, form_version, evidence_ref
    )
    return see_other(f"/people/{ref}")


@router.post("/people/{ref}/status")
def set_status(
    request: Request, ref: str, status: PersonStatus = Form(),
    reason: str = Form(max_length=500), until: date | None = Form(None),
    identity: Identity = requires(P.MANAGE_PEOPLE),
) -> Response:  # fmt: skip
    if status is PersonStatus.LEFT:
        raise ConflictError("departures come from the roster (les départs viennent de SIECLE)")
    site_of(request).people.set_status(identity.account.username, ref, status, reason, until)
    return see_other(f"/people/{ref}")


@router.post("/people/{ref}/credentials")
def issue_credential(
    request: Request, ref: str, identity: Identity = requires(P.MANAGE_CREDENTIALS)
) -> Response:
    issued = site_of(request).credentials.issue_qr(identity.account.username, ref)
    return see_other(f"/credentials/{issued.credential.id}/card")


@router.post("/credentials/{credential_id}/revoke")
def revoke_credential(
    request: Request, credential_id: str, reason: RevocationReason = Form(),
    identity: Identity = requires(P.MANAGE_CREDENTIALS),
) -> Response:  # fmt: skip
    revoked = site_of(request).credentials.revoke(identity.account.username, credential_id, reason)
    return see_other(f"/people/{revoked.person_ref}")


@router.get("/credentials/{credential_id}/card")
def card(
    request: Request, credential_id: str, identity: Identity = requires(P.MANAGE_CREDENTIALS)
) -> Response:
    """The printable card of a non-biometric credential (signed again, audited)."""
    site = site_of(request)
    issued = site.credentials.reprint(identity.account.username, credential_id)
    person = site.people.get(identity.account.username, issued.credential.person_ref, "card")
    assert issued.text is not None
    _in_demo_wallet(request, issued.credential.id, issued.text)
    return render(request, "card.html", person=person, credential=issued.credential,
                  qr_svg=render_svg(issued.text), site_name=site.settings.site.name)  # fmt: skip


def _capture_gates(request: Request) -> list[tuple[str, str]]:
    runtime = runtime_of(request)
    if runtime.capture is None:
        return []
    return [(g.id, g.label or g.id) for g in runtime.gates if g.camera is not None]


@router.post("/people/{ref}/enrol")
def enrol(
    request: Request, ref: str, storage: TemplateStorage = Form(),
    photos: list[UploadFile] = File(), identity: Identity = requires(P.ENROL),
) -> Response:  # fmt: skip
    site = site_of(request)
    limit = request.app.state.options.max_photos
    if not 1 <= len(photos) <= limit:
        raise ConflictError(f"1 à {limit} photos (1 to {limit} photos)")
    data = [(p.filename or f"photo{i}", p.file.read()) for i, p in enumerate(photos, 1)]
    outcome = site.enrolment.enrol(identity.account.username, ref, data, storage)
    return _enrolled(request, identity, ref, outcome)


def _enrolled(
    request: Request, identity: Identity, ref: str, outcome: EnrolmentOutcome
) -> Response:
    site = site_of(request)
    person = site.people.get(identity.account.username, ref, "enrolment")
    qr_svg = render_svg(outcome.issued.text) if outcome.issued and outcome.issued.text else ""
    if outcome.issued and outcome.issued.text:
        _in_demo_wallet(request, outcome.issued.credential.id, outcome.issued.text)
    return render(request, "enrol_result.html", person=person, outcome=outcome, qr_svg=qr_svg,
                  site_name=site.settings.site.name)  # fmt: skip


@router.post("/people/{ref}/capture")
def enrol_from_gate(
    request: Request, ref: str, gate: str = Form(max_length=100),
    storage: TemplateStorage = Form(), identity: Identity = requires(P.ENROL),
) -> Response:  # fmt: skip
    """Enrol from the latest frames of a gate's camera (the person stands at the gate):
    the same enrolment as from photos, with the camera's quality rules; the frames live
    in memory only, and the display photo is stored only when enrolment succeeds."""
    capture = runtime_of(request).capture
    if capture is None or gate not in dict(_capture_gates(request)):
        raise NotFoundError(tr(request, f"Portique sans caméra disponible : {gate}",
                               f"No camera available at gate {gate}"))  # fmt: skip
    site = site_of(request)
    frames = capture(gate, request.app.state.options.max_photos)
    if not frames:
        raise ConflictError(tr(request, "La caméra du portique n'a donné aucune image : "
                                        "vérifiez son état sur l'écran du portique.",
                               "The gate camera gave no frame: check its state on the "
                               "gate screen."))  # fmt: skip
    label = dict(_capture_gates(request))[gate]
    data = [(f"{label} · image {i}", jpeg) for i, jpeg in enumerate(frames, 1)]
    outcome = site.enrolment.enrol(identity.account.username, ref, data, storage,
                                   from_camera=True)  # fmt: skip
    return _enrolled(request, identity, ref, outcome)
