"""The audit chain's head kept off the site: a real site sends ``audit.anchor`` events to
a real hub (served by uvicorn, SQLite and PostgreSQL), reads them back, and checks its
chain against them. An attacker with write access to the site's database who rewrites
the chain (every hash recomputed, the anchor row too: the chain verifies on its own) is
caught; retention purges are not mistaken for tampering; the hub gives a site's anchors
to that site only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.hub.conftest import OTHER, SITE, HubEnv, batch, envelope
from tests.hub.servers import serving
from tests.services.conftest import make_settings
from tests.web.conftest import PASSWORD, MovableClock

from seuil.adapters.auth import Argon2Hasher, TotpCodes
from seuil.adapters.hub_link.forwarder import HubForwarder, fetch_anchors
from seuil.adapters.storage import tables as t
from seuil.bootstrap import Site, build_site, link_options
from seuil.domain.audit import GENESIS, AuditEntry, AuditEvent, chain, check_anchors
from seuil.domain.hub import EventKind, audit_anchor_body
from seuil.services.accounts import AccountPolicy, AccountService
from seuil.settings import HubLinkSettings
from seuil.web import WebOptions, create_app

NOW = datetime.now(UTC)


@pytest.fixture
def hub_url_served(env: HubEnv) -> Iterator[str]:
    with serving(env.app) as (host, port):
        yield f"http://{host}:{port}"


@pytest.fixture
def site(
    env: HubEnv, hub_url_served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    token_file = tmp_path / "hub.token"
    token_file.write_text(env.tokens[SITE] + "\n")
    link = HubLinkSettings(url=hub_url_served, token_file=token_file, timeout_s=5)
    s = build_site(make_settings(tmp_path, site_id=SITE).model_copy(update={"hub_link": link}))
    yield s
    s.close()


def _write(site: Site, n: int, at: datetime = NOW) -> None:
    with site.uow() as uow:
        for i in range(n):
            uow.audit.append(AuditEvent("cpe.martin", "person.read", f"p_{i}", "", {}), at)
        uow.commit()


def _anchor(site: Site) -> None:
    """Queue the head now and send it (a real forwarder, a real HTTP hub)."""
    assert site.anchor_audit() is not None
    forwarder = site.hub_forwarder()
    try:
        forwarder.drain(timeout=20)
    finally:
        forwarder.stop()


@contextmanager
def _pages(site: Site) -> Iterator[TestClient]:
    """The site's pages and API, logged in as its first administrator."""
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes(),
                              AccountPolicy())  # fmt: skip
    setup = accounts.begin_setup()
    assert setup
    accounts.complete_setup(setup, "admin", "Admin", PASSWORD)
    with TestClient(create_app(site, accounts, WebOptions())) as client:  # type: ignore[arg-type]
        client.post("/login", data={"username": "admin", "password": PASSWORD})
        yield client


def _rewrite(site: Site, seq: int) -> None:
    """What an attacker with the database does: change entry ``seq`` and recompute every
    hash after it, and the anchor row, so that the chain verifies again."""
    log = t.audit_log
    with site.db.begin() as conn:
        rows = conn.execute(sa.select(log).order_by(log.c.seq)).all()
        first = rows[0]  # after a purge, the first kept entry links to the checkpoint
        prev = AuditEntry(first.seq - 1, first.at, "", "", "", "", {}, "", first.prev_hash)
        for row in rows:
            event = AuditEvent(row.actor, row.action, row.target, row.reason, dict(row.details))
            if row.seq == seq:
                event = replace(event, actor="someone.else")
            entry = chain(prev if prev.seq else None, row.at, event)
            assert entry.seq == row.seq
            conn.execute(sa.update(log).where(log.c.seq == row.seq).values(
                actor=entry.actor, prev_hash=entry.prev_hash, hash=entry.hash))  # fmt: skip
            prev = entry
        conn.execute(sa.update(t.audit_anchor).values(last_seq=prev.seq, last_hash=prev.hash))


