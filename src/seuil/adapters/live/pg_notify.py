"""The live bus across processes: PostgreSQL ``LISTEN/NOTIFY`` in front of a local bus.

With several hub processes (``uvicorn --workers N``) a browser's stream is held by one
of them. :class:`PgNotifyBus` implements the same ``publish`` as :class:`MemoryLiveBus`:

- ``publish`` delivers to the local bus at once (this process's screens), then queues
  the notice for a sender thread, which sends it with ``pg_notify`` on the hub's own
  database. The callers (hub ingestion and use cases) publish *after* their commit, so
  a notice can never announce a change another process cannot read yet. The sender
  has its own autocommit connection: publish never blocks and never raises (a batch
  failing on the kept connection is sent again once on a fresh one; a notice that
  still cannot be sent is logged and lost; the pages' periodic refresh covers it);
- one listener thread per process holds its own connection, ``LISTEN``s on the
  channel and republishes every notice of the other processes into the local bus that
  the server-sent-event streams read (its own notices are recognised by an origin id
  and skipped: they were delivered locally already);
- when the database goes away both threads log once per outage (not per attempt) and
  reconnect with backoff; once the listener hears again it announces ``resync`` so the
  pages re-read what they missed.

A notice is ``{"o": origin, "n": seq, "t": topic, "p": payload}`` in compact JSON. The
hub's payloads are ids only; PostgreSQL refuses a payload of 8000 bytes or more, so a
larger notice is refused here (logged with its topic and size, never its content) and
only the local screens hear it. Notices from one publisher arrive in the order it
published them (one sender thread, one connection, FIFO).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql

from seuil.adapters.live.memory_bus import MemoryLiveBus

log = logging.getLogger(__name__)

MAX_NOTICE_BYTES = 7999  # PostgreSQL: "payload string too long" from 8000 bytes
_BATCH = 200  # notices sent in one transaction (delivered in order at its commit)

Connect = Callable[[], "psycopg.Connection[Any]"]


def live_channel(engine: sa.Engine) -> str:
    """The channel of the database's current schema: hubs in different schemas of one
    server (and parallel test runs) never hear each other."""
    with engine.connect() as conn:
        schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar())
    channel = f"seuil_live_{schema}"
    if len(channel.encode()) > 63:  # identifiers are at most 63 bytes
        channel = "seuil_live_" + hashlib.sha256(schema.encode()).hexdigest()[:32]
    return channel


def pg_connector(engine: sa.Engine, timeout_s: int = 3) -> Connect:
    """Opens a plain psycopg autocommit connection to the engine's database (same
    server, user and options as the engine), with TCP keepalives."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    cparams.pop("context", None)
    params: dict[str, Any] = {"connect_timeout": timeout_s, "keepalives": 1,
                              "keepalives_idle": 10, "keepalives_interval": 5,
                              "keepalives_count": 3, "application_name": "seuil live"}  # fmt: skip
    params.update(cparams)

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(*cargs, autocommit=True, **params)

    return connect


