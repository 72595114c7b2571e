"""The hub's navigation (the site's base template draws it, filtered by permission)."""

from __future__ import annotations

from seuil.domain.permissions import Permission
from seuil.web.nav import NavItem

HUB_NAV = (
    NavItem("/board", Permission.HUB_VIEW, "Tableau régional", "Regional board"),
    NavItem("/incidents", Permission.HUB_VIEW, "Incidents", "Incidents"),
    NavItem("/mediator", Permission.HUB_MEDIATE, "Mes missions", "My assignments"),
    NavItem("/alerts", Permission.HUB_MANAGE, "Alertes régionales", "Regional alerts"),
    NavItem("/sites", Permission.HUB_MANAGE, "Établissements", "Schools"),
    NavItem("/accounts", Permission.MANAGE_ACCOUNTS, "Comptes", "Accounts"),
)
