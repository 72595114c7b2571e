"""The live pages across hub processes: two ``Hub`` objects on one real PostgreSQL schema
stand for two uvicorn workers. What one stores or does reaches the other's live bus and
its server-sent-event stream (PostgreSQL LISTEN/NOTIFY), once, in the publisher's order;
an oversize notice stays local; the database going away (a cut TCP proxy) never reaches
ingestion, is logged once per outage, and notices flow again when it returns."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping

import pytest
from sqlalchemy.engine import make_url
from tests.gateway.tcp_proxy import TcpProxy
from tests.hub.conftest import SITE, HubEnv, batch, envelope
from tests.hub.servers import serving, wait_until
from tests.storage.conftest import POSTGRES_URL, PostgresSchemas, postgres  # noqa: F401
from tests.web.conftest import PASSWORD, MovableClock
from tests.web.test_sse import Reader

from seuil.adapters.live import MemoryLiveBus
from seuil.adapters.live.pg_notify import (
    MAX_NOTICE_BYTES,
    PgNotifyBus,
    encode_notice,
    pg_connector,
)
from seuil.domain.accounts import Role
from seuil.domain.hub import EventKind
from seuil.hub.app import HubWebOptions, create_hub_app
from seuil.hub.runtime import Hub
from seuil.hub.settings import HubSettings

INCIDENT = "I-20250901-0001"
LOGGER = "seuil.adapters.live.pg_notify"


class Heard:
    """Everything a hub's local bus delivers (on the delivering thread)."""

    def __init__(self, bus: MemoryLiveBus) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []
        self._lock = threading.Lock()
        bus.listen(self._add)

    def _add(self, topic: str, payload: Mapping[str, object]) -> None:
        with self._lock:
            self.events.append((topic, dict(payload)))

    def of(self, key: str) -> list[object]:
        with self._lock:
            return [p[key] for _, p in self.events if key in p]

    def wait_for(self, key: str, value: object, timeout: float = 10.0) -> bool:
        return wait_until(lambda: value in self.of(key), timeout)


def fanout(hub: Hub) -> PgNotifyBus:
    assert isinstance(hub.live, PgNotifyBus)
    assert hub.live.listening.wait(10), "the listener never LISTENed"
    return hub.live


def through(proxy: TcpProxy, url: str) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


@pytest.fixture
def pg_url(postgres: PostgresSchemas) -> Iterator[str]:  # noqa: F811
    schema, url = postgres.create()
    yield url
    postgres.drop(schema)


@pytest.fixture
def first(pg_url: str) -> Iterator[HubEnv]:
    """Worker 1, with the admin account and a site (as tests/hub/conftest.py's env)."""
    hub = Hub(HubSettings(database_url=pg_url), clock=MovableClock(), fast_hashing=True)
    token = hub.accounts.begin_setup()
    assert token
    hub.accounts.complete_setup(token, "admin", "Admin", PASSWORD)
    tokens = {SITE: hub.service.add_site(SITE, "Lycée Dumont d'Urville", "Toulon", 43.12, 5.93)}
    env = HubEnv(hub, hub.clock, create_hub_app(hub), tokens)  # type: ignore[arg-type]
    yield env
    hub.close()


@pytest.fixture
def second(pg_url: str, first: HubEnv) -> Iterator[Hub]:
    """Worker 2: the same database, its own process-local bus."""
    hub = Hub(HubSettings(database_url=pg_url), fast_hashing=True)
    fanout(first.hub)
    fanout(hub)
    yield hub
    hub.close()


def test_an_incident_ingested_by_one_worker_reaches_the_others_stream(
    first: HubEnv, second: Hub
) -> None:
    first.add_account("operateur", Role.REGIONAL_OPERATOR)
    heard_first, heard_second = Heard(first.hub.bus), Heard(second.bus)
    app = create_hub_app(second, HubWebOptions(sse_keepalive_s=0.3))
    with serving(app) as (host, port):
        cookie = second.accounts.login("operateur", PASSWORD + "!").token
        reader = Reader(f"http://{host}:{port}/events/board", cookie)
        try:
            assert reader.next(None)["comment"] == "seuil"  # subscribed on worker 2
            response = first.post(SITE, batch([envelope(1, EventKind.INCIDENT_OPENED)]))
            assert response.status_code == 200  # stored by worker 1
            # delivered at all (its latency is measured by the benchmark, not here)
            event = reader.next("incident", timeout=15)
            assert event["data"] == {"site": SITE, "incident_id": INCIDENT, "change": "site",
                                     "seq": 1}  # fmt: skip
            # An act at worker 2 reaches worker 1's bus (and worker 2's own stream).
            second.service.acknowledge(first.account("operateur"), SITE, INCIDENT)
            assert reader.next("incident")["data"]["change"] == "ack"  # type: ignore[index]
            assert heard_first.wait_for("change", "ack")
            first.post(SITE, batch([envelope(2, EventKind.PPMS_MODE)]))
            assert reader.next("ppms")["data"] == {"site": SITE, "change": "mode"}
        finally:
            reader.close()
    # Each worker heard each change once: its own notices do not come back to it.
    assert heard_first.of("change") == ["site", "ack", "mode"]
    assert wait_until(lambda: len(heard_second.events) == 3)
    assert heard_second.of("change") == ["site", "ack", "mode"]