def encode_notice(origin: str, seq: int, topic: str, payload: Mapping[str, object]) -> str:
    return json.dumps({"o": origin, "n": seq, "t": topic, "p": dict(payload)},
                      ensure_ascii=False, separators=(",", ":"), default=str)  # fmt: skip


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Outage:
    """Logs the start and the end of an outage once each, whatever the attempts."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None
        self.lost = 0

    def failed(self, exc: BaseException, lost: int = 0) -> None:
        self.lost += lost
        if self.since is None:
            self.since = time.monotonic()
            log.warning("%s interrupted (%s); retrying with backoff", self.what,
                        _first_line(exc))  # fmt: skip

    def ended(self) -> bool:
        if self.since is None:
            return False
        lost = f", {self.lost} notices not sent" if self.lost else ""
        log.info("%s restored after %.1f s%s", self.what, time.monotonic() - self.since,
                 lost)  # fmt: skip
        self.since, self.lost = None, 0
        return True


class PgNotifyBus:
    """Implements :class:`seuil.ports.notify.LiveBus` for several processes."""

    def __init__(
        self,
        local: MemoryLiveBus,
        connect: Connect,
        channel: str,
        *,
        resync: tuple[str, Mapping[str, object]] | None = None,
        queue_size: int = 10_000,
        retry_max_s: float = 5.0,
        ping_s: float = 10.0,
    ) -> None:
        self.local = local
        self.channel = channel
        self.origin = secrets.token_hex(6)
        self.listening = threading.Event()  # set while LISTEN is active
        self._connect = connect
        self._resync = resync
        self._retry_max_s = retry_max_s
        self._ping_s = ping_s
        self._seq = itertools.count(1)
        self._order = threading.Lock()
        self._outbox: queue.Queue[str | None] = queue.Queue(maxsize=queue_size)
        self._full = False
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._send_loop, name=f"live-notify-send-{self.origin}", daemon=True
            ),
            threading.Thread(
                target=self._listen_loop, name=f"live-notify-listen-{self.origin}", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    # -- publishing (any thread) --------------------------------------------------------

    def publish(self, topic: str, payload: Mapping[str, object]) -> None:
        self.local.publish(topic, payload)
        try:
            with self._order:
                notice = encode_notice(self.origin, next(self._seq), topic, payload)
                size = len(notice.encode())
                if size > MAX_NOTICE_BYTES:
                    log.warning("live notice %s not sent to the other processes: %d bytes "
                                "(limit %d)", topic, size, MAX_NOTICE_BYTES)  # fmt: skip
                    return
                self._outbox.put_nowait(notice)
                self._full = False
        except queue.Full:
            if not self._full:  # once per overflow, not per notice
                self._full = True
                log.warning("live notices queue full: notices dropped until it drains")
        except Exception:  # never let a screen problem reach ingestion
            log.exception("live notice %s not queued", topic)

    # -- sender thread -----------------------------------------------------------------

    def _send_loop(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        outage = _Outage("live notices to the other processes")
        retry_at, delay = 0.0, 0.1
        while True:
            try:
                item = self._outbox.get(timeout=0.25)
            except queue.Empty:
                if self._stop.is_set():
                    break
                continue
            batch = [item]
            while len(batch) < _BATCH and batch[-1] is not None:
                try:
                    batch.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            stopping = batch[-1] is None
            notices = [n for n in batch if n is not None]
            if notices and time.monotonic() < retry_at:
                outage.lost += len(notices)  # still in the backoff after a failure
            elif notices:
                try:
                    conn = self._send(conn, notices)
                    outage.ended()
                    delay = 0.1
                except Exception as exc:
                    outage.failed(exc, len(notices))
                    self._close(conn)
                    conn = None
                    retry_at, delay = time.monotonic() + delay, min(delay * 2, self._retry_max_s)
            if stopping:
                break
        self._close(conn)

    def _send(
        self, conn: psycopg.Connection[Any] | None, notices: list[str]
    ) -> psycopg.Connection[Any]:
        """Sends one batch and returns the connection to keep. The connection may have
        gone stale since the last batch (server restart, terminated backend, idle
        timeout: nothing pings it), so a batch failing on a reused connection is tried
        once more on a fresh one; a failure on a fresh connection is an outage."""
        if conn is not None and not conn.closed:
            try:
                self._notify(conn, notices)
                return conn
            except psycopg.Error as exc:
                log.debug("live notify connection stale (%s); reconnecting", _first_line(exc))
                self._close(conn)
        conn = self._connect()
        try:
            self._notify(conn, notices)
        except BaseException:
            self._close(conn)
            raise
        return conn

    def _notify(self, conn: psycopg.Connection[Any], notices: list[str]) -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany("SELECT pg_notify(%s, %s)",
                            [(self.channel, n) for n in notices])  # fmt: skip

    # -- listener thread ---------------------------------------------------------------

    def _listen_loop(self) -> None:
        outage = _Outage("live notices from the other processes")
        delay = 0.1
        while not self._stop.is_set():
            conn: psycopg.Connection[Any] | None = None
            try:
                conn = self._connect()
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                self.listening.set()
                if outage.ended() and self._resync is not None:
                    self.local.publish(*self._resync)  # pages re-read what they missed
                delay = 0.1
                self._hear(conn)
            except Exception as exc:
                if not self._stop.is_set():
                    outage.failed(exc)
            finally:
                self.listening.clear()
                self._close(conn)
            self._stop.wait(delay)
            delay = min(delay * 2, self._retry_max_s)

    def _hear(self, conn: psycopg.Connection[Any]) -> None:
        pinged = time.monotonic()
        while not self._stop.is_set():
            for notice in conn.notifies(timeout=0.25):
                self._deliver(notice.payload)
            if time.monotonic() - pinged >= self._ping_s:  # a silent link is noticed too
                self._ping(conn)
                pinged = time.monotonic()

    @staticmethod
    def _ping(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SELECT 1")  # notices arriving meanwhile wait in psycopg's backlog

    def _deliver(self, raw: str) -> None:
        try:
            notice = json.loads(raw)
            origin, topic, payload = notice["o"], notice["t"], notice["p"]
            if not isinstance(topic, str) or not isinstance(payload, dict):
                raise ValueError("not a live notice")
        except (ValueError, KeyError, TypeError):
            log.warning("live notice ignored on %s: not a seuil notice (%d bytes)",
                        self.channel, len(raw))  # fmt: skip
            return
        if origin != self.origin:  # our own were delivered locally at publish
            self.local.publish(topic, payload)

    # -- closing -----------------------------------------------------------------------

    @staticmethod
    def _close(conn: psycopg.Connection[Any] | None) -> None:
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("live notify connection not closed cleanly", exc_info=True)

    def close(self, timeout: float = 3.0) -> None:
        """Sends what is queued, then stops both threads and closes their connections."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._outbox.put(None, timeout=timeout)
        for thread in self._threads:
            thread.join(timeout)
