"""The demonstration's choices: cards in the visitors' hands, videos to present."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.site_access import runtime_of, site_of


@dataclass(frozen=True, slots=True)
class CardChoice:
    credential_id: str
    label: str


@dataclass(frozen=True, slots=True)
class PresentationChoices:
    cards: list[CardChoice]
    videos: dict[str, list[str]]  # gate id -> the videos presented there

    def videos_at(self, gate_id: str) -> list[str]:
        return self.videos.get(gate_id, [])


def presentation_choices(request: Request, identity: Identity) -> PresentationChoices:
    """Cards of the demo wallet (names only for roles that see people), and videos."""
    runtime = runtime_of(request)
    site = site_of(request)
    cards = []
    names = identity.can(Permission.VIEW_PEOPLE)
    with site.reader() as uow:
        for credential_id in list(runtime.demo_wallet or {}):
            credential = uow.credentials.get(credential_id)
            if credential is None:
                continue
            label = f"{credential.person_ref} · {credential_id[:8]}"
            person = uow.people.get(credential.person_ref) if names else None
            if person is not None:
                label = f"{person.display_name} ({label})"
            state = " — révoquée" if credential.revoked_at else ""
            cards.append(CardChoice(credential_id, label + state))
    videos = {gate_id: runtime.videos_for(gate_id) for gate_id in runtime.presenters}
    return PresentationChoices(cards, videos)