def test_an_untouched_chain_matches_the_hubs_anchors(env: HubEnv, site: Site) -> None:
    _write(site, 5)
    _anchor(site)
    _write(site, 3)
    _anchor(site)
    with env.hub.uow() as uow:
        kinds = [k for _, _, k in uow.hub.events_of(SITE)]
    assert kinds.count(EventKind.AUDIT_ANCHOR.value) >= 2
    anchors = fetch_anchors(link_options(site.settings))
    # Each send: the queued head, and the forwarder's own at its start (the same head).
    assert [a.audit_seq for a in anchors] == [5, 5, 8, 8]
    assert [a.entries for a in anchors] == [5, 5, 8, 8]
    verdict, against_hub = site.verify_audit()
    assert verdict.ok and verdict.entries == 8
    assert against_hub is not None and not against_hub.rewritten
    assert against_hub.checked >= 2 and against_hub.purged == 0 and not against_hub.unavailable


def test_an_unchanged_head_is_anchored_once(site: Site) -> None:
    """A quiet night adds nothing to anchor: with the period at zero, every step may
    anchor, yet an unchanged head is sent once (else this drain would never end)."""
    _write(site, 2)
    forwarder = HubForwarder(site.uow, site.clock, replace(link_options(site.settings), anchor_s=0))
    try:
        forwarder.drain(timeout=20)
        forwarder.drain(timeout=20)
        _write(site, 1)
        forwarder.drain(timeout=20)
    finally:
        forwarder.stop()
    assert [a.audit_seq for a in fetch_anchors(link_options(site.settings))] == [2, 3]


def test_a_rewritten_chain_is_detected_against_the_hubs_anchors(
    env: HubEnv, site: Site, tmp_path: Path
) -> None:
    _write(site, 6)
    _anchor(site)
    _write(site, 2)
    _rewrite(site, 3)  # entry 3 edited, 3..8 rehashed, anchor row moved along
    verdict, against_hub = site.verify_audit()
    assert verdict.ok  # on its own, the rewritten chain verifies: the attack works locally
    assert against_hub is not None and against_hub.rewritten
    assert against_hub.rewritten_seq == 6  # the anchored head no longer hashes the same
    # The audit page says so, in French first.
    with _pages(site) as client:
        page = client.get("/audit/verify")
        assert page.status_code == 200
        assert (
            "Journal réécrit : l&#39;entrée" in page.text and 'id="anchors-rewritten"' in page.text
        )
        api = client.get("/api/v1/audit/verify").json()
        assert api["ok"] is False and api["anchors"]["rewritten_seq"] == 6


def test_anchors_older_than_the_purge_are_not_checkable_not_tampering(
    env: HubEnv, site: Site
) -> None:
    clock = MovableClock(NOW - timedelta(days=400))
    site.clock = clock  # entries and anchors written 400 days ago, checked today
    _write(site, 3, clock.at)
    _anchor(site)  # head 3: will be purged
    _write(site, 2, clock.at)
    _anchor(site)  # head 5: the purge checkpoint, checked against its hash
    clock.at = NOW
    _write(site, 2)
    _anchor(site)  # head 7: kept
    with site.uow() as uow:
        assert uow.audit.purge_before(NOW - timedelta(days=365), "system", NOW) == 5
        uow.commit()
    verdict, against_hub = site.verify_audit()
    assert verdict.ok
    assert against_hub is not None and not against_hub.rewritten
    assert not against_hub.purged_too_early
    assert against_hub.purged == 1 and against_hub.checked == 2
    # After the purge, a rewrite of what is left is still caught.
    _rewrite(site, 7)
    _, against_hub = site.verify_audit()
    assert against_hub is not None and against_hub.rewritten_seq == 7


