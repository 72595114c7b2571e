"""The permission matrix: documented as it is, and no personal data for the region."""

from __future__ import annotations

from pathlib import Path

import pytest

from seuil.domain.accounts import HUB_ROLES, Role
from seuil.domain.permissions import HUB_PERMISSIONS, MATRIX, Permission, allowed

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"


def _doc_matrix() -> dict[tuple[str, str], bool]:
    lines = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    cells: dict[tuple[str, str], bool] = {}
    for line in lines[2:]:
        row = [cell.strip() for cell in line.strip("|").split("|")]
        for role, mark in zip(header[1:], row[1:], strict=True):
            assert mark in ("✔", "·"), f"unexpected mark {mark!r} in docs/roles.md"
            cells[(role, row[0])] = mark == "✔"
    return cells


def test_docs_table_is_the_matrix() -> None:
    expected = {(r.value, p.value): allowed(r, p) for r in Role for p in Permission}
    assert _doc_matrix() == expected


def test_every_role_has_a_row_in_the_matrix() -> None:
    assert set(MATRIX) == set(Role)


def test_regional_operator_sees_no_personal_data_and_changes_nothing() -> None:
    held = MATRIX[Role.REGIONAL_OPERATOR]
    assert not [p for p in held if p.personal_data]
    # On a site it only reads; what it handles is on the hub.
    assert held - HUB_PERMISSIONS <= {Permission.VIEW_INCIDENTS, Permission.VIEW_DEVICES}


@pytest.mark.parametrize("role", sorted(HUB_ROLES - {Role.ADMIN}))
def test_hub_roles_hold_no_personal_data_and_nothing_of_a_site(role: Role) -> None:
    held = MATRIX[role]
    assert not [p for p in held if p.personal_data]
    assert held - HUB_PERMISSIONS <= {Permission.VIEW_INCIDENTS, Permission.VIEW_DEVICES}
    assert not any(p.personal_data for p in HUB_PERMISSIONS)


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.GATE_AGENT])
def test_roles_without_people_search(role: Role) -> None:
    assert not allowed(role, Permission.VIEW_PEOPLE)


def test_only_admin_manages_accounts() -> None:
    assert [r for r in Role if allowed(r, Permission.MANAGE_ACCOUNTS)] == [Role.ADMIN]
