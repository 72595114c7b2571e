"""The shared navigation: one entry per area, shown only to those who may use it.

Areas added later (incidents, gate screen, devices, settings) add a line here and a
router module in ``routes/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from seuil.domain.permissions import Permission


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    permission: Permission
    fr: str
    en: str


NAV = (
    NavItem("/gate", Permission.VIEW_GATE_SCREEN, "Portiques", "Gates"),
    NavItem("/incidents", Permission.VIEW_INCIDENTS, "Incidents", "Incidents"),
    NavItem("/people", Permission.VIEW_PEOPLE, "Personnes", "People"),
    NavItem("/roster", Permission.SYNC_ROSTER, "Import SIECLE / CSV", "Roster import"),
    NavItem("/audit", Permission.VIEW_AUDIT, "Journal d'audit", "Audit trail"),
    NavItem("/devices", Permission.VIEW_DEVICES, "Équipements", "Devices"),
    NavItem("/settings", Permission.MANAGE_SETTINGS, "Réglages", "Settings"),
    NavItem("/accounts", Permission.MANAGE_ACCOUNTS, "Comptes", "Accounts"),
    NavItem("/account/tokens", Permission.USE_API, "Jetons d'API", "API tokens"),
)