def test_a_purge_forged_past_recent_anchors_is_tampering(env: HubEnv, site: Site) -> None:
    """The attacker with the database deletes recent entries as if retention had: the
    oldest entries gone, the checkpoint moved, a matching ``audit.purge`` appended (what
    ``purge_before`` writes, here with a cutoff in the future). The chain verifies on
    its own, and every anchor is at or before the checkpoint: the hub's anchor times
    prove those entries are younger than any lawful audit retention."""
    _write(site, 5)
    _anchor(site)  # head 5
    _write(site, 3)
    _anchor(site)  # head 8: the newest anchor
    with site.uow() as uow:
        assert uow.audit.purge_before(NOW + timedelta(days=1), "system:retention", NOW) == 8
        uow.commit()
    verdict, against_hub = site.verify_audit()
    assert verdict.ok  # the forged purge is consistent locally
    assert against_hub is not None and against_hub.purged_too_early and against_hub.rewritten
    assert against_hub.rewritten_seq == 5  # the newest anchor below the checkpoint
    with _pages(site) as client:
        page = client.get("/audit/verify")
        assert "Purge falsifiée : l&#39;entrée" in page.text
        assert 'id="anchors-purged-too-early"' in page.text
        api = client.get("/api/v1/audit/verify").json()
        assert api["ok"] is False and api["anchors"]["purged_too_early"] is True
    # The same anchors checked from 200 days later: past the shortest retention (183
    # days), such a purge is lawful and the anchors are only "not checkable".
    site.clock = MovableClock(NOW + timedelta(days=200))
    _, later = site.verify_audit()
    assert later is not None and not later.rewritten and not later.purged_too_early
    assert later.purged == 1 and later.checked == 1  # head 5 purged, head 8 the checkpoint


