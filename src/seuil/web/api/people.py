"""/people: list (paginated), search by name (POST), get, create; consent; credentials."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, status
from fastapi.exceptions import RequestValidationError

from seuil.domain.people import PersonKind, PersonStatus
from seuil.domain.permissions import Permission
from seuil.ports.storage import PeopleQuery
from seuil.services.accounts import Identity
from seuil.web.api.schemas import (
    ConsentIn,
    ConsentOut,
    CredentialOut,
    PeoplePage,
    PeopleSearchIn,
    PersonIn,
    PersonOut,
    RevokeIn,
)
from seuil.web.auth import requires
from seuil.web.routes.people import site_of

P = Permission
router = APIRouter(tags=["people"])
Ref = str
MOVED_SEARCH = ("names are searched with POST /api/v1/people/search "
                "(a name in a URL stays in proxy and access logs)")  # fmt: skip


@router.get("/people", response_model=PeoplePage)
def list_people(
    request: Request, group: str | None = Query(None, max_length=32),
    kind: PersonKind | None = None, status_: PersonStatus | None = Query(None, alias="status"),
    limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=1_000_000),
    identity: Identity = requires(P.VIEW_PEOPLE),
) -> PeoplePage:  # fmt: skip
    """The roster page by page; a name search is ``POST /people/search``."""
    if "q" in request.query_params:  # the old name filter: refuse it, never ignore it
        raise RequestValidationError([{"loc": ("query", "q"), "type": "value_error",
                                       "msg": MOVED_SEARCH}])  # fmt: skip
    query = PeopleQuery(kind=kind, status=status_, group=group or None, limit=limit,
                        offset=offset)  # fmt: skip
    return _page(request, identity, query, "api")


@router.post("/people/search", response_model=PeoplePage)
def search_people(
    request: Request, body: PeopleSearchIn, identity: Identity = requires(P.VIEW_PEOPLE)
) -> PeoplePage:
    """Search by name; the name travels in the body so that no URL carries it."""
    query = PeopleQuery(kind=body.kind, status=body.status, group=body.group or None,
                        text=body.query, limit=body.limit, offset=body.offset)  # fmt: skip
    return _page(request, identity, query, "api search")


def _page(request: Request, identity: Identity, query: PeopleQuery, reason: str) -> PeoplePage:
    site = site_of(request)
    found = site.people.search(identity.account.username, query, reason)
    with site.reader() as uow:
        total = uow.people.count(query)
    return PeoplePage(items=[PersonOut.of(p) for p in found], total=total, limit=query.limit,
                      offset=query.offset)  # fmt: skip


@router.get("/people/{ref}", response_model=PersonOut)
def get_person(
    request: Request, ref: Ref, identity: Identity = requires(P.VIEW_PEOPLE)
) -> PersonOut:
    return PersonOut.of(site_of(request).people.get(identity.account.username, ref, "api"))


@router.post("/people", response_model=PersonOut, status_code=status.HTTP_201_CREATED)
def create_person(
    request: Request, body: PersonIn, identity: Identity = requires(P.MANAGE_PEOPLE)
) -> PersonOut:
    person = site_of(request).people.create(
        identity.account.username, body.kind, body.last_name, body.first_name,
        external_id=body.external_id, group=body.group, birth_date=body.birth_date,
    )  # fmt: skip
    return PersonOut.of(person)


@router.get("/people/{ref}/consent", response_model=list[ConsentOut])
def consent_history(
    request: Request, ref: Ref, identity: Identity = requires(P.VIEW_PEOPLE)
) -> list[ConsentOut]:
    records = site_of(request).consent.history(identity.account.username, ref)
    return [ConsentOut.of(r) for r in records]


@router.post("/people/{ref}/consent", response_model=ConsentOut, status_code=201)
def record_consent(
    request: Request, ref: Ref, body: ConsentIn, identity: Identity = requires(P.RECORD_CONSENT)
) -> ConsentOut:
    record = site_of(request).consent.record(
        identity.account.username, ref, body.state, body.given_by, body.form_version,
        body.evidence_ref,
    )  # fmt: skip
    return ConsentOut.of(record)


@router.get("/people/{ref}/credentials", response_model=list[CredentialOut])
def list_credentials(
    request: Request, ref: Ref, identity: Identity = requires(P.VIEW_PEOPLE)
) -> list[CredentialOut]:
    site = site_of(request)
    site.people.get(identity.account.username, ref, "api credentials")  # 404 if unknown
    return [CredentialOut.of(c) for c in site.credentials.list_for(identity.account.username, ref)]


@router.post("/people/{ref}/credentials", response_model=CredentialOut, status_code=201)
def issue_credential(
    request: Request, ref: Ref, identity: Identity = requires(P.MANAGE_CREDENTIALS)
) -> CredentialOut:
    """A non-biometric QR credential; print its card from the staff pages."""
    issued = site_of(request).credentials.issue_qr(identity.account.username, ref)
    return CredentialOut.of(issued.credential)


@router.post("/credentials/{credential_id}/revoke", response_model=CredentialOut)
def revoke_credential(
    request: Request, credential_id: str, body: RevokeIn,
    identity: Identity = requires(P.MANAGE_CREDENTIALS),
) -> CredentialOut:  # fmt: skip
    revoked = site_of(request).credentials.revoke(
        identity.account.username, credential_id, body.reason
    )
    return CredentialOut.of(revoked)
