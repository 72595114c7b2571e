"""The API's name search: ``POST /api/v1/people/search`` with the name in the JSON body,
never in a URL (proxies and access logs keep query strings)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from tests.web.conftest import Web
from tests.web.live_server import serving
from tests.web.test_api import _token

from seuil.domain.people import PersonKind, PersonStatus
from seuil.domain.permissions import Permission

SEARCH = "/api/v1/people/search"


def _people(web: Web) -> None:
    create = web.site.people.create
    create("cpe", PersonKind.PUPIL, "Zébulon", "Paul", group="1G2")
    create("cpe", PersonKind.PUPIL, "Zebulon", "Anna", group="2NDE1")
    create("cpe", PersonKind.STAFF, "Zébulon", "Marc")
    create("cpe", PersonKind.PUPIL, "Martin", "Léa", group="1G2")


def test_search_by_name_in_the_body_with_filters_and_pages(web: Web) -> None:
    _people(web)
    client, auth = web.client(), _token(web)
    found = client.post(SEARCH, headers=auth, json={"query": "  zebulon "})
    assert found.status_code == 200, found.text
    page = found.json()
    assert set(page) == {"items", "total", "limit", "offset"}  # the GET listing's shape
    assert page["total"] == 3 and page["limit"] == 50 and page["offset"] == 0
    assert {p["first_name"] for p in page["items"]} == {"Paul", "Anna", "Marc"}
    pupils = client.post(SEARCH, headers=auth, json={"query": "Zébulon", "kind": "pupil"})
    assert {p["first_name"] for p in pupils.json()["items"]} == {"Paul", "Anna"}
    group = client.post(SEARCH, headers=auth, json={"query": "zéb", "group": "1G2"}).json()
    assert [p["first_name"] for p in group["items"]] == ["Paul"]
    second = client.post(SEARCH, headers=auth, json={"query": "zeb", "limit": 2, "offset": 2})
    assert second.json()["total"] == 3 and len(second.json()["items"]) == 1
    assert second.json()["limit"] == 2 and second.json()["offset"] == 2
    gone = client.post(
        SEARCH, headers=auth, json={"query": "zeb", "status": PersonStatus.LEFT.value}
    )
    assert gone.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    listing = client.get("/api/v1/people?group=1G2", headers=auth).json()
    assert listing["total"] == 2  # the listing without a name filter stays


def test_the_search_is_audited_without_the_name(web: Web) -> None:
    _people(web)
    client, auth = web.client(), _token(web)
    assert client.post(SEARCH, headers=auth, json={"query": "Martin"}).status_code == 200
    entries = client.get("/api/v1/audit?action=person.search", headers=auth).json()
    assert [e["reason"] for e in entries] == ["api search"]
    assert "Martin" not in str(entries) and entries[0]["details"]["results"] == 1


def test_a_name_in_the_listing_url_is_refused_not_ignored(web: Web) -> None:
    _people(web)
    client, auth = web.client(), _token(web)
    refused = client.get("/api/v1/people?q=Martin", headers=auth)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "invalid_request"
    assert "POST /api/v1/people/search" in refused.json()["detail"]
    assert "Martin" not in refused.text


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""}, {"query": "   "}, {"query": "x" * 101}, {"query": 123},
        {"query": ["Martin"]}, {"query": None}, {}, {"query": "Martin\x00"},
        {"query": "Martin", "limit": 0}, {"query": "Martin", "limit": "many"},
        {"query": "Martin", "offset": -1}, {"query": "Martin", "kind": "alien"},
        {"query": "Martin", "group": "G" * 33}, {"q": "Martin"}, [], "Martin",
    ],
)  # fmt: skip
def test_bad_bodies_get_problem_details(web: Web, body: Any) -> None:
    response = web.client().post(SEARCH, headers=_token(web), json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid_request" and problem["status"] == 422
    assert "Martin" not in problem["detail"]  # the error does not echo the name


def test_not_json_and_no_body_get_problem_details(web: Web) -> None:
    client, auth = web.client(), _token(web)
    for content in (b"", b"query=Martin", b"{not json"):
        response = client.post(SEARCH, headers={**auth, "Content-Type": "application/json"},
                               content=content)  # fmt: skip
        assert response.status_code == 422, (content, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_the_search_needs_view_people(web: Web) -> None:
    client = web.client()
    refused = client.post(SEARCH, headers=_token(web, Permission.VIEW_AUDIT),
                          json={"query": "Martin"})  # fmt: skip
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    anonymous = client.post(SEARCH, json={"query": "Martin"})
    assert anonymous.status_code == 401


def test_the_openapi_document_has_no_name_in_a_query(web: Web) -> None:
    spec = web.client().get("/api/v1/openapi.json").json()
    listing = spec["paths"]["/api/v1/people"]["get"]
    assert "q" not in {p["name"] for p in listing["parameters"]}
    search = spec["paths"]["/api/v1/people/search"]["post"]
    assert "parameters" not in search and search["requestBody"]["required"] is True
    body = spec["components"]["schemas"]["PeopleSearchIn"]
    assert body["required"] == ["query"] and body["additionalProperties"] is False
    assert body["properties"]["query"]["maxLength"] == 100
    ok = search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/PeoplePage")


def test_the_access_log_of_a_real_server_never_sees_the_name(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    _people(web)
    auth = _token(web)
    access = logging.getLogger("uvicorn.access")
    with serving(web.app) as base:
        access.setLevel(logging.INFO)  # uvicorn set it to the server's level, warning
        access.addHandler(caplog.handler)
        try:
            found = httpx.post(base + SEARCH, headers=auth, json={"query": "Zébulon"})
        finally:
            access.removeHandler(caplog.handler)
    assert found.status_code == 200 and found.json()["total"] == 3
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("POST /api/v1/people/search" in line for line in lines), lines
    assert not any("bulon" in line.lower() for line in lines)
