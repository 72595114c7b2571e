"""REST API v1 with an API token: people, consent, credentials, roster, audit, tokens."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Web
from tests.web.test_pages import ROSTER

from seuil.domain.permissions import Permission

FORBIDDEN_FIELDS = {
    "template", "templates", "embedding", "payload", "photo", "image", "face", "password",
    "password_hash", "totp_secret", "token_hash", "csrf_secret", "secret", "text", "qr",
    "qr_text", "key", "signing_key", "blob",
}  # fmt: skip


def _token(web: Web, *scopes: Permission) -> dict[str, str]:
    admin = web.accounts.login("admin", "correct horse battery").account
    created = web.accounts.create_token(admin, "tests", scopes or list(Permission))
    return {"Authorization": f"Bearer {created.secret}"}


def _properties(schema: Any, path: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            found.append((path, name))
            found += _properties(sub, f"{path}.{name}")
        for key, sub in schema.items():
            if key != "properties":
                found += _properties(sub, path)
    elif isinstance(schema, list):
        for sub in schema:
            found += _properties(sub, path)
    return found


def test_no_response_schema_can_carry_a_template_or_secret(web: Web) -> None:
    spec = web.client().get("/api/v1/openapi.json").json()
    responses = [r for p in spec["paths"].values() for op in p.values()
                 for r in op.get("responses", {}).values()]  # fmt: skip
    schemas = spec["components"]["schemas"]
    names = {n for _, n in _properties(schemas)} | {n for _, n in _properties(responses)}
    assert names & FORBIDDEN_FIELDS == set()
    assert len(names) > 40  # the walk does see the fields


def test_people_consent_credentials(web: Web) -> None:
    client = web.client()
    auth = _token(web)
    created = client.post(
        "/api/v1/people",
        headers=auth,
        json={"last_name": "Martin", "first_name": "Léa", "group": "2NDE1", "external_id": "77"},
    )
    assert created.status_code == 201, created.text
    ref = created.json()["ref"]
    page = client.get("/api/v1/people?limit=1&offset=0", headers=auth).json()
    assert page["total"] == 1 and page["items"][0]["ref"] == ref
    assert client.get(f"/api/v1/people/{ref}", headers=auth).json()["last_name"] == "Martin"
    dup = client.post(
        "/api/v1/people",
        headers=auth,
        json={"last_name": "Martin", "first_name": "Léa", "external_id": "77"},
    )
    assert dup.status_code == 409
    assert dup.headers["content-type"] == "application/problem+json"
    assert dup.json()["code"] == "conflict"
    missing = client.get("/api/v1/people/P-NOPE", headers=auth)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    bad = client.post(f"/api/v1/people/{ref}/consent", headers=auth, json={"state": "perhaps"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    consent = client.post(
        f"/api/v1/people/{ref}/consent",
        headers=auth,
        json={"state": "given", "given_by": "guardian", "form_version": "2025-1"},
    )
    assert consent.status_code == 201
    assert client.get(f"/api/v1/people/{ref}/consent", headers=auth).json()[0]["state"] == "given"
    issued = client.post(f"/api/v1/people/{ref}/credentials", headers=auth)
    assert issued.status_code == 201 and set(issued.json()) & FORBIDDEN_FIELDS == set()
    cid = issued.json()["id"]
    revoked = client.post(f"/api/v1/credentials/{cid}/revoke", headers=auth,
                          json={"reason": "lost"})  # fmt: skip
    assert revoked.json()["revocation_reason"] == "lost"
    listed = client.get(f"/api/v1/people/{ref}/credentials", headers=auth).json()
    assert [c["revoked_at"] is not None for c in listed] == [True]


def test_roster_dry_run_then_apply_and_audit(web: Web) -> None:
    client = web.client()
    auth = _token(web)
    files = {"file": (ROSTER.name, ROSTER.read_bytes(), "text/csv")}
    dry = client.post("/api/v1/roster/sync", headers=auth, files=files).json()
    assert dry["applied"] is False and dry["counts"]["arrivals"] >= 3
    assert client.get("/api/v1/people", headers=auth).json()["total"] == 0
    done = client.post("/api/v1/roster/sync?dry_run=false", headers=auth, files=files).json()
    assert done["applied"] is True
    assert client.get("/api/v1/people", headers=auth).json()["total"] == dry["counts"]["arrivals"]
    garbage = client.post("/api/v1/roster/sync", headers=auth,
                          files={"file": ("x.csv", b"\x00\x01garbage", "text/csv")})  # fmt: skip
    assert garbage.status_code == 422 and garbage.json()["code"] == "data_format_error"
    entries = client.get("/api/v1/audit?action=roster.*", headers=auth).json()
    assert [e["action"] for e in entries] == ["roster.sync"]
    assert client.get("/api/v1/audit/verify", headers=auth).json()["ok"] is True


def test_token_scopes_limit_and_revocation(web: Web) -> None:
    client = web.client()
    auth = _token(web, Permission.VIEW_PEOPLE)
    assert client.get("/api/v1/people", headers=auth).status_code == 200
    refused = client.get("/api/v1/audit", headers=auth)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert client.post("/api/v1/people", headers=auth, json={}).status_code == 403
    tokens = client.get("/api/v1/tokens", headers=auth).json()
    assert "token" not in tokens[0] and tokens[0]["scopes"] == ["use_api", "view_people"]
    assert client.delete(f"/api/v1/tokens/{tokens[0]['id']}", headers=auth).status_code == 200
    assert client.get("/api/v1/people", headers=auth).status_code == 401
    bogus = client.get("/api/v1/people", headers={"Authorization": "Bearer seuil_forged"})
    assert bogus.status_code == 401 and bogus.json()["code"] == "authentication_required"
