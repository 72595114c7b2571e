"""A durable disk buffer in front of a SignalSink: nothing is lost while the database is down.

:class:`SpoolingSink` hands each signal to the sink. When the sink raises
:class:`~seuil.domain.errors.StorageUnavailableError`, the signal is appended to the
spool file, fsynced, and ``receive`` returns normally (the panel gets its ACK, the MQTT
message its PUBACK). :meth:`SpoolingSink.drain` replays the spool in order once the sink
works again; a background thread (:meth:`SpoolingSink.start`) does it periodically.

Why an append-only JSON-lines file rather than a SQLite file: the spool must keep
working exactly when storage is in trouble, so it shares nothing with the database
(no driver, no lock, no journal); one ``write`` + ``fsync`` per signal is the cheapest
durable append (and signals appended at the same time by several threads share one
``fsync``: group commit); a damaged line costs that line alone (its CRC-32 tells), where a damaged
SQLite page can cost the file; and a human can read it with ``cat``.

Files, for a spool ``PATH``:

- ``PATH``: one line per signal, ``<crc32 hex8> <signal JSON>\\n``, oldest first;
- ``PATH.offset``: the byte offset of the first signal not yet accepted by the sink,
  replaced atomically after each accepted signal or batch (so after a crash at most
  the signals in flight, one batch, are handed over twice: the port says that is
  harmless);
- ``PATH.quarantine``: lines that failed their checksum or could not be read (and a
  torn last line left by a crash mid-write), one JSON object each, with the reason.

When everything is delivered the spool is truncated to zero. While signals are
pending, new ones are spooled behind them, so the sink sees them in order.

With ``write_ahead=True`` (the site process) every signal is spooled first and
``receive`` returns once it is on disk: a panel's ACK then costs one fsync, not a
database transaction, and a burst of alarms is absorbed by the file while the
background thread (:meth:`SpoolingSink.start`, woken by each new signal) applies them
in order. The offset file is then written without fsync: after a power cut a few
signals may be handed over again, which the incident engine recognises and ignores.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import zlib
from pathlib import Path

from seuil.adapters.signal_json import signal_from_json, signal_to_json
from seuil.domain.errors import StorageUnavailableError
from seuil.domain.incidents import Signal
from seuil.ports.signals import BatchSignalSink, SignalSink

__all__ = ["DEFAULT_BATCH", "SpoolingSink", "decode_line", "encode_line"]

DEFAULT_BATCH = 200  # signals per transaction when draining into a batch sink

log = logging.getLogger(__name__)


def encode_line(signal: Signal) -> bytes:
    body = signal_to_json(signal).encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(body), body)


def decode_line(line: bytes) -> Signal:
    """The signal of one spool line (with or without its newline), or ValueError."""
    line = line.rstrip(b"\n")
    head, space, body = line.partition(b" ")
    if not space or len(head) != 8:
        raise ValueError("no checksum")
    try:
        expected = int(head, 16)
    except ValueError:
        raise ValueError("no checksum") from None
    if zlib.crc32(body) != expected:
        raise ValueError("checksum mismatch")
    try:
        return signal_from_json(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"unreadable signal: {str(exc)[:80]}") from None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolingSink:
    """A SignalSink that never loses a signal to a storage outage (see the module doc)."""

    def __init__(
        self,
        sink: SignalSink,
        path: Path | str,
        *,
        write_ahead: bool = False,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self._sink = sink
        # Up to ``batch`` pending signals per call when the sink takes batches.
        self._batch = max(1, batch) if isinstance(sink, BatchSignalSink) else 1
        self.write_ahead = write_ahead
        self._wake = threading.Event()
        self.path = Path(path)
        self._offset_path = self.path.with_name(self.path.name + ".offset")
        self.quarantine_path = self.path.with_name(self.path.name + ".quarantine")
        self._lock = threading.Lock()  # the files and counters
        self._drain_lock = threading.Lock()  # one drain at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.quarantined = 0
        self.spooled = 0  # signals written to the spool since start
        self._sync_lock = threading.Lock()  # one fsync at a time
        self._synced = 0  # every line up to this count is on disk
        self.fsyncs = 0  # fsyncs of appended signals (fewer than signals under load)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            existed = self.path.exists()
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            if not existed:
                _fsync_dir(self.path.parent)
            self._offset, self._pending = self._recover()
        except OSError as exc:
            raise StorageUnavailableError(
                f"cannot open the signal spool {self.path}: {exc.strerror}"
            ) from None
        if self._pending:
            log.warning("signal spool %s: %d signals waiting from before", self.path, self._pending)

    # -- state ----------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Signals on disk not yet accepted by the sink."""
        return self._pending

    def _recover(self) -> tuple[int, int]:
        size = os.fstat(self._fd).st_size
        if size:
            last = os.pread(self._fd, 1, size - 1)
            if last != b"\n":  # a crash in the middle of an append
                data = os.pread(self._fd, size, 0)
                keep = data.rfind(b"\n") + 1
                self._quarantine(data[keep:], "torn write")
                os.ftruncate(self._fd, keep)
                os.fsync(self._fd)
                size = keep
        offset = self._read_offset()
        if not 0 <= offset <= size:
            log.warning("signal spool %s: offset %d out of range, replaying all", self.path, offset)
            offset = 0
        if offset and os.pread(self._fd, 1, offset - 1) != b"\n":
            log.warning(
                "signal spool %s: offset %d not at a line start, replaying all", self.path, offset
            )
            offset = 0
        pending = os.pread(self._fd, size - offset, offset).count(b"\n") if size > offset else 0
        return offset, pending

    def _read_offset(self) -> int:
        try:
            return int(self._offset_path.read_text(encoding="ascii").strip() or "0")
        except FileNotFoundError:
            return 0
        except (OSError, ValueError):
            log.warning("signal spool %s: unreadable offset file, replaying all", self.path)
            return 0

    def _write_offset(self, offset: int) -> None:
        tmp = self._offset_path.with_name(self._offset_path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"%d\n" % offset)
            if not self.write_ahead:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self._offset_path)
        if not self.write_ahead:
            _fsync_dir(self.path.parent)
        self._offset = offset

    def _quarantine(self, line: bytes, reason: str) -> None:
        entry = {"reason": reason, "line": line.rstrip(b"\n").decode("utf-8", "backslashreplace")}
        with open(self.quarantine_path, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        self.quarantined += 1
        log.error("signal spool %s: a line was quarantined (%s)", self.path, reason)

    # -- the port -------------------------------------------------------------------------

    def receive(self, signal: Signal) -> None:
        """Hand over to the sink, or spool on disk; raises only if the disk fails too.

        Returns once the signal is on disk (fsynced). Callers in several threads (the
        SIA receiver hands each frame to a worker) share fsyncs: one fsync covers every
        line written before it started (group commit), so N concurrent panels do not
        wait for N fsyncs one after the other."""
        with self._lock:
            if self._pending == 0 and not self.write_ahead:
                try:
                    self._sink.receive(signal)
                    return
                except StorageUnavailableError as exc:
                    log.warning("signal sink unavailable (%s); spooling to %s", exc, self.path)
            ticket = self._append(signal)
        self._sync(ticket)
        self._wake.set()

    def _append(self, signal: Signal) -> int:
        """Write one line (not yet fsynced); its number since start."""
        line = encode_line(signal)
        try:
            written = 0
            while written < len(line):
                written += os.write(self._fd, line[written:])
        except OSError as exc:
            raise self._disk_error(exc) from None
        self._pending += 1
        self.spooled += 1
        return self.spooled

    def _sync(self, ticket: int) -> None:
        """Return once line ``ticket`` is on disk, fsyncing unless another fsync that
        started after it was written already did."""
        with self._sync_lock:
            if self._synced >= ticket:
                return
            with self._lock:
                covered = self.spooled  # written before this fsync starts
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise self._disk_error(exc) from None
            self._synced = covered
            self.fsyncs += 1

    def _disk_error(self, exc: OSError) -> StorageUnavailableError:
        return StorageUnavailableError(
            f"the database is unavailable and the signal spool {self.path} "
            f"cannot be written: {exc.strerror}"
        )

    # -- replay ---------------------------------------------------------------------------

    def _next_lines(self, limit: int) -> list[tuple[bytes, int]]:
        """Up to ``limit`` pending lines from the offset, each with the offset after it."""
        limit = min(limit, self._pending)
        size = os.fstat(self._fd).st_size
        found: list[tuple[bytes, int]] = []
        buffer = b""
        start = position = self._offset  # ``buffer`` begins at ``start``
        while len(found) < limit and position < size:
            piece = os.pread(self._fd, min(1 << 16, size - position), position)
            if not piece:
                break
            position += len(piece)
            buffer += piece
            used = 0
            while len(found) < limit:
                end = buffer.find(b"\n", used)
                if end < 0:
                    break
                found.append((buffer[used : end + 1], start + end + 1))
                used = end + 1
            buffer, start = buffer[used:], start + used
        if not found:
            raise RuntimeError(f"signal spool {self.path}: pending count and file disagree")
        return found

    def _advance(self, next_offset: int, count: int = 1) -> None:
        self._pending -= count
        if self._pending == 0:  # all delivered: start afresh
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
            self._write_offset(0)
        else:
            self._write_offset(next_offset)

    def drain(self) -> int:
        """Replay spooled signals in order; the number the sink accepted.

        With a batch sink (:class:`~seuil.ports.signals.BatchSignalSink`), up to
        ``batch`` signals go in one call, and leave the spool only once it returned
        (committed). Stops at the first StorageUnavailableError (the signals stay first
        in line). A line that does not read back is quarantined (kept on disk, logged)
        so it cannot block those behind it; a batch the sink refuses with another error
        is handed over again one signal at a time, so the one it refuses is quarantined
        alone.
        """
        delivered = 0
        with self._drain_lock:
            while True:
                with self._lock:
                    if self._pending == 0:
                        break
                    lines = self._next_lines(self._batch)
                signals: list[Signal] = []
                for line, next_offset in lines:
                    try:
                        signals.append(decode_line(line))
                    except ValueError as exc:
                        if not signals:  # first in line: set it aside
                            with self._lock:
                                self._quarantine(line, str(exc))
                                self._advance(next_offset)
                        break  # the good ones before it go first
                if not signals:
                    continue
                handled, accepted = self._apply(signals, lines)
                delivered += accepted
                if handled < len(signals):  # the sink is unavailable
                    break
        if delivered:
            log.info(
                "signal spool %s: %d signals applied, %d left", self.path, delivered, self._pending
            )
        return delivered

    def _apply(self, signals: list[Signal], lines: list[tuple[bytes, int]]) -> tuple[int, int]:
        """Hand ``signals`` (the first of ``lines``) to the sink: how many left the spool
        (fewer than given only when the sink is unavailable), how many it accepted."""
        if len(signals) > 1 and isinstance(self._sink, BatchSignalSink):
            try:
                self._sink.receive_many(signals)
            except StorageUnavailableError as exc:
                log.info("signal spool %s: sink still unavailable (%s)", self.path, exc)
                return 0, 0
            except Exception as exc:
                log.warning(
                    "signal spool %s: a batch of %d was refused (%s); one at a time",
                    self.path, len(signals), type(exc).__name__,
                )  # fmt: skip
            else:
                with self._lock:
                    self._advance(lines[len(signals) - 1][1], len(signals))
                return len(signals), len(signals)
        done = accepted = 0
        for signal, (line, next_offset) in zip(signals, lines, strict=False):
            try:
                self._sink.receive(signal)
            except StorageUnavailableError as exc:
                log.info("signal spool %s: sink still unavailable (%s)", self.path, exc)
                return done, accepted
            except Exception as exc:
                log.exception("signal spool %s: the sink refused a spooled signal", self.path)
                with self._lock:
                    self._quarantine(line, f"sink refused: {type(exc).__name__}")
                    self._advance(next_offset)
            else:
                with self._lock:
                    self._advance(next_offset)
                accepted += 1
            done += 1
        return done, accepted

    # -- background replay ------------------------------------------------------------------

    def start(self, interval_s: float = 2.0) -> None:
        """Drain in a daemon thread until :meth:`close`: at once when a signal is spooled
        (and every ``interval_s`` seconds), waiting ``interval_s`` after a failure."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                self._wake.wait(interval_s)
                self._wake.clear()
                if self._stop.is_set() or not self._pending:
                    continue
                try:
                    self.drain()
                except Exception:  # never let the drainer die silently
                    log.exception("signal spool %s: drain failed", self.path)
                if self._pending:  # the sink is down: do not spin on new arrivals
                    self._stop.wait(interval_s)

        self._thread = threading.Thread(target=loop, name="signal-spool-drain", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def __enter__(self) -> SpoolingSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
