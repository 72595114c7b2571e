"""One gate decision as a screen shows it (server-rendered and over SSE alike).

An alert (a passage with no opening) is not a person waiting: it has no holder, no
photo and no agent's call (``check``), and carries the alert's sentence (``alert``)."""

from __future__ import annotations

from collections.abc import Mapping

from seuil.services.gate_desk import Holder
from seuil.web.gate_labels import alert_words, decision_words, needs_photo, reason_words


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
        "words": decision_words(decision, lang, reason_text),
        "reason_words": reason_words(reason_text, lang),
        "credential_id": event.get("credential_id"),
        "person_ref": event.get("person_ref"),
        "decided_by": event.get("decided_by"),
        "mode": event.get("mode"),
        "holder": None if holder is None else {
            "name": holder.display_name, "group": holder.group, "ref": holder.ref,
        },
        "photo": photo,
        # the agent's call (let in / refuse): for a person waiting, never for an alert
        "check": needs_photo(decision, reason_text) and decision == "refer",
        "alert": alert_words(reason_text, lang),
    }  # fmt: skip
