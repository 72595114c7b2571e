"""``seuil bench web``: page and API latency on a loaded site, and SSE delivery latency.

A throwaway site (SQLite in a temporary folder, unless ``database_url`` names another)
gets the fictional roster (``demo_roster``) and ``events`` gate decisions; the web app
runs in a real uvicorn server on 127.0.0.1 and one client measures each page and API
operation in turn (sequential requests, wall time from send to full body). The SSE part
connects a gate screen and publishes decisions through the real path (the gate's sink:
stored, put on the live bus, shaped for the screen with the holder's name, sent over
HTTP); the latency is from just before the sink is called to the event's arrival.
"""

from __future__ import annotations

import json
import queue
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PAGES = (
    ("page", "/home"),
    ("page", "/people/search q=martin"),  # a POST form: names never go in URLs
    ("page", "/people?group=2NDE1&page=2"),
    ("page", "/people/{ref}"),
    ("page", "/gate/entree"),
    ("page", "/incidents"),
    ("page", "/devices"),
    ("api", "/api/v1/people?limit=50&offset=1000"),
    ("api", "/api/v1/people/search q=martin"),  # a POST with a JSON body, likewise
    ("api", "/api/v1/people/{ref}"),
    ("api", "/api/v1/gate-events?limit=50"),
    ("api", "/api/v1/gate-events?gate_id=entree&limit=50&offset=500"),
    # a deep page, by offset and by keyset cursor (``after``, the page's ``next``)
    ("api", "/api/v1/gate-events?limit=50&offset=80000"),
    ("api", "/api/v1/gate-events?limit=50&after=20001"),
    ("api", "/api/v1/incidents?open=true"),
    ("api", "/api/v1/ppms"),
)
GATES = ("entree", "cour", "gymnase", "parking")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _seed_events(site: Any, count: int, refs: list[str]) -> float:
    import sqlalchemy as sa

    from seuil.adapters.storage import tables as t

    start = time.perf_counter()
    at = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / max(count, 1)
    decisions = ("grant", "grant", "grant", "grant", "refer", "deny")
    reasons = {"grant": None, "refer": "refer_band", "deny": "face_mismatch"}
    batch: list[dict[str, object]] = []
    with site.db.begin() as conn:
        for n in range(count):
            decision = decisions[n % len(decisions)]
            batch.append({"gate_id": GATES[n % len(GATES)], "at": at + step * n,
                          "decision": decision, "reason": reasons[decision],
                          "credential_id": f"{n:032x}", "person_ref": refs[n % len(refs)],
                          "match_score": 0.95, "liveness_score": 0.9, "latency_ms": 180.0,
                          "mode": "verification", "decided_by": "system"})  # fmt: skip
            if len(batch) == 5000:
                conn.execute(sa.insert(t.gate_events), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(t.gate_events), batch)
    return time.perf_counter() - start


class _SseClient:
    """Reads a gate screen's stream on a thread; each event's arrival time is queued."""

    def __init__(self, url: str, cookie: str) -> None:
        self.arrivals: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, cookie), daemon=True)
        self._thread.start()

    def _run(self, url: str, cookie: str) -> None:
        import httpx

        from seuil.web.auth import SESSION_COOKIE

        timeout = httpx.Timeout(10.0, read=60.0)  # keep-alives come every 15 s
        try:
            with httpx.Client(timeout=timeout, cookies={SESSION_COOKIE: cookie}) as client, \
                    client.stream("GET", url) as response:  # fmt: skip
                for line in response.iter_lines():
                    if line.startswith(": seuil"):
                        self.ready.set()
                    elif line.startswith("data: "):
                        self.arrivals.put((time.perf_counter(), json.loads(line[6:])))
        except httpx.HTTPError:  # the server stops at the end of the run
            return


