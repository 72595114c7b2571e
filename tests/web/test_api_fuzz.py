"""Schemathesis over the whole API v1 with a valid all-scopes token: never a 5xx.

Runs on SQLite (PostgreSQL refuses NUL bytes in text, which the fuzzer sends; there it
is a 503 with a clear message). Every operation of the OpenAPI document is exercised
with ``MAX_EXAMPLES`` generated requests."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from tests.web.conftest import PASSWORD, Web

from seuil.domain.permissions import Permission

MAX_EXAMPLES = 20


def test_no_server_error_on_any_operation(web: Web) -> None:
    admin = web.accounts.login("admin", PASSWORD).account
    secret = web.accounts.create_token(admin, "fuzz", list(Permission)).secret
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # people (and the name search), roster, audit, accounts, incidents, PPMS, gate events,
    # devices
    assert len(operations) >= 24
    failures: list[str] = []
    statuses: list[int] = []
    answered: dict[str, list[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            statuses.append(response.status_code)
            answered.setdefault(f"{case.method} {case.path}", []).append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} "
                                f"{response.text[:200]}")  # fmt: skip

        run()
    assert not failures, "\n".join(failures[:10])
    # The token stayed valid: the fuzzer reached the use cases, not just the guard.
    assert sum(200 <= s < 300 for s in statuses) >= len(operations)
    assert statuses.count(401) == 0
    # The name search (a JSON body) was fuzzed and also answered with results.
    search = answered["POST /api/v1/people/search"]
    assert len(search) >= MAX_EXAMPLES // 2 and any(s == 200 for s in search), search
