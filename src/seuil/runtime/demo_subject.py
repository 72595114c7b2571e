"""The demonstration's liveness subject: the person of ``shared/spoof`` as a fictional
pupil, enrolled at every start so the demo holds her card.

The demo site keeps the QR text of a card only in memory (the demo wallet), so each
start enrols her again through the ordinary use cases (people, consent, enrolment):
the re-enrolment revokes the previous start's card, as any re-enrolment does. Her
consent is recorded once; withdrawn or refused from the web pages, it is respected
(no enrolment, the console says so).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING

from seuil.domain.consent import ConsentGiver, ConsentState, biometrics_allowed
from seuil.domain.credentials import TemplateStorage
from seuil.domain.errors import SeuilError
from seuil.runtime.demo_roster import LIVENESS_PUPIL

if TYPE_CHECKING:
    from seuil.bootstrap import Site

log = logging.getLogger(__name__)

ACTOR = "démonstration"
CROPS = "spoof/crops/real"  # the faces of real2.webm, one per frame
PHOTOS = 8


def enrolment_photos(shared: Path | None) -> list[Path]:
    """Eight live crops spread over the clip (none when shared/ is absent)."""
    folder = shared / CROPS if shared is not None else None
    if folder is None or not folder.is_dir():
        return []
    crops = sorted((p for p in folder.glob("*.png") if p.stem.isdigit()), key=lambda p: int(p.stem))
    step = max(1, len(crops) // PHOTOS)
    return crops[::step][:PHOTOS]


def enrol_liveness_pupil(site: Site, shared: Path | None) -> tuple[str, str] | None:
    """Enrol the fictional pupil from the live crops; her new card (credential id, QR
    text), or None without shared data (or when no photo passes the quality checks)."""
    photos = enrolment_photos(shared)
    if not photos:
        return None
    entry = LIVENESS_PUPIL
    with site.reader() as uow:
        person = uow.people.by_external_id(entry.kind, entry.external_id)
    if person is None:  # a demo database seeded before she was part of the roster
        person = site.people.create(
            ACTOR, entry.kind, entry.last_name, entry.first_name,
            external_id=entry.external_id, group=entry.group, birth_date=entry.birth_date,
        )  # fmt: skip
    with site.reader() as uow:
        history = uow.consents.history(person.ref)
    if not history:  # an adult pupil (born 2008): her own consent, recorded once
        site.consent.record(ACTOR, person.ref, ConsentState.GIVEN, ConsentGiver.SELF,
                            "démonstration")  # fmt: skip
    elif not biometrics_allowed(history):
        log.warning("demo: the liveness pupil withdrew or refused consent: not enrolled")
        return None  # a withdrawal made in the demo is respected like any other
    try:
        outcome = site.enrolment.enrol(
            ACTOR, person.ref, [(p.name, p.read_bytes()) for p in photos],
            TemplateStorage.KEY_ON_CREDENTIAL,
        )  # fmt: skip
    except SeuilError as exc:  # e.g. her record was closed from the web pages
        log.warning("demo: the liveness pupil was not enrolled: %s", exc.message)
        return None
    issued = outcome.issued
    if issued is None or issued.text is None:
        return None
    return issued.credential.id, issued.text


def holder_name() -> str:
    return f"{LIVENESS_PUPIL.first_name} {LIVENESS_PUPIL.last_name}"


def hand_out_liveness_card(
    site: Site, wallet: MutableMapping[str, str] | None, shared: Path | None
) -> str | None:
    """Enrol the liveness pupil and put her card in the demo wallet; her name, or None
    when there is no wallet or nothing to enrol from."""
    if wallet is None:
        return None
    card = enrol_liveness_pupil(site, shared)
    if card is None:
        return None
    credential_id, text = card
    wallet[credential_id] = text
    return holder_name()
