"""Schemathesis over the hub's API (its OpenAPI document): never a 5xx.

Each operation is exercised with generated requests twice: as generated (unknown sites,
odd paths: refusals), and with the path's site set to a registered one and its real
bearer token, so the fuzzer reaches the batch's parsing and the protocol's allow-list
(the site's events and messages), and with a staff API token for the JSON board. On
SQLite, as the site's fuzz test (PostgreSQL refuses NUL bytes in text)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from tests.hub.conftest import SITE, HubEnv
from tests.web.conftest import PASSWORD

from seuil.domain.permissions import Permission

MAX_EXAMPLES = 40


@pytest.mark.parametrize("hub_url", ["sqlite"], indirect=True)
def test_no_server_error_on_any_hub_operation(env: HubEnv) -> None:
    admin = env.hub.accounts.login("admin", PASSWORD).account  # a hub role with API use
    staff = env.hub.accounts.create_token(admin, "fuzz", [Permission.HUB_VIEW]).secret
    schema = schemathesis.openapi.from_asgi("/hub/api/v1/openapi.json", env.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{o.method.upper()} {o.path}" for o in operations} >= {
        "POST /hub/api/v1/sites/{site}/events", "GET /hub/api/v1/sites/{site}/messages",
        "GET /hub/api/v1/board"}  # fmt: skip
    failures: list[str] = []
    statuses: dict[str, list[int]] = {}

    def exercise(operation: object, pinned: bool, label: str, token: str) -> None:
        @given(case=operation.as_strategy())  # type: ignore[attr-defined]
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: schemathesis.Case) -> None:
            if pinned:
                case.path_parameters = {**(case.path_parameters or {}), "site": SITE}
                if isinstance(case.body, dict):
                    case.body = {**case.body, "site": SITE}
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            statuses.setdefault(label, []).append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: "
                                f"{response.status_code} {response.text[:200]}")  # fmt: skip

        run()

    for operation in operations:
        for pinned in (False, True):
            if pinned and "site" not in operation.path:
                continue
            label = f"{operation.method.upper()} {operation.path}{' (site)' if pinned else ''}"
            exercise(
                operation, pinned, label, env.tokens[SITE] if "site" in operation.path else staff
            )
    assert not failures, "\n".join(failures[:10])
    # The credentials worked: the fuzzer reached the use cases, not only the guards.
    assert any(s == 200 for s in statuses["GET /hub/api/v1/board"])
    assert any(s == 200 for s in statuses["GET /hub/api/v1/sites/{site}/messages (site)"])
    posted = statuses["POST /hub/api/v1/sites/{site}/events (site)"]
    assert 401 not in posted and any(s in (200, 422) for s in posted)


@pytest.mark.parametrize("hub_url", ["sqlite"], indirect=True)
def test_numbers_past_64_bits_are_refused_not_a_server_error(env: HubEnv) -> None:
    """What the fuzzer found: ``after`` and ``seq`` past a 64-bit column were a 500."""
    from tests.hub.conftest import batch, envelope

    event = envelope(1)
    event["seq"] = 2**63
    assert env.post(SITE, batch([event])).status_code == 422
    assert env.post(SITE, batch([envelope(1)], after=2**63)).status_code == 422
    answer = env.client().get(f"/hub/api/v1/sites/{SITE}/messages?after={2**63}",
                              headers={"Authorization": f"Bearer {env.tokens[SITE]}"})  # fmt: skip
    assert answer.status_code == 422
