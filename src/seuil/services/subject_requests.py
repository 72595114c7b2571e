"""Data-subject requests (GDPR art. 15 and 17): export everything held on a person, or
erase it, with the legal exceptions recorded.

The export is a plain JSON-ready dict (the CLI and the DPO page render it as JSON and
HTML). Biometric data is *described*, never dumped: whether a template and a photo
are held, how they are stored and protected, since when.

Erasure removes the template, the enrolment photo, every credential record (a printed
card whose record is gone is refused as revoked), the consent history and the
identity record; gate events keep their statistics under a random pseudonym that
cannot be linked back. What the law lets the school keep is kept and said so:

- audit entries that name the person's reference (GDPR art. 17(3)(b) and (e): the
  security of processing, art. 32, and the defence of legal claims), until their own
  retention period ends; the reference no longer leads to a name;
- the identity record while an open incident names the person (art. 17(3)(e)): the
  rest is erased now, and running the erasure again once the incident is closed
  completes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.credentials import TemplateStorage
from seuil.domain.errors import ConflictError, NotFoundError
from seuil.domain.people import Person, PersonStatus
from seuil.ports.clock import Clock
from seuil.ports.storage import UnitOfWork

_STORAGE_FR = {
    TemplateStorage.ON_CREDENTIAL: "sur la carte (le site ne garde aucun gabarit)",
    TemplateStorage.KEY_ON_CREDENTIAL: "chiffré, clé portée par la carte",
    TemplateStorage.SITE_DATABASE: "chiffré avec la clé du site",
    TemplateStorage.NONE: "aucun",
}


@dataclass(frozen=True, slots=True)
class ErasureException:
    """Something kept despite the erasure, and the legal ground for keeping it."""

    what: str
    count: int
    ground_fr: str
    ground_en: str


@dataclass(frozen=True, slots=True)
class Erasure:
    person_ref: str
    template: bool = False
    photo: bool = False
    credentials: int = 0
    consents: int = 0
    gate_events_pseudonymised: int = 0
    identity_erased: bool = False
    exceptions: tuple[ErasureException, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, Any]:
        """For the audit trail: counts and flags, never contents."""
        return {
            "template": self.template, "photo": self.photo, "credentials": self.credentials,
            "consents": self.consents, "gate_events": self.gate_events_pseudonymised,
            "identity": self.identity_erased,
            "exceptions": {e.what: e.count for e in self.exceptions},
        }  # fmt: skip


def needles(person: Person) -> list[str]:
    """What names a person in free text (signals, incident notes): the reference, and
    the full name either way round (a bare last name would match strangers)."""
    first, last = person.first_name.strip(), person.last_name.strip()
    return [person.ref, f"{first} {last}", f"{last} {first}"]


def open_incidents_naming(uow: UnitOfWork, person: Person) -> int:
    return sum(still_open for _id, still_open in uow.retention.incidents_naming(needles(person)))


def erase_person(uow: UnitOfWork, person_ref: str, now: datetime, actor: str, why: str) -> Erasure:
    """Erase what the site holds on a person, in the caller's transaction (audited)."""
    person = uow.people.get(person_ref)
    if person is None:
        raise NotFoundError(f"no person with reference {person_ref!r}")
    template = uow.templates.erase(person_ref)
    photo = uow.photos.erase(person_ref)
    credentials = uow.credentials.delete_for(person_ref)
    consents = uow.consents.delete_for(person_ref)
    events = uow.gate_events.pseudonymise_person(person_ref)
    exceptions: list[ErasureException] = []
    audit_kept = len(uow.audit.about(person_ref))
    if audit_kept:
        exceptions.append(ErasureException(
            "audit_entries", audit_kept,
            "RGPD art. 17(3)(b) et (e) : sécurité du traitement (art. 32) et constatation "
            "des droits ; conservées jusqu'à leur durée de conservation, sans nom",
            "GDPR art. 17(3)(b) and (e): security of processing (art. 32) and legal "
            "claims; kept until their retention period ends, without a name",
        ))  # fmt: skip
    incidents = open_incidents_naming(uow, person)
    identity = incidents == 0
    if identity:
        uow.people.delete(person_ref)
    else:
        exceptions.append(ErasureException(
            "open_incidents", incidents,
            "RGPD art. 17(3)(e) : un incident ouvert nomme la personne ; l'identité est "
            "conservée jusqu'à sa clôture, puis l'effacement est à relancer",
            "GDPR art. 17(3)(e): an open incident names the person; the identity is kept "
            "until it is closed, then run the erasure again",
        ))  # fmt: skip
        if person.status is not PersonStatus.LEFT:
            uow.people.update(person.with_status(PersonStatus.LEFT, "erasure pending", None))
    erasure = Erasure(person_ref, template, photo, credentials, consents, events, identity,
                      tuple(exceptions))  # fmt: skip
    uow.audit.append(
        AuditEvent(actor, AuditAction.SUBJECT_ERASE, person_ref, why, erasure.counts()), now
    )
    return erasure


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _plain(obj: Any) -> dict[str, Any]:
    """A dataclass as a JSON-ready dict (dates as ISO text, enums as their value)."""
    out: dict[str, Any] = {}
    for name in obj.__slots__:
        value = getattr(obj, name)
        out[name] = getattr(value, "value", _iso(value))
    return out