def test_a_browser_reconnecting_to_another_worker_is_told_to_resync(
    first: HubEnv, second: Hub
) -> None:
    """Each worker numbers its stream's events: the id a browser got from worker 1 means
    nothing to worker 2, which sends ``resync`` (the page re-reads the board) instead of
    replaying its own events after that number."""
    first.add_account("operateur", Role.REGIONAL_OPERATOR)
    heard_second = Heard(second.bus)
    options = HubWebOptions(sse_keepalive_s=0.3)
    # one session for both workers (signed in at worker 2, whose clock is the real one)
    cookie = second.accounts.login("operateur", PASSWORD + "!").token
    with serving(create_hub_app(first.hub, options)) as (host1, port1), serving(
        create_hub_app(second, options)) as (host2, port2):  # fmt: skip
        reader = Reader(f"http://{host1}:{port1}/events/board", cookie)
        try:
            assert reader.next(None)["comment"] == "seuil"
            assert (
                first.post(SITE, batch([envelope(1, EventKind.INCIDENT_OPENED)])).status_code == 200
            )
            seen = str(reader.next("incident")["id"])
        finally:
            reader.close()
        assert seen.startswith(first.hub.bus.origin + "-")
        first.post(SITE, batch([envelope(2, EventKind.PPMS_MODE)]))  # missed meanwhile
        assert heard_second.wait_for("change", "mode")
        moved = Reader(f"http://{host2}:{port2}/events/board", cookie, last_id=seen)
        try:
            resync = moved.event()
            assert resync["event"] == "resync" and resync["data"] == {"resync": True}
            assert resync["id"] == f"{second.bus.origin}-{second.bus.recent()[-1].id}"
            second.service.acknowledge(first.account("operateur"), SITE, INCIDENT)
            after = moved.event()  # no replay of worker 2's own "site" and "mode" events
            assert after["event"] == "incident" and after["data"]["change"] == "ack"  # type: ignore[index]
        finally:
            moved.close()


def test_notices_from_one_publisher_keep_their_order(first: HubEnv, second: Hub) -> None:
    heard = Heard(second.bus)
    own = Heard(first.hub.bus)

    def publish(lane: str) -> None:
        for n in range(300):
            first.hub.live.publish("board", {"lane": lane, "n": n})

    lanes = [threading.Thread(target=publish, args=(lane,)) for lane in ("a", "b")]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    assert wait_until(lambda: len(heard.events) >= 600, 20), len(heard.events)
    time.sleep(0.2)  # nothing more (no echo, no duplicate) arrives
    assert len(heard.events) == 600 and len(own.events) == 600
    for lane in ("a", "b"):
        assert [p["n"] for _, p in heard.events if p["lane"] == lane] == list(range(300))


def test_a_listener_that_pings_loses_no_notice(first: HubEnv) -> None:
    """The listener checks its link with a query; notices arriving meanwhile are kept
    (here it pings after every 0.25 s wait, and each ping lasts 0.1 s)."""

    class SlowPing(PgNotifyBus):
        @staticmethod
        def _ping(conn) -> None:  # type: ignore[no-untyped-def]
            conn.execute("SELECT pg_sleep(0.1)")

    bus = fanout(first.hub)
    local = MemoryLiveBus()
    pinging = SlowPing(local, pg_connector(first.hub.db), bus.channel, ping_s=0.0)
    try:
        assert pinging.listening.wait(10)
        heard = Heard(local)
        for n in range(150):
            bus.publish("board", {"n": n})
            time.sleep(0.01)  # spread over several pings
        assert heard.wait_for("n", 149)
        assert heard.of("n") == list(range(150))
    finally:
        pinging.close()


