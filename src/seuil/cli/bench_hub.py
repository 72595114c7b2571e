"""`seuil bench hub`: a region of sites against a real hub, through the real protocol.

1. A hub server (uvicorn, its own processes) on its own database (PostgreSQL: a fresh
   schema, dropped afterwards), 173 sites registered with their tokens.
2. Throughput: a school day of events per site (:mod:`seuil.hub.simulator`) sent as
   fast as the hub takes them, in order per site, by several sender threads (batches
   of ``batch`` events, keep-alive HTTP): sustained stored events per second.
3. End-to-end latency, during that load: real sites (their own database, outbox and
   forwarder) record incidents; a watcher polls the hub's board (JSON, staff token)
   until each appears: commit at the site -> visible on the board, p50/p95/max. And the
   live board's way: a listener on the board's event stream (``/events/board``, staff
   token) re-reads the board page on each probe incident, as the browser does: commit
   at the site -> event pushed -> page re-read, p50/p95 (reported as pushed/incidents:
   on PostgreSQL every worker's notices reach the stream through LISTEN/NOTIFY; on
   SQLite with several workers a stream hears only its worker's share).
4. The board with the day loaded: the HTML page (operator session) and its JSON, p50/p95.
5. Checks: every event stored exactly once (hub count = events sent), high-water marks.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from seuil.domain.accounts import Role
from seuil.domain.hub import EventKind, incident_opened_body
from seuil.domain.incidents import Incident, IncidentType, Signal
from seuil.domain.permissions import Permission
from seuil.hub.simulator import SiteStream, percentile, region, school_day_start, site_day

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "banc d'essai du centre régional"  # noqa: S105 (a throwaway bench account)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _bench_database(url: str, keep: bool) -> Iterator[str]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        yield url
        return
    schema = f"seuil_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(parsed)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        if not keep:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@contextlib.contextmanager
def _hub_server(url: str, workers: int) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ, SEUIL_HUB_DATABASE_URL=url, SEUIL_HUB_MAX_BATCH_BYTES="4000000")
    command = [sys.executable, "-m", "uvicorn", "seuil.hub.app:app_from_env", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]  # fmt: skip
    process = subprocess.Popen(command, env=env)  # noqa: S603 (our own interpreter)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                raise RuntimeError("the hub server stopped at start")
            time.sleep(0.2)
        else:
            raise RuntimeError("the hub server did not start in 60 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def _send_streams(base: str, streams: list[SiteStream], tokens: dict[str, str], senders: int,
                  batch: int) -> dict[str, Any]:  # fmt: skip
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    # Each site's events as JSON, once, before the clock starts: on a real region that
    # work is spread over 173 site servers, not done by the one machine under test.
    wire = {s.site.id: [json.dumps(e.to_wire(), separators=(",", ":")).encode()
                        for e in s.events] for s in streams}  # fmt: skip

    def sender(mine: list[SiteStream]) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                active = [s for s in mine if not s.done]
                if not active:
                    return
                for stream in active:
                    sid = stream.site.id
                    chunk = wire[sid][stream.sent : stream.sent + batch]
                    body = (b'{"site":"' + sid.encode() + b'","messages_after":0,"events":['
                            + b",".join(chunk) + b"]}")  # fmt: skip
                    started = time.perf_counter()
                    response = client.post(
                        f"/hub/api/v1/sites/{sid}/events", content=body,
                        headers={"Authorization": f"Bearer {tokens[sid]}",
                                 "Content-Type": "application/json"},
                    )  # fmt: skip
                    took = time.perf_counter() - started
                    if response.status_code != 200:
                        with lock:
                            errors.append(f"{stream.site.id}: {response.status_code} "
                                          f"{response.text[:200]}")  # fmt: skip
                        return
                    stream.sent += len(response.json()["acked"])
                    with lock:
                        latencies.append(took)

    groups = [streams[i::senders] for i in range(senders)]
    threads = [threading.Thread(target=sender, args=(g,)) for g in groups]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = sum(s.sent for s in streams)
    return {
        "events": total,
        "seconds": round(elapsed, 2),
        "events_per_s": round(total / elapsed, 1),
        "batches": len(latencies),
        "batch_ms_p50": round(percentile(latencies, 50) * 1000, 1),
        "batch_ms_p95": round(percentile(latencies, 95) * 1000, 1),
        "errors": errors[:5],
    }


class _LatencyProbe:
    """Real sites record incidents; a watcher sees them on the board."""

    def __init__(self, base: str, staff_token: str, probe_sites: list[Any], every_s: float) -> None:
        self.base = base
        self.staff_token = staff_token
        self.sites = probe_sites
        self.every_s = every_s
        self.recorded: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.board_polls = 0
        self.pushed: dict[str, float] = {}  # the board's event stream announced it
        self.page_read: dict[str, float] = {}  # and the board page was read again
        self._stop = threading.Event()
        self._stream: httpx.Response | None = None
        self._threads = [threading.Thread(target=self._record, daemon=True),
                         threading.Thread(target=self._watch, daemon=True),
                         threading.Thread(target=self._listen, daemon=True)]  # fmt: skip
        self._listening = threading.Event()

    def start(self) -> None:
        self._threads[2].start()
        self._listening.wait(10)  # subscribed before the first incident
        for thread in self._threads[:2]:
            thread.start()

    def stop(self, grace_s: float = 10.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and set(self.recorded) - set(self.seen):
            time.sleep(0.05)
        while time.monotonic() < deadline and set(self.recorded) - set(self.page_read):
            time.sleep(0.05)
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()
        for thread in self._threads:
            thread.join(5)

    def _listen(self) -> None:
        """The live board: each pushed probe incident makes it re-read the page."""
        auth = {"Authorization": f"Bearer {self.staff_token}"}
        timeout = httpx.Timeout(30, read=None)
        try:
            with httpx.Client(base_url=self.base, timeout=timeout, headers=auth) as client, \
                    client.stream("GET", "/events/board") as response:  # fmt: skip
                self._stream = response
                topic = ""
                for line in response.iter_lines():
                    self._listening.set()
                    if line.startswith("event: "):
                        topic = line[7:]
                    elif line.startswith("data: ") and topic == "incident":
                        iid = str(json.loads(line[6:]).get("incident_id", ""))
                        if iid.startswith("PROBE-") and iid not in self.pushed:
                            self.pushed[iid] = time.perf_counter()
                            if client.get("/board").status_code == 200:
                                self.page_read[iid] = time.perf_counter()
                    if self._stop.is_set() and not set(self.recorded) - set(self.page_read):
                        return
        except (httpx.HTTPError, ValueError, RuntimeError):  # closed by stop(), or down
            return
        finally:
            self._listening.set()

    def _record(self) -> None:
        rng = random.Random(11)  # noqa: S311 (bench pacing, not a secret)
        n = 0
        while not self._stop.is_set():
            site = rng.choice(self.sites)
            n += 1
            incident_id = f"PROBE-{n:04d}"
            now = datetime.now(UTC)
            signal = Signal("button:hall", site.settings.site.id, "hall", "PA", "", now,
                            IncidentType.PANIC)  # fmt: skip
            body = incident_opened_body(Incident.open(incident_id, signal))
            with site.uow() as uow:
                uow.outbox.add(EventKind.INCIDENT_OPENED, now, body)
                uow.commit()
            self.recorded[incident_id] = time.perf_counter()
            self._stop.wait(rng.uniform(0.5, 1.5) * self.every_s)

    def _watch(self) -> None:
        auth = {"Authorization": f"Bearer {self.staff_token}"}
        with httpx.Client(base_url=self.base, timeout=30, headers=auth) as client:
            while not (self._stop.is_set() and not set(self.recorded) - set(self.seen)):
                response = client.get("/hub/api/v1/board")
                self.board_polls += 1
                if response.status_code == 200:
                    now = time.perf_counter()
                    for item in response.json()["incidents"]:
                        iid = item["incident_id"]
                        if iid.startswith("PROBE-") and iid not in self.seen:
                            self.seen[iid] = now
                time.sleep(0.1)
                if (
                    self._stop.is_set()
                    and time.perf_counter() > max(self.recorded.values(), default=0) + 15
                ):
                    return

    def report(self) -> dict[str, Any]:
        waits = [self.seen[i] - self.recorded[i] for i in self.recorded if i in self.seen]
        pushed = [self.pushed[i] - self.recorded[i] for i in self.recorded if i in self.pushed]
        read = [self.page_read[i] - self.recorded[i] for i in self.recorded if i in self.page_read]
        return {
            "incidents": len(self.recorded),
            "seen": len(waits),
            "p50_s": round(percentile(waits, 50), 3),
            "p95_s": round(percentile(waits, 95), 3),
            "max_s": round(max(waits, default=float("nan")), 3),
            "board_polls": self.board_polls,
            "pushed": len(pushed),
            "push_p50_s": round(percentile(pushed, 50), 3),
            "push_p95_s": round(percentile(pushed, 95), 3),
            "page_p50_s": round(percentile(read, 50), 3),
            "page_p95_s": round(percentile(read, 95), 3),
        }


def _timed(call: Callable[[], httpx.Response], n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    return {"p50_ms": round(percentile(times, 50) * 1000, 1),
            "p95_ms": round(percentile(times, 95) * 1000, 1)}  # fmt: skip


def run_hub_bench(
    database_url: str = DEFAULT_DB, sites: int = 173, cameras: int = 1757, pupils: int = 1000,
    senders: int = 6, batch: int = 200, workers: int = 2, probes: int = 3,
    probe_every_s: float = 1.0, board_requests: int = 30, keep: bool = False,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:  # fmt: skip
    from seuil.bootstrap import build_site
    from seuil.hub.runtime import Hub
    from seuil.hub.settings import HubSettings
    from seuil.settings import HubLinkSettings, KeySettings, Settings, SiteSettings, StorageSettings

    report: dict[str, Any] = {"sites": sites, "cameras": cameras, "pupils_per_site": pupils,
                              "senders": senders, "batch": batch, "hub_workers": workers,
                              "database": make_url(database_url).get_backend_name()}  # fmt: skip
    echo(f"simulation : {sites} sites, {cameras} caméras, ~{pupils} élèves chacun")
    region_sites = region(sites, cameras, pupils)
    # Today's school day (so the board's "last 24 h" really holds a day of events).
    day = school_day_start(datetime.now(UTC))
    streams = [site_day(s, day_start=day) for s in region_sites]
    report["day_events"] = sum(len(s.events) for s in streams)
    with _bench_database(database_url, keep) as url, tempfile.TemporaryDirectory() as tmp:
        hub = Hub(HubSettings(database_url=url))
        setup = hub.accounts.begin_setup()
        assert setup is not None
        admin = hub.accounts.complete_setup(setup, "admin", "Admin", PASSWORD)
        staff = hub.accounts.create_token(admin, "bench", [Permission.HUB_VIEW]).secret
        hub.accounts.create_account(
            admin, "operateur", "Opérateur", Role.REGIONAL_OPERATOR, PASSWORD
        )
        operator = hub.accounts.login("operateur", PASSWORD).account
        hub.accounts.change_password(operator.id, PASSWORD, PASSWORD + " !")
        tokens = {
            s.id: hub.service.add_site(s.id, s.name, s.town, s.lat, s.lon) for s in region_sites
        }
        probe_ids = [f"PROBE{i:02d}X" for i in range(probes)]
        for pid in probe_ids:
            tokens[pid] = hub.service.add_site(pid, f"Site sonde {pid}", "Toulon", 43.1, 5.9)
        with _hub_server(url, workers) as base:
            probe_sites = []
            for pid in probe_ids:
                folder = Path(tmp) / pid
                folder.mkdir()
                (folder / "token").write_text(tokens[pid])
                settings = Settings(
                    site=SiteSettings(id=pid, name=pid),
                    database=StorageSettings(url=f"sqlite:///{folder / 'site.sqlite3'}"),
                    keys=KeySettings(dir=folder / "keys"),
                    hub_link=HubLinkSettings(url=base, token_file=folder / "token",
                                             idle_poll_s=0.1, heartbeat_s=60),
                )  # fmt: skip
                probe_sites.append(build_site(settings))
            forwarders = [s.hub_forwarder() for s in probe_sites]
            for f in forwarders:
                f.start()
            probe = _LatencyProbe(base, staff, probe_sites, probe_every_s)
            echo(f"envoi de {report['day_events']} événements (une journée) ...")
            probe.start()
            report["ingest"] = _send_streams(base, streams, tokens, senders, batch)
            probe.stop()
            report["latency_site_to_board"] = probe.report()
            for f in forwarders:
                f.stop()
            for s in probe_sites:
                s.close()
            echo("tableau avec la journée chargée ...")
            with httpx.Client(base_url=base, timeout=60) as client:
                login = client.post(
                    "/login", data={"username": "operateur", "password": PASSWORD + " !"}
                )
                if login.headers.get("location") != "/":
                    raise RuntimeError(f"operator login failed: {login.status_code}")
                report["board_html"] = _timed(lambda: client.get("/board"), board_requests)
                report["incidents_html"] = _timed(lambda: client.get("/incidents"), board_requests)
            with httpx.Client(base_url=base, timeout=60,
                              headers={"Authorization": f"Bearer {staff}"}) as client:  # fmt: skip
                report["board_json"] = _timed(lambda: client.get("/hub/api/v1/board"),
                                              board_requests)  # fmt: skip
        with hub.uow() as uow:
            stored = uow.hub.count_events()
            records = {r.id: r for r in uow.hub.all_sites()}
            report["hub_events_mb"] = uow.hub.events_size_mb()
        hub.close()
    simulated = sum(len(s.events) for s in streams)
    probe_events = stored - simulated
    report["stored_events"] = stored
    report["exactly_once"] = all(records[s.site.id].high_water == len(s.events)
                                 == records[s.site.id].events for s in streams)  # fmt: skip
    report["probe_events"] = probe_events
    return report


def print_hub_report(report: dict[str, Any], echo: Callable[[str], None]) -> None:
    ingest = report["ingest"]
    latency = report["latency_site_to_board"]
    echo(
        f"base : {report['database']}, {report['hub_workers']} processus hub, "
        f"{report['senders']} émetteurs, lots de {report['batch']}"
    )
    echo(
        f"ingestion : {ingest['events']} événements en {ingest['seconds']} s = "
        f"{ingest['events_per_s']} évts/s (lot p50 {ingest['batch_ms_p50']} ms, "
        f"p95 {ingest['batch_ms_p95']} ms)"
    )
    if ingest["errors"]:
        echo(f"ERREURS : {ingest['errors']}")
    echo(
        f"latence incident du site -> tableau : p50 {latency['p50_s']} s, "
        f"p95 {latency['p95_s']} s, max {latency['max_s']} s "
        f"({latency['seen']}/{latency['incidents']} incidents vus)"
    )
    workers = report["hub_workers"]
    one_bus = workers > 1 and report["database"] != "postgresql"  # no LISTEN/NOTIFY
    share = f" : ceux d'un processus sur {workers}" if one_bus else ""
    echo(
        f"tableau en direct (SSE) : poussé p50 {latency['push_p50_s']} s, p95 "
        f"{latency['push_p95_s']} s ; page relue p50 {latency['page_p50_s']} s, p95 "
        f"{latency['page_p95_s']} s ({latency['pushed']}/{latency['incidents']} poussés"
        f"{share})"
    )
    echo(
        f"tableau HTML (journée chargée) : p50 {report['board_html']['p50_ms']} ms, "
        f"p95 {report['board_html']['p95_ms']} ms ; JSON p50 {report['board_json']['p50_ms']} "
        f"ms, p95 {report['board_json']['p95_ms']} ms ; incidents p95 "
        f"{report['incidents_html']['p95_ms']} ms"
    )
    if report.get("hub_events_mb") is not None:
        echo(f"table hub_events (données et index) : {report['hub_events_mb']} Mo")
    echo(
        f"stockés : {report['stored_events']} (dont {report['probe_events']} des sites sondes) ; "
        f"une seule fois chacun : {'oui' if report['exactly_once'] else 'NON'}"
    )