def run_web_bench(
    *, pupils: int = 2000, events: int = 100_000, requests: int = 40, sse_events: int = 200,
    database_url: str | None = None, log: Callable[[str], None] = print,
) -> dict[str, Any]:  # fmt: skip
    import uvicorn

    from seuil.adapters.auth import Argon2Hasher, TotpCodes
    from seuil.bootstrap import build_gate_feed, build_site
    from seuil.domain.people import PersonKind
    from seuil.domain.permissions import Permission
    from seuil.ports.storage import PeopleQuery
    from seuil.runtime.demo_roster import demo_roster
    from seuil.services.accounts import AccountService
    from seuil.settings import KeySettings, Settings, SiteSettings, StorageSettings
    from seuil.web import WebOptions, create_app
    from seuil.web.runtime import GateInfo, WebRuntime

    report: dict[str, Any] = {"pupils": pupils, "gate_events": events, "requests": requests}
    with tempfile.TemporaryDirectory(prefix="seuil-bench-web-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'site.sqlite3'}"
        settings = Settings(site=SiteSettings(id="0830042X", name="Lycée de mesure"),
                            database=StorageSettings(url=url),
                            keys=KeySettings(dir=Path(tmp) / "keys"))  # fmt: skip
        site = build_site(settings)
        report["database"] = site.db.dialect.name
        started = time.perf_counter()
        site.roster.sync("bench", demo_roster(pupils), full_export=True, source="bench",
                         dry_run=False)  # fmt: skip
        with site.reader() as uow:
            people = uow.people.search(PeopleQuery(kind=PersonKind.PUPIL, limit=pupils))
        refs = [p.ref for p in people]
        log(f"roster: {len(refs)} pupils in {time.perf_counter() - started:.1f} s")
        seconds = _seed_events(site, events, refs)
        log(f"gate events: {events:,} in {seconds:.1f} s")
        accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes())
        token = accounts.begin_setup()
        assert token is not None
        accounts.complete_setup(token, "admin", "Admin", "bench password 2026")
        login = accounts.login("admin", "bench password 2026")
        api = accounts.create_token(login.account, "bench", list(Permission), None)
        runtime = WebRuntime(gates=[GateInfo(g, g, "verification") for g in GATES])
        app = create_app(site, accounts, WebOptions(), runtime)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                timeout_graceful_shutdown=1)  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        try:
            report["operations"] = _measure(base, login.token, api.secret, refs, requests, log)
            report["sse"] = _measure_sse(base, login.token, build_gate_feed(site, None), refs,
                                         sse_events, log)  # fmt: skip
        finally:
            server.should_exit = True
            thread.join(5)
            site.close()
    ops = report["operations"]
    report["p95_page_ms_max"] = max(o["p95_ms"] for o in ops if o["kind"] == "page")
    report["p95_api_ms_max"] = max(o["p95_ms"] for o in ops if o["kind"] == "api")
    return report


def _measure(
    base: str, cookie: str, secret: str, refs: list[str], requests: int,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:  # fmt: skip
    import httpx

    from seuil.web.auth import SESSION_COOKIE

    results = []
    with httpx.Client(base_url=base, cookies={SESSION_COOKIE: cookie}, timeout=30) as client:
        found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/people").text)
        csrf = found.group(1) if found else ""
        for kind, template in PAGES:
            headers = {"Authorization": f"Bearer {secret}"} if kind == "api" else {}
            timings: list[float] = []
            for n in range(requests + 3):
                path = template.format(ref=refs[(n * 97) % len(refs)])
                start = time.perf_counter()
                if " q=" in path and kind == "api":  # the API's name search: a JSON body
                    target, _, query = path.partition(" q=")
                    response = client.post(target, json={"query": query}, headers=headers)
                elif " q=" in path:  # the page's person search: a CSRF-protected POST
                    target, _, query = path.partition(" q=")
                    response = client.post(target, data={"csrf_token": csrf, "q": query})
                else:
                    response = client.get(path, headers=headers)
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status_code}")
                if n >= 3:  # the first calls warm the caches
                    timings.append(elapsed)
            row = {"kind": kind, "path": template, "p50_ms": round(statistics.median(timings), 1),
                   "p95_ms": round(_percentile(timings, 0.95), 1),
                   "max_ms": round(max(timings), 1)}  # fmt: skip
            log(f"{kind:4} {template:55} p50 {row['p50_ms']:6.1f} ms  p95 {row['p95_ms']:6.1f} ms")
            results.append(row)
    return results


def _measure_sse(
    base: str, cookie: str, feed: Any, refs: list[str], count: int, log: Callable[[str], None]
) -> dict[str, Any]:
    from seuil.domain.gate import Decision, GateDecision, ReferReason

    client = _SseClient(f"{base}/events/gate/entree", cookie)
    if not client.ready.wait(10):
        raise RuntimeError("the SSE stream did not open")
    latencies: list[float] = []
    lost = 0
    for n in range(count):
        decision = GateDecision("entree", datetime.now(UTC), Decision.REFER,
                                ReferReason.REFER_BAND, credential_id=f"{n:032x}",
                                person_ref=refs[n % len(refs)])  # fmt: skip
        sent = time.perf_counter()
        feed.feed(decision)
        try:
            arrived, data = client.arrivals.get(timeout=5)
        except queue.Empty:
            lost += 1
            continue
        if data.get("credential_id") != decision.credential_id:
            lost += 1
            continue
        latencies.append((arrived - sent) * 1000)
        time.sleep(0.02)
    result = {"events": count, "received": len(latencies), "lost": lost,
              "p50_ms": round(statistics.median(latencies), 1),
              "p95_ms": round(_percentile(latencies, 0.95), 1),
              "max_ms": round(max(latencies), 1)}  # fmt: skip
    log(f"SSE gate decision -> screen: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
        f"{len(latencies)}/{count} received")  # fmt: skip
    return result


def print_web_report(report: dict[str, Any], echo: Callable[[str], None]) -> None:
    echo("")
    echo(f"Base {report['database']}, {report['pupils']:,} élèves, "
         f"{report['gate_events']:,} événements de portique, "
         f"{report['requests']} requêtes/cas")  # fmt: skip
    echo(f"p95 pages max : {report['p95_page_ms_max']} ms ; p95 API max : "
         f"{report['p95_api_ms_max']} ms (objectif <= 150 ms)")  # fmt: skip
    sse = report["sse"]
    echo(f"SSE décision -> écran : p95 {sse['p95_ms']} ms (objectif <= 300 ms), "
         f"{sse['received']}/{sse['events']} reçus")  # fmt: skip