def test_an_oversize_notice_stays_local_and_never_reaches_the_caller(
    first: HubEnv, second: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    bus = fanout(first.hub)
    heard, own = Heard(second.bus), Heard(first.hub.bus)

    def sized(seq: int, size: int) -> dict[str, object]:
        """A payload whose notice (the bus's seq-th) is exactly ``size`` bytes, in
        two-byte characters as far as possible (the limit counts bytes)."""
        base = len(encode_notice(bus.origin, seq, "board", {"id": seq, "pad": ""}).encode())
        wide, narrow = divmod(size - base, 2)
        return {"id": seq, "pad": "é" * wide + "a" * narrow}

    caplog.set_level(logging.WARNING, logger=LOGGER)
    bus.publish("board", {"id": 1})
    bus.publish("board", sized(2, MAX_NOTICE_BYTES))  # the largest PostgreSQL takes
    bus.publish("board", sized(3, MAX_NOTICE_BYTES + 1))  # refused, logged, no raise
    bus.publish("board", {"id": 4})
    assert heard.wait_for("id", 4)
    assert heard.of("id") == [1, 2, 4]
    assert own.of("id") == [1, 2, 3, 4]  # this worker's own screens still hear it
    refused = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert refused == [f"live notice board not sent to the other processes: "
                       f"{MAX_NOTICE_BYTES + 1} bytes (limit {MAX_NOTICE_BYTES})"]  # fmt: skip
    assert "é" not in caplog.text  # the content is never logged


def test_a_worker_cut_from_the_database_hears_again_when_it_returns(
    pg_url: str, first: HubEnv, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = make_url(POSTGRES_URL)
    proxy = TcpProxy((upstream.host or "127.0.0.1", upstream.port or 5432))
    caplog.set_level(logging.INFO, logger=LOGGER)
    second = Hub(HubSettings(database_url=through(proxy, pg_url)), fast_hashing=True)
    try:
        bus = fanout(second)
        heard = Heard(second.bus)
        first.hub.live.publish("board", {"n": 0})
        assert heard.wait_for("n", 0)
        proxy.cut()  # connections reset, new ones refused
        assert wait_until(lambda: not bus.listening.is_set(), 10)
        for n in range(1, 4):
            first.hub.live.publish("board", {"n": n})  # worker 2 misses these
        time.sleep(1.6)  # several reconnection attempts (0.1, 0.2, 0.4, 0.8 s)
        lost = [r for r in caplog.records if "interrupted" in r.getMessage()]
        assert len(lost) == 1, [r.getMessage() for r in caplog.records]  # once per outage
        proxy.restore()
        assert bus.listening.wait(10)
        assert heard.wait_for("change", "resync")  # its pages re-read what they missed
        for n in range(4, 9):
            first.hub.live.publish("board", {"n": n})
        assert heard.wait_for("n", 8)
        assert heard.of("n") == [0, 4, 5, 6, 7, 8]
        assert sum("restored" in r.getMessage() for r in caplog.records) == 1
    finally:
        second.close()
        proxy.close()


def test_a_publisher_cut_from_the_database_never_raises_and_recovers(
    pg_url: str, first: HubEnv, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = make_url(POSTGRES_URL)
    proxy = TcpProxy((upstream.host or "127.0.0.1", upstream.port or 5432))
    caplog.set_level(logging.INFO, logger=LOGGER)
    publisher = Hub(HubSettings(database_url=through(proxy, pg_url)), fast_hashing=True)
    held = threading.Event()  # the sender is inside its (re)connection attempt
    release = threading.Event()
    try:
        bus = fanout(publisher)
        connect = bus._connect

        def slow_connect():  # type: ignore[no-untyped-def]
            held.set()
            release.wait(30)  # as a connection attempt waiting for its timeout
            return connect()

        heard = Heard(first.hub.bus)
        publisher.live.publish("board", {"n": 0})
        assert heard.wait_for("n", 0)
        bus._connect = slow_connect  # type: ignore[method-assign]
        proxy.cut()

        def publish_all() -> None:
            for n in range(1, 21):
                publisher.live.publish("board", {"n": n})
                time.sleep(0.05)

        # Publishing never waits for the database: all 20 return while the sender is
        # stuck reconnecting (a publish waiting for it would never return here).
        publishing = threading.Thread(target=publish_all)
        publishing.start()
        assert held.wait(10), "the sender never tried to reconnect"
        publishing.join(15)
        assert not publishing.is_alive() and not release.is_set()
        release.set()
        assert wait_until(lambda: "to the other processes interrupted" in caplog.text, 10)
        lost = [r for r in caplog.records if "to the other processes interrupted" in r.getMessage()]
        assert len(lost) == 1, [r.getMessage() for r in caplog.records]
        proxy.restore()
        n = 20
        while not heard.of("n")[-1:] or heard.of("n")[-1] != n:  # through the backoff
            n += 1
            publisher.live.publish("board", {"n": n})
            assert n < 200, "notices never flowed again"
            time.sleep(0.1)
        after = [x for x in heard.of("n") if isinstance(x, int) and x > 20]
        assert after == sorted(after) and after[-1] == n
        assert sum("to the other processes restored" in r.getMessage()
                   for r in caplog.records) == 1  # fmt: skip
    finally:
        release.set()
        publisher.close()
        proxy.close()


def test_ingestion_succeeds_when_its_notices_cannot_be_sent(
    first: HubEnv, second: Hub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    def refused() -> psycopg.Connection:  # type: ignore[type-arg]
        raise psycopg.OperationalError("connection refused (test)")

    monkeypatch.setattr(fanout(first.hub), "_connect", refused)  # the sender's next connection
    caplog.set_level(logging.WARNING, logger=LOGGER)
    own = Heard(first.hub.bus)
    for seq in (1, 2):
        response = first.post(SITE, batch([envelope(seq, EventKind.INCIDENT_OPENED if seq == 1
                                                     else EventKind.PPMS_MODE)]))  # fmt: skip
        assert response.status_code == 200, response.text
    assert [e[0] for e in first.stored(SITE)] == [1, 2]
    assert own.of("change") == ["site", "mode"]  # this worker's screens heard both
    assert wait_until(lambda: "to the other processes interrupted" in caplog.text, 5)
    assert caplog.text.count("to the other processes interrupted") == 1


class Recorded:
    """The backend pids of the live connections a hub opens (its listener and sender),
    recorded as they connect: other hubs on the server (parallel runs) are not counted,
    and a connection's current query (``LISTEN``, then its pings) does not matter."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pids: list[int] = []
        self._lock = threading.Lock()
        monkeypatch.setattr("seuil.hub.runtime.pg_connector", self._connector)

    def _connector(self, engine, timeout_s: int = 3):  # type: ignore[no-untyped-def]
        connect = pg_connector(engine, timeout_s)

        def recorded():  # type: ignore[no-untyped-def]
            conn = connect()
            with self._lock:
                self.pids.append(conn.info.backend_pid)
            return conn

        return recorded

    def alive(self, hub: Hub) -> int:
        with self._lock:
            pids = list(self.pids)
        with hub.db.connect() as conn:
            return int(conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%(p)s) "
                "AND application_name = 'seuil live'", {"p": pids}).scalar() or 0)  # fmt: skip


def test_closing_a_worker_stops_its_threads_and_connections(
    pg_url: str, first: HubEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = Recorded(monkeypatch)
    second = Hub(HubSettings(database_url=pg_url), fast_hashing=True)
    bus = fanout(second)
    bus.publish("board", {"n": 1})  # the sender connects too
    assert Heard(first.hub.bus).wait_for("n", 1)
    assert len(live.pids) == 2 and live.alive(first.hub) == 2  # listener and sender
    second.close()
    assert not [t for t in threading.enumerate() if t.name.endswith(bus.origin)]
    assert wait_until(lambda: live.alive(first.hub) == 0, 5)


def test_a_sender_whose_connection_went_stale_resends_on_a_fresh_one(
    pg_url: str, first: HubEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing pings the sender's idle connection: after a server restart, an idle
    timeout or a terminated backend, the next batch is sent again on a new connection
    instead of being lost while the database is up."""
    live = Recorded(monkeypatch)
    second = Hub(HubSettings(database_url=pg_url), fast_hashing=True)
    try:
        bus = fanout(second)
        caplog.set_level(logging.DEBUG, logger=LOGGER)
        heard = Heard(first.hub.bus)
        bus.publish("board", {"n": 1})  # the sender connects
        assert heard.wait_for("n", 1)
        listener, sender = live.pids
        with first.hub.db.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_terminate_backend(%(p)s)",
                                        {"p": sender}).scalar()  # fmt: skip
        assert wait_until(lambda: live.alive(first.hub) == 1, 5)  # the listener's only
        bus.publish("board", {"n": 2})
        assert heard.wait_for("n", 2)
        assert heard.of("n") == [1, 2]
        assert len(live.pids) == 3 and live.pids[0] == listener  # one fresh sender link
        assert "stale" in caplog.text and "interrupted" not in caplog.text
    finally:
        second.close()


def test_a_sqlite_trial_keeps_the_in_process_bus(tmp_path) -> None:  # type: ignore[no-untyped-def]
    hub = Hub(HubSettings(database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}"))
    try:
        assert hub.live is hub.bus and isinstance(hub.bus, MemoryLiveBus)
    finally:
        hub.close()
