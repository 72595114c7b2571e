"""Words for the raw values pages show (enum values, severities, health keys) and local
time, French first, English second.

Templates call ``label(group, value)`` and ``local(moment)`` (see ``templating.py``): a
value without words falls back to itself, so a new enum member shows up rather than
breaking a page; ``None`` shows as a dash.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
DASH = "—"

LABELS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "incident_status": {
        "open": ("ouvert", "open"), "acknowledged": ("acquitté", "acknowledged"),
        "escalated": ("escaladé", "escalated"), "resolved": ("clos", "resolved"),
    },
    "severity": {
        "0": ("information", "information"), "1": ("faible", "low"),
        "2": ("moyenne", "medium"), "3": ("haute", "high"), "4": ("critique", "critical"),
        "info": ("information", "information"), "low": ("faible", "low"),
        "medium": ("moyenne", "medium"), "high": ("haute", "high"),
        "critical": ("critique", "critical"),
    },
    "level": {
        "0": ("agent d'accueil", "gate agent"), "1": ("vie scolaire (CPE)", "vie scolaire (CPE)"),
        "2": ("chef d'établissement", "head of school"),
        "3": ("centre opérationnel régional", "regional operations centre"),
    },
    "incident_type": {
        "panic": ("alerte panique", "panic alert"), "duress": ("alerte sous contrainte", "duress"),
        "intrusion": ("intrusion", "intrusion"), "fire": ("incendie", "fire"),
        "tamper": ("sabotage d'équipement", "tamper"),
        "power": ("défaut d'alimentation", "power fault"),
        "periodic_test": ("test cyclique", "periodic test"),
        "device_silent": ("équipement muet", "silent device"),
        "deny_revoked": ("refus : titre révoqué", "denied: credential revoked"),
        "deny_mismatch": ("refus : visage non concordant", "denied: face mismatch"),
        "liveness_failure": ("échec du contrôle du vivant", "liveness failure"),
        "tailgating": ("passage en talonnage", "tailgating"),
        "door_forced": ("porte forcée", "door forced"),
        "door_held_open": ("porte maintenue ouverte", "door held open"),
        "camera_offline": ("caméra hors ligne", "camera offline"),
        "unknown": ("code inconnu", "unknown code"),
    },
    "incident_action": {
        "open": ("ouverture", "opened"), "acknowledge": ("acquittement", "acknowledged"),
        "escalate": ("escalade", "escalated"), "resolve": ("clôture", "resolved"),
        "confirm": ("intrusion confirmée", "intrusion confirmed"),
    },
    "signal_code": {  # a lane alert's code on its incident signal (others show as sent)
        "tailgating": ("passage en talonnage", "tailgating"),
        "door_forced": ("porte forcée", "door forced"),
        "door_held_open": ("porte maintenue ouverte", "door held open"),
        "unauthorised_passage": ("passage sans ouverture", "passage without an opening"),
    },
    "signal_kind": {
        "event": ("événement", "event"), "restore": ("retour à la normale", "restore"),
        "repeat": ("répétition", "repeat"),
    },
    "notification_status": {
        "pending": ("en attente", "pending"), "sent": ("envoyée", "sent"),
        "failed": ("en échec", "failed"),
    },
    "person_status": {
        "active": ("actif", "active"), "suspended": ("suspendu", "suspended"),
        "excluded": ("exclu", "excluded"), "left": ("parti", "left"),
    },
    "consent_state": {
        "given": ("donné", "given"), "refused": ("refusé", "refused"),
        "withdrawn": ("retiré", "withdrawn"),
    },
    "consent_giver": {
        "self": ("la personne elle-même", "the person"),
        "guardian": ("le représentant légal", "the legal guardian"),
    },
    "credential_kind": {"qr": ("QR code", "QR code"), "badge": ("badge", "badge")},
    "storage": {
        "on_credential": ("sur le titre", "on the credential"),
        "key_on_credential": ("clé sur le titre", "key on the credential"),
        "site_database": ("base du site", "site database"),
        "none": ("sans biométrie", "non-biometric"),
    },
    "revocation": {
        "left": ("départ", "left"), "excluded": ("exclusion", "excluded"),
        "suspended": ("suspension", "suspended"), "lost": ("perte", "lost"),
        "consent_withdrawn": ("retrait du consentement", "consent withdrawn"),
        "replaced": ("remplacé", "replaced"), "administrative": ("administratif", "administrative"),
    },
    "device_kind": {
        "alarm_panel": ("centrale d'alarme", "alarm panel"),
        "panic_button": ("bouton d'alerte", "panic button"),
        "call_post": ("borne d'appel", "call post"), "sensor": ("capteur", "sensor"),
        "camera": ("caméra", "camera"), "door": ("porte", "door"), "gate": ("portique", "gate"),
    },
    "device_channel": {  # the prefix of a device's id: how the site hears it
        "sia": ("centrale SIA DC-09", "SIA DC-09 panel"), "mqtt": ("MQTT", "MQTT"),
        "webhook": ("appel d'URL", "URL call"), "gate": ("portique seuil", "seuil gate"),
    },
    "camera_kind": {
        "rtsp": ("caméra IP (RTSP)", "IP camera (RTSP)"),
        "mjpeg": ("caméra IP (MJPEG)", "IP camera (MJPEG)"),
        "webcam": ("webcam locale", "local webcam"), "file": ("vidéo rejouée", "replayed video"),
        "presentation": ("caméra simulée (démonstration)", "simulated camera (demonstration)"),
    },
    "liveness": {  # a gate's presentation-attack check (GateInfo.liveness)
        "on": ("Contrôle du vivant : actif — un visage rejoué sur un écran est refusé.",
               "Liveness check: on — a face replayed on a screen is refused."),
        "off": ("Contrôle du vivant : désactivé — cette caméra rejoue des vidéos enregistrées, "
                "que le contrôle jugerait à raison comme un rejeu ; une caméra réelle le "
                "vérifie toujours (la configuration l'impose).",
                "Liveness check: off — this camera replays recorded videos, which the check "
                "would rightly judge as a replay; a real camera always checks it (the "
                "configuration requires it)."),
    },
    "demo_video": {  # what the demonstration's presentation cameras can play
        "obama": ("obama — enregistrement diffusé", "obama — broadcast recording"),
        "biden": ("biden — enregistrement diffusé", "biden — broadcast recording"),
        "hamilton": ("hamilton — enregistrement diffusé", "hamilton — broadcast recording"),
        "real2": ("real2 — personne réelle filmée par une webcam",
                  "real2 — a live person filmed by a webcam"),
        "fake2": ("fake2 — la même personne rejouée sur un écran de téléphone",
                  "fake2 — the same person replayed on a phone screen"),
    },
    "health": {
        "state": ("état", "state"), "frames": ("images reçues", "frames"),
        "dropped": ("images sautées", "dropped frames"),
        "reconnects": ("reconnexions", "reconnects"),
        "last_error": ("dernière erreur", "last error"),
    },
    "source_state": {
        "stopped": ("arrêtée", "stopped"), "connecting": ("connexion…", "connecting"),
        "streaming": ("en service", "streaming"), "stalled": ("bloquée", "stalled"),
        "disconnected": ("déconnectée", "disconnected"), "failed": ("en panne", "failed"),
        "ended": ("fin de la vidéo", "ended"), "absent": ("absente", "absent"),
    },
    "gate_mode": {
        "verification": ("vérification (1:1)", "verification (1:1)"),
        "credential_only": ("titre seul", "credential only"),
        "identification": ("identification (1:N)", "identification (1:N)"),
    },
    "hub_message": {
        "ack": ("accusé de réception du centre régional", "regional centre acknowledgement"),
        "assignment": ("médiateur affecté", "mediator assigned"),
        "alert": ("alerte régionale", "regional alert"),
    },
    "hub_state": {
        "acknowledged": ("pris en compte par le centre régional", "acknowledged by the region"),
        "police_17": ("police appelée (17)", "police called (17)"),
        "police_112": ("secours appelés (112)", "emergency called (112)"),
        "closed_by_region": ("clos par le centre régional", "closed by the region"),
        "assigned": ("médiateur désigné", "mediator assigned"),
        "accepted": ("mission acceptée", "assignment accepted"),
        "on_site": ("médiateur sur place", "mediator on site"),
        "done": ("mission terminée", "assignment done"),
        "cancelled": ("mission annulée", "cancelled"),
    },
    "audit_action": {
        "setup.token": ("jeton d'installation créé", "setup token created"),
        "setup.refused": ("installation refusée", "setup refused"),
        "account.create": ("compte créé", "account created"),
        "account.update": ("compte modifié", "account updated"),
        "account.totp_enable": ("double authentification activée", "two-factor enabled"),
        "login.success": ("connexion", "sign-in"),
        "login.failure": ("échec de connexion", "failed sign-in"),
        "login.lock": ("connexion verrouillée", "sign-in locked"),
        "login.throttled": ("connexion freinée", "sign-in throttled"),
        "login.second_factor": ("second facteur validé", "second factor passed"),
        "logout": ("déconnexion", "sign-out"),
        "password.change": ("mot de passe changé", "password changed"),
        "password.change_refused": ("changement de mot de passe refusé",
                                    "password change refused"),
        "token.create": ("jeton d'API créé", "API token created"),
        "token.revoke": ("jeton d'API révoqué", "API token revoked"),
        "person.create": ("personne créée", "person created"),
        "person.read": ("fiche consultée", "record viewed"),
        "person.search": ("recherche de personnes", "people search"),
        "person.update": ("fiche modifiée", "record updated"),
        "person.status": ("statut modifié", "status changed"),
        "roster.sync": ("import de la base élèves", "roster import"),
        "consent.record": ("consentement enregistré", "consent recorded"),
        "consent.read": ("consentements consultés", "consent viewed"),
        "enrolment.create": ("enrôlement du visage", "face enrolment"),
        "enrolment.refused": ("enrôlement refusé", "enrolment refused"),
        "photo.read": ("photo d'enrôlement affichée", "enrolment photo shown"),
        "biometrics.erase": ("données biométriques effacées", "biometric data erased"),
        "credential.issue": ("titre délivré", "credential issued"),
        "credential.print": ("titre imprimé", "credential printed"),
        "credential.list": ("titres consultés", "credentials viewed"),
        "credential.revoke": ("titre révoqué", "credential revoked"),
        "keys.rotate": ("nouvelle clé de signature", "signing key rotated"),
        "keys.retire": ("clé de signature retirée", "signing key retired"),
        "gate.settle": ("décision au portique", "gate decision settled"),
        "incident.signal": ("signal d'incident", "incident signal"),
        "incident.open": ("incident ouvert", "incident opened"),
        "incident.acknowledge": ("incident acquitté", "incident acknowledged"),
        "incident.escalate": ("incident escaladé", "incident escalated"),
        "incident.resolve": ("incident clos", "incident resolved"),
        "incident.confirm": ("intrusion confirmée", "intrusion confirmed"),
        "ppms.enter": ("déclenchement PPMS", "PPMS triggered"),
        "ppms.end": ("fin d'alerte PPMS", "PPMS ended"),
        "ppms.fire": ("évacuation incendie", "fire evacuation"),
        "ppms.door_failed": ("porte non commandée (PPMS)", "door command failed (PPMS)"),
        "notification.failed": ("notification en échec", "notification failed"),
        "settings.heightened": ("vigilance renforcée", "heightened vigilance"),
        "subject.export": ("export des données d'une personne", "subject access export"),
        "subject.erase": ("effacement des données d'une personne", "subject erasure"),
        "dpia.record": ("analyse d'impact enregistrée", "impact assessment recorded"),
        "retention.purge": ("purge des durées de conservation", "retention purge"),
        "audit.read": ("journal d'audit consulté", "audit trail read"),
        "audit.verify": ("chaîne d'audit vérifiée", "audit chain verified"),
        "audit.purge": ("entrées d'audit purgées", "audit entries purged"),
        "hub.site.add": ("établissement ajouté", "site added"),
        "hub.site.token": ("jeton d'établissement émis", "site token issued"),
        "hub.site.revoke": ("établissement révoqué", "site revoked"),
        "hub.incident.ack": ("pris en compte par le centre régional",
                             "acknowledged by the region"),
        "hub.incident.police": ("appel police ou secours", "police or emergency call"),
        "hub.incident.close": ("clos par le centre régional", "closed by the region"),
        "hub.assign": ("médiateur désigné", "mediator assigned"),
        "hub.assignment.accepted": ("mission acceptée", "assignment accepted"),
        "hub.assignment.on_site": ("médiateur sur place", "mediator on site"),
        "hub.assignment.done": ("mission terminée", "assignment done"),
        "hub.availability": ("disponibilité du médiateur", "mediator availability"),
        "hub.alert": ("alerte régionale", "regional alert"),
    },
}  # fmt: skip


def label(group: str, value: object, lang: str) -> str:
    """The words for ``value`` in ``group``; the value itself when it has none."""
    if value is None or value == "":
        return DASH
    key = value.value if isinstance(value, Enum) else value
    words = LABELS.get(group, {}).get(str(key))
    if words is None:
        return str(key)
    return words[1] if lang == "en" else words[0]


def local(moment: datetime | str | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """``moment`` (aware datetime or ISO text) in Paris time; a naive one is taken as UTC."""
    if moment is None or moment == "":
        return DASH
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(PARIS).strftime(fmt)