def test_the_hub_keeps_anchors_for_their_own_site_only(
    env: HubEnv, site: Site, hub_url_served: str
) -> None:
    _write(site, 2)
    _anchor(site)
    url = f"{hub_url_served}/hub/api/v1/sites/{SITE}/anchors"
    mine = httpx.get(url, headers={"Authorization": f"Bearer {env.tokens[SITE]}"}).json()
    assert mine["anchors"] and all(set(a) == {"seq", "audit_seq", "head_hash", "entries", "at"}
                                   for a in mine["anchors"])  # fmt: skip
    # Another school's token does not read them, nor do they show among its own.
    refused = httpx.get(url, headers={"Authorization": f"Bearer {env.tokens[OTHER]}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    theirs = httpx.get(f"{hub_url_served}/hub/api/v1/sites/{OTHER}/anchors",
                       headers={"Authorization": f"Bearer {env.tokens[OTHER]}"})  # fmt: skip
    assert theirs.json() == {"anchors": []}
    # An anchor for SITE sent with OTHER's token, or declared as OTHER's: refused, nothing kept.
    body = audit_anchor_body(99, "ab" * 32, 99, NOW)
    forged = batch([envelope(900, EventKind.AUDIT_ANCHOR, body)])
    assert env.post(SITE, forged, token=env.tokens[OTHER]).status_code == 401
    foreign = batch([envelope(900, EventKind.AUDIT_ANCHOR, body)], site=SITE)
    assert env.post(OTHER, foreign).status_code == 403
    again = httpx.get(url, headers={"Authorization": f"Bearer {env.tokens[SITE]}"}).json()
    assert again == mine and all(a["audit_seq"] != 99 for a in again["anchors"])


def test_an_unreachable_hub_leaves_the_anchors_unchecked_not_failed(
    site: Site, tmp_path: Path
) -> None:
    _write(site, 1)
    link = site.settings.hub_link.model_copy(update={"url": "http://127.0.0.1:9", "timeout_s": 1})
    site.settings = site.settings.model_copy(update={"hub_link": link})
    verdict, against_hub = site.verify_audit()
    assert verdict.ok
    assert against_hub is not None and "unreachable" in against_hub.unavailable
    assert not against_hub.rewritten and against_hub.checked == 0


def test_check_anchors_rules() -> None:
    stored = {4: "d" * 64, 5: "e" * 64}

    def hashes(seqs):  # type: ignore[no-untyped-def]
        return {s: stored[s] for s in seqs if s in stored}

    def at(seq: int, days_ago: int = 400) -> tuple[int, str, datetime]:
        return seq, "abcde"[seq - 1] * 64 if seq else GENESIS, NOW - timedelta(days=days_ago)

    ok = check_anchors([at(0), at(3), at(5), at(1)], hashes, 3, "c" * 64)
    assert (ok.checked, ok.purged, ok.rewritten) == (3, 1, False)
    assert check_anchors([(5, "f" * 64, NOW)], hashes).rewritten_seq == 5
    assert check_anchors([(6, "f" * 64, NOW)], hashes).rewritten_seq == 6  # cut off the tail
    assert check_anchors([(3, "0" * 64, NOW)], hashes, 3, "c" * 64).rewritten_seq == 3
    # Purged anchors older than the shortest retention: not checkable. A purged anchor
    # sent since then: the checkpoint's entry was written after it, the purge is forged.
    floor = NOW - timedelta(days=183)
    lawful = check_anchors([at(1, 184), at(2, 190), at(3, 1)], hashes, 3, "c" * 64, floor)
    assert (lawful.checked, lawful.purged, lawful.rewritten) == (1, 2, False)
    forged = check_anchors([at(1, 184), at(2, 182), at(3, 1)], hashes, 3, "c" * 64, floor)
    assert forged.purged_too_early and forged.rewritten_seq == 2
    # The checkpoint's own anchor, however recent, proves nothing about its entry's age.
    assert not check_anchors([at(3, 0), at(5, 0)], hashes, 3, "c" * 64, floor).rewritten


def test_a_silent_hub_holds_the_audit_page_for_seconds_not_the_link_timeout(
    site: Site,
) -> None:
    """A hub that accepts the connection and never answers: the page's check gives up
    after HUB_WAIT_ON_SCREEN_S, not after the link's (here one minute) timeout."""
    import socket
    import time

    from seuil.bootstrap import HUB_WAIT_ON_SCREEN_S

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # connections complete in the backlog; nothing is ever read
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        link = site.settings.hub_link.model_copy(update={"url": url, "timeout_s": 60})
        site.settings = site.settings.model_copy(update={"hub_link": link})
        started = time.monotonic()
        verdict, against_hub = site.verify_audit()
        waited = time.monotonic() - started
    assert verdict.ok and against_hub is not None and against_hub.unavailable
    assert waited < HUB_WAIT_ON_SCREEN_S + 10 < 60


def test_a_hub_paging_slowly_is_given_one_deadline_for_all_pages(site: Site) -> None:
    """Each page answers well within the request timeout, but there are many of them:
    the page's check stops at its total wait and says the hub was too slow."""
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlparse

    from seuil.bootstrap import verify_against_hub

    pages = []

    class SlowPages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # one anchor a page, 0.15 s each, 20 pages in all
            after = int(parse_qs(urlparse(self.path).query)["after"][0])
            pages.append(after)
            time.sleep(0.15)
            anchors = [] if after >= 20 else [{"seq": after + 1, "audit_seq": 1,
                       "head_hash": "a" * 64, "entries": 1, "at": NOW.isoformat()}]  # fmt: skip
            body = json.dumps({"anchors": anchors}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowPages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        link = site.settings.hub_link.model_copy(update={"url": url, "timeout_s": 5})
        settings = site.settings.model_copy(update={"hub_link": link})
        started = time.monotonic()
        verdict = verify_against_hub(settings, site.reader, 1.0)
        waited = time.monotonic() - started
        assert "hub too slow" in verdict.unavailable and not verdict.rewritten
        assert waited < 2.5 and 2 <= len(pages) <= 8  # not the 20 pages (3 s)
        # Without a total wait (the CLI), every page is read.
        assert len(fetch_anchors(link_options(settings))) == 20
    finally:
        server.shutdown()
        server.server_close()
