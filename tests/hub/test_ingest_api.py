"""Ingestion on both back-ends: exactly once per (site, seq), replays and reordering, and
every bad input of the issue refused with problem details, logged, nothing stored."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from tests.hub.conftest import OTHER, SITE, HubEnv, batch, envelope

from seuil.domain.hub import EventKind
from seuil.hub.tables import metadata


def test_the_hub_migrations_build_exactly_its_tables(env: HubEnv) -> None:
    with env.hub.db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [
            d
            for d in compare_metadata(context, metadata)
            if not (d[0] == "remove_table" and d[1].name == "hub_alembic_version")
        ]
        names = set(sa.inspect(conn).get_table_names())
    assert diff == []
    assert names == set(metadata.tables) | {"hub_alembic_version"}
    assert "people" not in names and "templates" not in names  # no biometric table at all


def test_a_batch_is_stored_once_and_a_replay_doubles_nothing(env: HubEnv) -> None:
    events = [envelope(1), envelope(2, EventKind.GATE_DENIAL), envelope(3, EventKind.GATE_COUNTS)]
    first = env.post(SITE, batch(events))
    assert first.status_code == 200, first.text
    assert first.json() | {"messages": []} == {
        "accepted": 3,
        "duplicates": 0,
        "acked": [1, 2, 3],
        "high_water": 3,
        "messages": [],
    }
    again = env.post(SITE, batch(events))  # the ack was lost: the site sends the same batch
    assert again.status_code == 200
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 3)
    assert again.json()["acked"] == [1, 2, 3]
    assert [(s, k) for s, k, _ in env.stored(SITE)] == [(e["seq"], e["key"]) for e in events]


def test_reordered_batches_are_accepted_and_never_roll_the_board_back(env: HubEnv) -> None:
    opened = envelope(1, EventKind.INCIDENT_OPENED)
    transition = envelope(2, EventKind.INCIDENT_TRANSITION)  # escalated, level 3
    later = env.post(SITE, batch([transition, envelope(4)]))
    assert later.json()["high_water"] == 0  # 1 and 3 are still missing
    earlier = env.post(SITE, batch([opened, envelope(3)]))
    assert earlier.json()["high_water"] == 4
    assert [s for s, _, _ in env.stored(SITE)] == [1, 2, 3, 4]
    with env.hub.uow() as uow:
        incident = uow.hub.incident(SITE, "I-20250901-0001")
    assert incident is not None
    assert (incident.site_status, incident.level) == ("escalated", 3)  # not back to "open"
    assert incident.opened_at.isoformat() == opened["occurred_at"]  # the late opening counts


@pytest.mark.parametrize("token", ["", "hub_wrong", "Bearer"])
def test_a_wrong_credential_is_refused_and_logged(
    env: HubEnv, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="seuil.hub"):
        response = env.post(SITE, batch([envelope(1)]), token=token)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] in ("site_credential_refused",)
    assert env.stored(SITE) == []
    assert "credential" in caplog.text or "no bearer token" in caplog.text
    assert env.tokens[SITE] not in caplog.text


def test_a_revoked_credential_and_an_unknown_site_are_refused(env: HubEnv) -> None:
    env.hub.service.revoke_site(SITE)
    assert env.post(SITE, batch([envelope(1)])).status_code == 401
    response = env.post("9999999Z", batch([envelope(1, site="9999999Z")]), token=env.tokens[SITE])
    assert response.status_code == 401
    assert env.stored(SITE) == [] and env.stored("9999999Z") == []
    new_token = env.hub.service.rotate_site_token(SITE)
    assert env.post(SITE, batch([envelope(1)]), token=new_token).status_code == 200


def test_a_site_sending_another_sites_events_is_refused(
    env: HubEnv, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="seuil.hub"):
        inside = env.post(SITE, batch([envelope(1), envelope(2, site=OTHER)]))
        declared = env.post(SITE, batch([envelope(1, site=OTHER)], site=OTHER))
        other_path = env.post(
            OTHER, batch([envelope(1, site=OTHER)], site=OTHER), token=env.tokens[SITE]
        )
    assert (inside.status_code, declared.status_code, other_path.status_code) == (403, 403, 401)
    assert inside.json()["code"] == "foreign_site_events"
    assert env.stored(SITE) == [] and env.stored(OTHER) == []
    assert "another site" in caplog.text


def test_a_reused_sequence_number_with_another_key_is_a_conflict(env: HubEnv) -> None:
    assert env.post(SITE, batch([envelope(1), envelope(2)])).status_code == 200
    stored = env.stored(SITE)
    response = env.post(SITE, batch([envelope(2), envelope(3)]))  # 2 with a new key
    assert response.status_code == 409
    assert response.json()["code"] == "sequence_conflict"
    assert env.stored(SITE) == stored  # 3 was not stored either


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ([1, 2], "malformed_batch"),
        ({"site": SITE, "events": []}, "malformed_batch"),
        ({"site": SITE, "events": "x"}, "malformed_batch"),
        ({"site": SITE, "events": [{"seq": 1}]}, "malformed_batch"),
        ({"site": SITE, "events": [], "extra": 1}, "malformed_batch"),
        ({"site": SITE, "events": [None] * 501}, "malformed_batch"),
        ({"site": SITE, "events": [1], "messages_after": -1}, "malformed_batch"),
    ],
)
def test_malformed_batches_are_refused(env: HubEnv, payload: object, code: str) -> None:
    response = env.post(SITE, payload)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert env.stored(SITE) == []


def test_a_forbidden_field_in_one_event_refuses_the_whole_batch(
    env: HubEnv, caplog: pytest.LogCaptureFixture
) -> None:
    bad = envelope(2, EventKind.GATE_DENIAL)
    bad["body"]["template"] = "AAAAAAAA"  # a template must never cross
    with caplog.at_level(logging.WARNING, logger="seuil.hub"):
        response = env.post(SITE, batch([envelope(1), bad]))
    assert response.status_code == 422
    assert "event 1" in response.json()["detail"] and "never leave" in response.json()["detail"]
    assert env.stored(SITE) == []
    assert "AAAAAAAA" not in caplog.text  # bodies are never logged


def test_not_json_and_oversized_bodies_are_refused(
    env: HubEnv, caplog: pytest.LogCaptureFixture
) -> None:
    client = env.client()
    headers = {"Authorization": f"Bearer {env.tokens[SITE]}"}
    url = f"/hub/api/v1/sites/{SITE}/events"
    garbled = client.post(
        url, content=b"{not json", headers=headers | {"content-type": "application/json"}
    )
    assert garbled.status_code == 422 and garbled.json()["code"] == "malformed_batch"
    form = client.post(url, content=b"a=1", headers=headers | {"content-type": "text/plain"})
    assert form.status_code == 422
    big = json.dumps(batch([envelope(i) for i in range(1, 500)])).encode() + b" " * 200_000
    with caplog.at_level(logging.WARNING):
        oversized = client.post(
            url, content=big, headers=headers | {"content-type": "application/json"}
        )
    assert oversized.status_code == 413
    assert oversized.json()["code"] == "payload_too_large"
    assert "over 200000 bytes" in caplog.text
    assert env.stored(SITE) == []


def test_messages_go_back_on_the_ack_and_by_polling(env: HubEnv) -> None:
    admin = env.account("admin")
    assert (
        env.hub.service.send_alert(admin, "Confinement conseillé", "Toulon centre", "Toulon") == 2
    )
    env.hub.service.send_alert(admin, "Exercice régional", "")
    answer = env.post(SITE, batch([envelope(1)])).json()
    assert [(m["kind"], m["body"]["title"]) for m in answer["messages"]] == [
        ("alert", "Confinement conseillé"),
        ("alert", "Exercice régional"),
    ]
    last = answer["messages"][-1]["id"]
    client = env.client()
    headers = {"Authorization": f"Bearer {env.tokens[OTHER]}"}
    polled = client.get(f"/hub/api/v1/sites/{OTHER}/messages?after=0", headers=headers).json()
    assert len(polled["messages"]) == 2 and polled["messages"][0]["site"] == OTHER
    after = client.get(
        f"/hub/api/v1/sites/{SITE}/messages?after={last}",
        headers={"Authorization": f"Bearer {env.tokens[SITE]}"},
    ).json()
    assert after["messages"] == []
    refused = client.get(f"/hub/api/v1/sites/{SITE}/messages", headers=headers)
    assert refused.status_code == 401
