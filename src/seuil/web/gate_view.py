"""One gate decision as a screen shows it (server-rendered and over SSE alike)."""

from __future__ import annotations

from collections.abc import Mapping

from seuil.services.gate_desk import Holder
from seuil.web.gate_labels import decision_words, needs_photo, reason_words


def decision_view(
    event: Mapping[str, object], lang: str, holder: Holder | None
) -> dict[str, object]:
    decision = str(event.get("decision", ""))
    reason = event.get("reason")
    reason_text = reason if isinstance(reason, str) else None
    photo = needs_photo(decision, reason_text) and holder is not None and holder.has_photo
    return {
        "gate_id": event.get("gate_id"),
        "at": event.get("at"),
        "decision": decision,
        "reason": reason_text,
        "words": decision_words(decision, lang),
        "reason_words": reason_words(reason_text, lang),
        "credential_id": event.get("credential_id"),
        "person_ref": event.get("person_ref"),
        "decided_by": event.get("decided_by"),
        "mode": event.get("mode"),
        "holder": None if holder is None else {
            "name": holder.display_name, "group": holder.group, "ref": holder.ref,
        },
        "photo": photo,
        "check": needs_photo(decision, reason_text) and decision == "refer",
    }  # fmt: skip
