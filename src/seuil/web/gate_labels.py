"""Gate decisions and their reasons in words staff read at a glance (French, English)."""

from __future__ import annotations

from collections.abc import Mapping

DECISIONS: Mapping[str, tuple[str, str]] = {
    "grant": ("ENTRÉE AUTORISÉE", "ACCESS GRANTED"),
    "deny": ("ENTRÉE REFUSÉE", "ACCESS DENIED"),
    "refer": ("À VÉRIFIER", "CHECK NEEDED"),
}

REASONS: Mapping[str, tuple[str, str]] = {
    "revoked": ("titre révoqué", "credential revoked"),
    "expired": ("titre expiré", "credential expired"),
    "not_yet_valid": ("titre pas encore valable", "credential not yet valid"),
    "forged": ("titre falsifié ou inconnu", "forged or unknown credential"),
    "wrong_site": ("titre d'un autre établissement", "credential of another school"),
    "malformed": ("titre illisible", "unreadable credential"),
    "unknown_badge": ("badge inconnu", "unknown badge"),
    "person_inactive": ("personne exclue, suspendue ou partie", "person excluded or gone"),
    "face_mismatch": ("le visage ne correspond pas", "face does not match"),
    "liveness_failed": ("contrôle du vivant échoué", "liveness check failed"),
    "no_face": ("aucun visage exploitable", "no usable face"),
    "device_fault": ("panne d'un équipement", "device fault"),
    "refer_band": ("ressemblance incertaine : comparez avec la photo",
                   "uncertain match: compare with the photo"),
    "non_biometric": ("sans biométrie : comparez avec la photo",
                      "non-biometric: compare with the photo"),
    "tailgating": ("passage à plusieurs", "tailgating"),
    "timeout": ("visage non vu à temps", "face not seen in time"),
    "several_credentials": ("plusieurs titres présentés", "several credentials shown"),
    "person_not_found": ("aucun titre présenté", "no credential shown"),
    "liveness_uncertain": ("contrôle du vivant incertain", "liveness uncertain"),
    "confinement": ("confinement PPMS : l'agent décide", "PPMS lockdown: the agent decides"),
    "unauthorised_passage": ("passage sans ouverture", "passage without an opening"),
}  # fmt: skip

# REFER reasons that are alerts, not a person waiting: somebody already went through, so
# there is nobody to let in or refuse, no credential and no photo; the screen says what
# happened and points to the incident it raised.
ALERTS: Mapping[str, tuple[str, str]] = {
    "unauthorised_passage": (
        "Passage sans ouverture : une personne est passée sans badge ni autorisation.",
        "Passage without an opening: someone went through with no badge and no authorisation.",
    ),
}
ALERT_VERDICT = ("ALERTE", "ALERT")

# REFER reasons (and the non-biometric path) that need the enrolment photo.
PHOTO_REASONS = frozenset(
    {"refer_band", "non_biometric", "liveness_uncertain", "timeout", "confinement"}
)


def decision_words(decision: str, lang: str, reason: str | None = None) -> str:
    fr, en = ALERT_VERDICT if is_alert(reason) else DECISIONS.get(decision, (decision, decision))
    return en if lang == "en" else fr


def is_alert(reason: str | None) -> bool:
    return reason in ALERTS


def alert_words(reason: str | None, lang: str) -> str:
    fr, en = ALERTS.get(reason or "", ("", ""))
    return en if lang == "en" else fr


def reason_words(reason: str | None, lang: str) -> str:
    if not reason:
        return ""
    fr, en = REASONS.get(reason, (reason, reason))
    return en if lang == "en" else fr


def needs_photo(decision: str, reason: str | None) -> bool:
    if is_alert(reason):
        return False
    return decision == "refer" or reason in PHOTO_REASONS