class SubjectRequestService:
    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock, site_id: str) -> None:
        self._uow = uow
        self._clock = clock
        self._site_id = site_id

    def export(self, actor: str, person_ref: str, reason: str = "") -> dict[str, Any]:
        """Everything held on the person, JSON-ready; the export itself is audited."""
        now = self._clock.now()
        with self._uow() as uow:
            person = uow.people.get(person_ref)
            if person is None:
                raise NotFoundError(f"no person with reference {person_ref!r}")
            credentials = uow.credentials.for_person(person_ref)
            template = uow.templates.get(person_ref)
            photo = uow.photos.get(person_ref)
            data: dict[str, Any] = {
                "format": "seuil.subject-export/1",
                "generated_at": now.isoformat(),
                "site": self._site_id,
                "identity": {**_plain(person), "display_name": person.display_name},
                "consents": [_plain(r) for r in uow.consents.history(person_ref)],
                "credentials": [_plain(c) for c in credentials],
                "biometrics": {
                    "template": _describe_template(template),
                    "enrolment_photo": {
                        "held": photo is not None,
                        "description_fr": "photo d'inscription réduite, chiffrée (AES-GCM, "
                        "clé du site), montrée seulement à l'agent d'accueil pour le "
                        "contrôle visuel ; jamais comparée automatiquement"
                        if photo is not None else "aucune photo conservée",
                    },
                },
                "gate_events": [e.to_dict() for e in uow.gate_events.for_person(person_ref)],
                "incidents": _incidents(uow, person),
                "audit_entries": [
                    {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor,
                     "action": e.action, "target": e.target, "reason": e.reason,
                     "details": e.details}
                    for e in uow.audit.about(person_ref, [c.id for c in credentials])
                ],
            }  # fmt: skip
            uow.audit.append(
                AuditEvent(actor, AuditAction.SUBJECT_EXPORT, person_ref, reason,
                           {"events": len(data["gate_events"]),
                            "audit_entries": len(data["audit_entries"])}),
                now,
            )  # fmt: skip
            uow.commit()
        return data

    def erase(self, actor: str, person_ref: str, reason: str) -> Erasure:
        if not reason.strip():
            raise ConflictError("an erasure needs a reason (the request it answers)")
        now = self._clock.now()
        with self._uow() as uow:
            erasure = erase_person(uow, person_ref, now, actor, reason.strip())
            uow.commit()
        return erasure


def _incidents(uow: UnitOfWork, person: Person) -> list[dict[str, Any]]:
    """The incidents that name the person, with only the signals and notes that do (the
    rest of an incident may concern other people)."""
    wanted = [n.casefold() for n in needles(person)]

    def names(text: str) -> bool:
        return any(n in text.casefold() for n in wanted)

    found = []
    for incident_id, _open in uow.retention.incidents_naming(needles(person)):
        incident = uow.incidents.get(incident_id)
        if incident is None:
            continue
        found.append({
            "id": incident.id, "type": incident.type.value, "zone": incident.zone,
            "severity": incident.severity.name.lower(), "status": incident.status.value,
            "opened_at": incident.opened_at.isoformat(),
            "signals": [{"at": s.at.isoformat(), "source": s.source, "raw": s.raw}
                        for s in incident.signals if names(s.raw)],
            "notes": [{"at": tr.at.isoformat(), "by": tr.by, "action": tr.action.value,
                       "note": tr.note} for tr in incident.history if names(tr.note)],
        })  # fmt: skip
    return found


def _describe_template(template: Any) -> dict[str, Any]:
    if template is None:
        return {"held": False, "description_fr": "aucun gabarit conservé sur le site",
                "description_en": "no template held on the site"}  # fmt: skip
    return {
        "held": True,
        "storage": template.storage.value,
        "storage_fr": _STORAGE_FR[template.storage],
        "created_at": template.created_at.isoformat(),
        "encrypted_bytes": len(template.blob),
        "description_fr": "gabarit facial : une suite de nombres calculée depuis les photos "
        "d'inscription, qui ne permet pas de reconstituer le visage ; chiffré (AES-GCM), "
        "utilisé seulement pour vérifier que le porteur de la carte en est le titulaire (1:1)",
        "description_en": "face template: numbers computed from the enrolment photos, from "
        "which the face cannot be rebuilt; encrypted (AES-GCM), used only to verify that the "
        "card holder is its owner (1:1)",
    }
