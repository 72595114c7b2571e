"""The impact assessment (AIPD / DPIA) generated from the site's real configuration.

The document follows the CNIL's PIA method (contexte ; principes fondamentaux ;
risques ; validation) and is written in French first. Everything the software knows
is filled in from the running site: the gates and their template storage types, the
permission matrix, the retention periods in force, the counts of people, templates and
consents, the audit chain's state, the recorded reference. What only the data
controller can say (legal basis, necessity, the severity and likelihood of each risk,
the decision) is left as fields to fill in, marked as such, never invented.

The result is a plain :class:`DpiaDocument`; the HTML and PDF renderers live in
:mod:`seuil.adapters.reports`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from seuil.domain.accounts import SITE_ROLES, Role
from seuil.domain.credentials import TemplateStorage
from seuil.domain.impact_assessment import ImpactAssessment
from seuil.domain.permissions import MATRIX, Permission
from seuil.domain.retention import RULES, RetentionPolicy
from seuil.ports.clock import Clock
from seuil.ports.storage import UnitOfWork

TO_FILL = "[À compléter par le responsable de traitement]"

STORAGE_FR = {
    TemplateStorage.ON_CREDENTIAL: "sur la carte (aucun gabarit sur le site)",
    TemplateStorage.KEY_ON_CREDENTIAL: "base du site, chiffré par une clé portée par la carte",
    TemplateStorage.SITE_DATABASE: "base du site, chiffré par la clé du site",
    TemplateStorage.NONE: "aucun (parcours non biométrique)",
}

MODE_FR = {
    "verification": "vérification 1:1 (la carte, puis le visage la confirme)",
    "credential_only": "carte seule + contrôle visuel de l'agent",
    "identification": "identification 1:N (option soumise à AIPD)",
}

PERMISSION_FR: Mapping[Permission, str] = {
    Permission.VIEW_PEOPLE: "consulter les personnes",
    Permission.MANAGE_PEOPLE: "gérer les personnes",
    Permission.ENROL: "inscrire (photos, gabarit)",
    Permission.RECORD_CONSENT: "enregistrer le consentement",
    Permission.MANAGE_CREDENTIALS: "gérer les cartes",
    Permission.SYNC_ROSTER: "importer SIECLE / CSV",
    Permission.VIEW_AUDIT: "lire le journal d'audit",
    Permission.MANAGE_ACCOUNTS: "gérer les comptes",
    Permission.MANAGE_SETTINGS: "régler le site",
    Permission.VIEW_INCIDENTS: "voir les incidents",
    Permission.HANDLE_INCIDENTS: "traiter les incidents",
    Permission.CONTROL_PPMS: "déclencher le PPMS",
    Permission.VIEW_GATE_SCREEN: "écran de l'entrée (photo d'inscription)",
    Permission.DECIDE_AT_GATE: "décider à l'entrée",
    Permission.VIEW_DEVICES: "voir les équipements",
    Permission.MANAGE_DEVICES: "gérer les équipements",
    Permission.EXPORT_SUBJECT_DATA: "droits des personnes (export, effacement)",
    Permission.USE_API: "utiliser l'API",
}

# What the regional hub may receive: pseudonymous event fields only. If the hub
# package publishes its own allow-list, the caller passes that one instead.
DEFAULT_HUB_FIELDS = (
    "gate_id", "at", "decision", "reason", "person_ref (pseudonyme)", "mode",
    "incident: type, gravité, état, horodatages", "état des équipements",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GateFacts:
    """What the DPIA needs from one gate of the site configuration file."""

    id: str
    name: str
    mode: str
    storage: tuple[TemplateStorage, ...]
    impact_assessment_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    to_fill: tuple[str, ...] = ()  # questions only the controller can answer


@dataclass(frozen=True, slots=True)
class DpiaDocument:
    title: str
    site_name: str
    site_id: str
    generated_at: datetime
    sections: tuple[Section, ...]
    facts: dict[str, int] = field(default_factory=dict)


class DpiaService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        site_name: str,
        site_id: str,
        policy: RetentionPolicy,
        audit_state: Callable[[], tuple[bool, int]],
        hub_fields: Sequence[str] = DEFAULT_HUB_FIELDS,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._site_name = site_name
        self._site_id = site_id
        self._policy = policy
        self._audit_state = audit_state  # (chain verifies, entries verified)
        self._hub_fields = tuple(hub_fields)

    def generate(self, gates: Sequence[GateFacts]) -> DpiaDocument:
        now = self._clock.now()
        with self._uow() as uow:
            facts = uow.retention.inventory(now)
            recorded = uow.impact_assessments.current()
        chain_ok, chain_entries = self._audit_state()
        sections = (
            self._context(recorded),
            self._data(gates, facts),
            self._principles(),
            self._retention(),
            self._rights(facts),
            self._access(),
            self._security(chain_ok, chain_entries),
            *self._risks(),
            self._validation(),
        )
        return DpiaDocument(
            "Analyse d'impact relative à la protection des données (AIPD) - seuil",
            self._site_name, self._site_id, now, sections, facts,
        )  # fmt: skip

    # -- 1. contexte ---------------------------------------------------------------------
    def _context(self, recorded: ImpactAssessment | None) -> Section:
        ref = (
            f"{recorded.reference}, enregistrée par {recorded.recorded_by} "
            f"({recorded.role.label_fr}) le {recorded.recorded_at:%d/%m/%Y à %H:%M} UTC"
            if recorded
            else "aucune référence enregistrée (l'identification 1:N reste impossible)"
        )
        return Section(
            "1. Contexte : présentation du traitement (Context)",
            (
                f"Établissement : {self._site_name} (UAI {self._site_id}).",
                "Finalités : contrôler à chaque entrée que la personne qui présente une carte "
                "scolaire en est le titulaire (vérification faciale 1:1) ; refuser aussitôt les "
                "cartes révoquées ou expirées ; transformer les signaux de sûreté du site en "
                "incidents traités par le personnel ; tracer chaque accès aux données.",
                "Exclus par conception : toute identification par défaut, toute analyse "
                "d'émotion, d'âge, de genre ou d'attribut, toute liste de surveillance de "
                "personnes extérieures, tout transfert de donnée biométrique hors du site.",
                f"Référence de l'AIPD en vigueur : {ref}.",
            ),
            to_fill=(
                f"Responsable de traitement (nom, qualité) : {TO_FILL}",
                f"Délégué à la protection des données (contact) : {TO_FILL}",
                f"Sous-traitants éventuels (maintenance, hébergement) : {TO_FILL}",
            ),
        )

    # -- 2. données, processus, supports ---------------------------------------------------
    def _data(self, gates: Sequence[GateFacts], facts: Mapping[str, int]) -> Section:
        categories = Table(
            ("Catégorie", "Contenu", "Biométrique", "Support"),
            (
                ("Identité", "nom, prénom, classe, date de naissance, identifiant SIECLE",
                 "non", "base du site"),
                ("Consentement", "état, auteur (élève, responsable légal), version du "
                 "formulaire, référence du justificatif", "non", "base du site"),
                ("Cartes", "identifiant aléatoire, type, validité, numéro de badge",
                 "non", "base du site ; carte imprimée (QR signé)"),
                ("Gabarit facial", "vecteur de 128 nombres, chiffré AES-GCM", "oui",
                 "selon l'entrée : carte ou base du site (voir tableau suivant)"),
                ("Photo d'inscription", "photo réduite, chiffrée, montrée à l'agent",
                 "oui (image)", "base du site"),
                ("Événements d'entrée", "entrée, heure, décision, scores, pseudonyme",
                 "non (scores seulement)", "base du site"),
                ("Journal d'audit", "qui a fait quoi, sur quel pseudonyme, quand",
                 "non", "base du site, chaîné par hachage"),
            ),
        )  # fmt: skip
        storage = Table(
            ("Entrée", "Mode", "Stockage du gabarit", "Référence AIPD"),
            tuple(
                (
                    f"{g.name or g.id} ({g.id})", MODE_FR.get(g.mode, g.mode),
                    " ; ".join(STORAGE_FR[s] for s in g.storage),
                    g.impact_assessment_ref or "-",
                )
                for g in gates
            )
            or (("aucune entrée configurée", "-", "-", "-"),),
        )  # fmt: skip
        held = Table(
            ("Donnée", "Nombre"),
            tuple((key, str(value)) for key, value in sorted(facts.items())),
        )
        return Section(
            "2. Données, processus et supports (Data, processes, assets)",
            (
                "Catégories de données traitées, stockage du gabarit par entrée (les trois "
                "types décrits par la CNIL), et volumes réellement détenus à la date du "
                "document.",
            ),
            (categories, storage, held),
        )

    # -- 3. principes fondamentaux ---------------------------------------------------------
    def _principles(self) -> Section:
        return Section(
            "3. Proportionnalité et nécessité (Necessity and proportionality)",
            (
                "Minimisation : la vérification 1:1 est le mode par défaut ; le visage ne sert "
                "qu'à confirmer la carte présentée. L'identification 1:N n'est possible que "
                "par entrée, sur option, et refuse de démarrer sans la référence d'AIPD "
                "enregistrée par le chef d'établissement.",
                "Alternative non biométrique de même valeur : toute personne qui ne consent "
                "pas, ou retire son consentement, passe avec sa carte et le contrôle visuel "
                "de l'agent d'accueil, sans perte de service ni démarche supplémentaire.",
                "Consentement : recueilli par écrit (élève majeur, ou responsable légal), "
                "révocable à tout moment ; le retrait efface le gabarit et la photo "
                "immédiatement.",
            ),
            to_fill=(
                f"Base légale (art. 6 RGPD) : {TO_FILL}",
                f"Exception à l'interdiction (art. 9.2 RGPD, ex. consentement explicite) : "
                f"{TO_FILL}",
                f"Nécessité : pourquoi un moyen moins intrusif ne suffit pas : {TO_FILL}",
            ),
        )

    def _retention(self) -> Section:
        rows = tuple(
            (
                kind.value,
                f"{self._policy.days[kind]} jours",
                f"{rule.max_days} jours",
                rule.starts_fr,
                rule.source,
            )
            for kind, rule in RULES.items()
        )
        return Section(
            "4. Durées de conservation (Retention)",
            (
                "Durées en vigueur sur ce site ; la configuration ne peut pas dépasser la "
                "borne légale. La purge s'exécute automatiquement dans le processus du site "
                "et chaque passage est journalisé (nombres, jamais contenus). Les événements "
                "d'entrée sont pseudonymisés avant d'être supprimés.",
            ),
            (Table(("Donnée", "Durée", "Borne", "Point de départ", "Source"), rows),),
        )

    # -- droits et destinataires -----------------------------------------------------------
    def _rights(self, facts: Mapping[str, int]) -> Section:
        consents = Table(
            ("Consentement en vigueur", "Personnes"),
            (
                ("donné", str(facts.get("consents.given", 0))),
                ("refusé", str(facts.get("consents.refused", 0))),
                ("retiré", str(facts.get("consents.withdrawn", 0))),
            ),
        )
        hub = Table(("Champs transmis au centre régional",), tuple((f,) for f in self._hub_fields))
        hub_note = (
            " Le raccordement au centre régional n'est pas encore livré dans cette version : "
            "la liste est celle que le logiciel lui réservera."
            if self._hub_fields == DEFAULT_HUB_FIELDS
            else ""
        )
        return Section(
            "5. Droits des personnes et destinataires (Rights and recipients)",
            (
                "Droit d'accès : `seuil subject export` ou la page DPO produit tout ce que le "
                "site détient sur une personne (JSON et HTML) ; le gabarit est décrit, jamais "
                "copié. Droit à l'effacement : `seuil subject erase`, avec les exceptions "
                "légales consignées (incident ouvert, journal d'audit).",
                "Destinataires : le personnel habilité du lycée selon la matrice ci-après ; "
                "le centre régional ne reçoit que des événements pseudonymisés, jamais de "
                "gabarit ni d'image de visage (liste des champs autorisés)." + hub_note,
            ),
            (consents, hub),
        )

    def _access(self) -> Section:
        # The site's roles and what they may do (the hub's own roles and permissions are
        # the region's processing, not this site's).
        roles = [r for r in Role if r in SITE_ROLES]
        site_permissions = [p for p in Permission if any(p in MATRIX[r] for r in roles)]
        rows = tuple(
            (PERMISSION_FR.get(p, p.value), *("oui" if p in MATRIX[r] else "-" for r in roles))
            for p in site_permissions
        )
        return Section(
            "6. Qui accède à quoi (Access, from the permission matrix)",
            ("Tableau tiré de la matrice des permissions appliquée par le logiciel.",),
            (Table(("Permission", *(r.label_fr for r in roles)), rows),),
        )

    # -- mesures ---------------------------------------------------------------------------
    def _security(self, chain_ok: bool, chain_entries: int) -> Section:
        chain = (
            f"intacte ({chain_entries} entrées vérifiées)"
            if chain_ok
            else "ROMPUE : lancer `seuil audit verify`"
        )
        return Section(
            "7. Mesures de sécurité (Security measures)",
            (
                "Chiffrement : gabarits et photos chiffrés en AES-GCM (clé du site hors de la "
                "base, ou clé portée par la carte) ; cartes signées Ed25519 avec rotation des "
                "clés.",
                "Effacement sûr : suppression sécurisée SQLite (secure_delete) et troncature "
                "du journal WAL ; PostgreSQL : réécriture des tables purgées (VACUUM FULL).",
                f"Journal d'audit chaîné par hachage, points de reprise de purge enregistrés "
                f"dans la chaîne : état à la date du document : {chain}.",
                "Comptes nominatifs par rôle, mots de passe argon2, TOTP, sessions limitées, "
                "jetons d'API hachés ; aucune donnée personnelle dans les journaux techniques.",
                "Décision humaine : l'agent tranche les cas renvoyés ; aucune alarme "
                "d'intrusion complète sans confirmation humaine.",
            ),
        )

    def _risks(self) -> tuple[Section, ...]:
        risks = (
            ("Accès illégitime à des données (Illegitimate access)",
             "vol de la base, compte du personnel détourné, équipement compromis sur le "
             "réseau",
             "gabarits et photos chiffrés, clés hors base, rôles, audit de chaque lecture, "
             "aucune biométrie vers le centre régional"),
            ("Modification non désirée des données (Unwanted modification)",
             "altération du journal, fausse révocation, usurpation d'une carte",
             "journal chaîné et vérifiable, cartes signées, révocation immédiate, "
             "vérification 1:1 avec contrôle du vivant"),
            ("Disparition des données (Data loss)",
             "panne de la base, erreur de synchronisation SIECLE",
             "transactions atomiques, garde-fou contre les départs massifs, tampon disque "
             "des signaux, parcours non biométrique toujours disponible"),
        )  # fmt: skip
        return tuple(
            Section(
                f"8.{n} Risque : {title}",
                (f"Sources et menaces : {threats}.", f"Mesures existantes : {measures}."),
                to_fill=(
                    f"Impacts sur les personnes : {TO_FILL}",
                    f"Gravité (négligeable, limitée, importante, maximale) : {TO_FILL}",
                    f"Vraisemblance (négligeable, limitée, importante, maximale) : {TO_FILL}",
                ),
            )
            for n, (title, threats, measures) in enumerate(risks, start=1)
        )

    def _validation(self) -> Section:
        return Section(
            "9. Validation",
            ("Plan d'action et décision, selon la méthode de la CNIL.",),
            to_fill=(
                f"Avis du DPO : {TO_FILL}",
                f"Avis des personnes concernées ou de leurs représentants (CVL, CA) : {TO_FILL}",
                f"Décision du chef d'établissement, date et référence : {TO_FILL}",
            ),
        )
