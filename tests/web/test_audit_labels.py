"""Every audit action the code writes has words on the audit page (French first, English
second); the page shows them with the code, which admins filter on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from tests.web.conftest import Web, csrf_of

import seuil
from seuil.domain.audit_actions import AuditAction, incident_action
from seuil.domain.incidents import Action
from seuil.domain.people import PersonKind
from seuil.hub.service import NEXT_STATE
from seuil.web.labels import LABELS, label

SOURCE = Path(seuil.__file__).parent


def test_every_audit_action_has_french_and_english_words() -> None:
    words = LABELS["audit_action"]
    missing = sorted(a.value for a in AuditAction if a.value not in words)
    assert not missing, f"audit actions without a label in web/labels.py: {missing}"
    stale = sorted(set(words) - {a.value for a in AuditAction})
    assert not stale, f"labels for audit actions nothing writes: {stale}"
    for code, (fr, en) in words.items():
        assert fr.strip() and en.strip() and fr != code, code


def test_the_codes_built_at_run_time_are_members() -> None:
    assert {incident_action(a) for a in Action} <= set(AuditAction)
    for state in set(NEXT_STATE.values()):  # what a mediator's step writes (hub/service.py)
        AuditAction(f"hub.assignment.{state.value}")  # ValueError when one is missing


def _action_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "action":
            return keyword.value
    return call.args[1] if len(call.args) > 1 else None


def _written_as_text() -> list[str]:
    """``AuditEvent(..)`` calls in the source whose action is a literal or built text."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "AuditEvent"):
                continue
            action = _action_argument(node)
            if isinstance(action, ast.Constant | ast.JoinedStr | ast.BinOp):
                found.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    return found


def test_no_code_writes_an_action_as_free_text() -> None:
    """The enumeration is the whole list only if every writer uses it (mypy checks the
    type; this catches a literal). The walk sees the writers: there are dozens."""
    written = _written_as_text()
    assert not written, f"audit actions written as text, use AuditAction: {written}"
    calls = sum(
        1
        for path in SOURCE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "AuditEvent"
    )
    assert calls >= 50


def test_the_walk_would_see_a_free_text_action() -> None:
    tree = ast.parse('AuditEvent("cpe", "person.new_thing", "P-1")\nAuditEvent("x", f"a.{b}")')
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert all(isinstance(_action_argument(c), ast.Constant | ast.JoinedStr) for c in calls)


@pytest.mark.parametrize(
    ("lang", "words"), [("fr", "consentement enregistré"), ("en", "consent recorded")]
)
def test_the_audit_page_shows_words_and_code_and_still_filters(
    web: Web, lang: str, words: str
) -> None:
    person = web.site.people.create("cpe", PersonKind.PUPIL, "Martin", "Léa")
    client = web.login()
    client.headers["Accept-Language"] = lang
    page = client.get(f"/people/{person.ref}")
    assert page.status_code == 200
    client.post(f"/people/{person.ref}/consent", data={
        "state": "given", "given_by": "guardian", "form_version": "v2",
        "csrf_token": csrf_of(page.text)})  # fmt: skip
    audit = client.get("/audit?action=consent.*").text
    assert f'{words}<br><code class="small">consent.record</code>' in audit
    assert "person.create" not in audit.split("<tbody>")[1]  # the filter still applies
    everything = client.get("/audit").text
    assert label("audit_action", "person.create", lang) in everything
    assert '<code class="small">person.create</code>' in everything
    assert '<option value="person.search">' in everything  # codes offered to the filter
