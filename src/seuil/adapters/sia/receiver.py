"""The SIA DC-09 receiver: asyncio TCP and UDP servers for alarm panels.

Each frame is answered: ACK when it passed every check and its signals were handed
to the callback, NAK otherwise (with the reason logged and counted). A TCP line is
bounded (:data:`~seuil.adapters.sia.frame.MAX_FRAME`) and an idle connection is closed,
so no peer can make the receiver crash, grow without bound or hang. Every accepted
frame, NULL link tests included, updates the account's "last seen" for supervision.
Over TCP the signals are handed to the callback in a worker thread (storing them waits
for the disk): the event loop keeps serving the other panels meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import cast

from seuil.adapters.sia.frame import (
    MAX_FRAME,
    Frame,
    FrameError,
    SiaAccount,
    ack,
    nak,
    parse_frame,
)
from seuil.adapters.sia.messages import signals_from_frame
from seuil.domain.incidents import Signal
from seuil.ports.clock import Clock

__all__ = ["SiaReceiver"]

log = logging.getLogger(__name__)
_CHUNK = 4096


class SiaReceiver:
    """Checks frames, answers them, and hands their signals to ``on_signal``."""

    def __init__(
        self,
        accounts: Iterable[SiaAccount],
        on_signal: Callable[[Signal], object],
        clock: Clock,
        *,
        window: tuple[timedelta, timedelta] = (timedelta(seconds=40), timedelta(seconds=20)),
        idle_timeout: float = 120.0,
    ) -> None:
        self._accounts = {a.account.upper(): a for a in accounts}
        self._on_signal = on_signal
        self._clock = clock
        self._window = window
        self._idle_timeout = idle_timeout
        self._started_at = clock.now()
        self._last_seen: dict[str, datetime] = {}
        self.rejected: Counter[str] = Counter()  # reason -> count

    @property
    def last_seen(self) -> Mapping[str, datetime]:
        return dict(self._last_seen)

    def silent_accounts(self, now: datetime, interval: timedelta) -> list[str]:
        """Accounts with no accepted frame for longer than ``interval`` (sorted).

        An account never heard from counts from the receiver's start.
        """
        return sorted(
            account
            for account in self._accounts
            if now - self._last_seen.get(account, self._started_at) > interval
        )

    def handle(self, data: bytes) -> bytes:
        """The answer to one frame (LF/CR and surrounding blanks allowed). Never raises."""
        checked = self._check(data)
        return checked if isinstance(checked, bytes) else self._deliver(*checked)

    async def handle_async(self, data: bytes) -> bytes:
        """:meth:`handle`, with the signals handed over in a worker thread: the event
        loop keeps reading and answering other panels while one waits for its signals
        to be stored (an fsync), and concurrent frames can share that fsync."""
        checked = self._check(data)
        if isinstance(checked, bytes):
            return checked
        return await asyncio.to_thread(self._deliver, *checked)

    def _check(self, data: bytes) -> bytes | tuple[Frame, SiaAccount, list[Signal], datetime]:
        """The frame's signals, or the NAK that refuses it."""
        now = self._clock.now()
        line = data.strip(b"\n\r\t \x00")
        try:
            frame = parse_frame(line, self._accounts, now, window=self._window)
            account = self._accounts[frame.account]
            signals = signals_from_frame(frame, account.site, now)
        except FrameError as exc:
            return self._reject(exc.reason, now)
        except Exception:  # a bug must cost a NAK (the panel retries), never the server
            log.exception("SIA frame crashed the parser")
            return self._reject("internal_error", now)
        return frame, account, list(signals), now

    def _deliver(
        self, frame: Frame, account: SiaAccount, signals: list[Signal], now: datetime
    ) -> bytes:
        try:
            for signal in signals:
                self._on_signal(signal)
        except Exception:
            log.exception("SIA signal callback failed for account %s", frame.account)
            return self._reject("callback_failed", now)
        self._last_seen[frame.account] = now
        return ack(frame, account, now)

    def _reject(self, reason: str, now: datetime) -> bytes:
        self.rejected[reason] += 1
        log.warning("SIA frame refused: %s", reason)
        return nak(now)

    # ------------------------------------------------------------------ TCP

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer = b""
        overlong = False
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(_CHUNK), self._idle_timeout)
                if not chunk:
                    break
                buffer += chunk
                while b"\r" in buffer:
                    line, _, buffer = buffer.partition(b"\r")
                    if overlong:  # the tail of a line already refused
                        overlong = False
                        continue
                    if line.strip(b"\n\t \x00"):
                        writer.write(await self.handle_async(line))
                if len(buffer) > MAX_FRAME + 2:
                    if not overlong:
                        writer.write(self._reject("too_long", self._clock.now()))
                    overlong, buffer = True, b""
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def start_tcp(self, host: str, port: int) -> asyncio.Server:
        """Listen on TCP; ``port=0`` picks a free port (see ``server.sockets``)."""
        return await asyncio.start_server(self._serve_tcp, host, port)

    # ------------------------------------------------------------------ UDP

    async def start_udp(self, host: str, port: int) -> asyncio.DatagramTransport:
        """Listen on UDP: one frame per datagram, one answer per frame."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(host, port)
        )
        return transport


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: SiaReceiver) -> None:
        self._receiver = receiver
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # the selector loop's UDP transport does not subclass DatagramTransport
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if self._transport is not None and data.strip(b"\n\r\t \x00"):
            self._transport.sendto(self._receiver.handle(data), addr)
