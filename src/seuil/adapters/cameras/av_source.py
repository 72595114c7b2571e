"""Network cameras (RTSP, RTSPS, HTTP MJPEG) and webcams, decoded with PyAV.

Why PyAV rather than OpenCV's FFmpeg backend (both wrap the same FFmpeg libraries; both
were tried against the test cameras in ``tests/gate``):

- *resolution changes*: after a camera switched from 640x360 to 320x240, OpenCV kept
  returning 640x360 frames (it rescales silently to the first size), so the change could
  not be detected; PyAV hands over each frame at its real size;
- *corrupt frames*: OpenCV's ``read()`` gives no way to tell a damaged JPEG from a slow
  network (it skips it or returns False); PyAV raises for each packet that does not
  decode and flags concealed frames, so they are counted and never passed on;
- *control*: per-protocol options (``rtsp_transport=tcp``, TLS verification) and separate
  open and read timeouts, where OpenCV exposes two global timeouts;
- *TLS for RTSPS/HTTPS*: the PyAV wheel links a current GnuTLS, the opencv-python wheel's
  FFmpeg an OpenSSL 1.1.1 that is out of support;
- it is typed (``.pyi`` stubs) and well kept. The cost: a ~35 MB wheel.

A source runs one daemon thread that connects, decodes, and reconnects after a fault with
exponential backoff and jitter (bounded by ``Backoff.maximum_s``). A read that brings
nothing for ``stall_timeout_s`` (or only undecodable data) is a stall: a ``stalled``
fault, then a reconnection. Each outage raises one fault (``disconnected`` or
``stalled``), not one per failed attempt. URLs are only ever logged masked.

Limit: a read blocked in FFmpeg cannot be interrupted from another thread, so
:meth:`stop` may leave the daemon thread running until that read times out (at most
``stall_timeout_s``); the thread then exits by itself.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
from av.container import InputContainer

from seuil.adapters.cameras._decode import decoded_frames, rgb_converter, video_stream
from seuil.adapters.cameras._threaded import ThreadedSource
from seuil.adapters.cameras.urls import mask_url, scrub, validate_camera_url
from seuil.domain.errors import ConfigurationError
from seuil.ports.clock import Clock
from seuil.ports.frames import DeviceFaultKind, FaultCallback, SourceState

__all__ = ["Backoff", "StreamSource"]

logger = logging.getLogger(__name__)

_DEVICE = re.compile(r"^/dev/video\d+$")
_AUTH_ERRORS = (
    av.error.HTTPUnauthorizedError,
    av.error.HTTPForbiddenError,
    av.error.PermissionError,
)
_FATAL_ERRORS = (
    av.error.ProtocolNotFoundError,
    av.error.DemuxerNotFoundError,
    av.error.DecoderNotFoundError,
    av.error.OptionNotFoundError,
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnection attempts: exponential, jittered, bounded.

    Attempt ``n`` (0-based) waits between half and all of
    ``min(maximum_s, initial_s * factor**n)`` ("equal jitter"), so that cameras that
    dropped together do not all reconnect in the same instant.
    """

    initial_s: float = 0.5
    maximum_s: float = 30.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.maximum_s or self.factor < 1:
            raise ConfigurationError("backoff needs 0 < initial <= maximum and factor >= 1")

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.maximum_s, self.initial_s * self.factor ** min(attempt, 64))
        return ceiling / 2 + rng.uniform(0.0, ceiling / 2)


class _StallError(Exception):
    """Data arrives but no frame decodes: the same as no data."""


@dataclass(frozen=True, slots=True)
class _Target:
    """What to hand to ``av.open``: the URL or device, its format, and options."""

    location: str
    format: str | None
    options: dict[str, str]


class StreamSource(ThreadedSource):
    """A live camera: ``rtsp://``, ``rtsps://``, ``http(s)://`` MJPEG, or a webcam index.

    ``url`` may carry credentials (``rtsp://user:password@host/path``): they are passed
    to FFmpeg and never logged. ``tls_verify``/``ca_file`` check an ``https://`` camera's
    certificate; ``rtsps://`` is encrypted but its certificate cannot be checked (FFmpeg
    does not pass these options to its RTSP client's TLS layer), so asking for it there
    is a configuration error. A webcam is an ``int`` (or ``"/dev/videoN"``), opened
    through Video4Linux2 with ``device_options`` (e.g. ``{"video_size": "1280x720",
    "framerate": "15", "input_format": "mjpeg"}``).
    """

    def __init__(
        self,
        url: str | int,
        camera_id: str,
        *,
        open_timeout_s: float = 10.0,
        stall_timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        max_attempts: int | None = None,
        rtsp_transport: str = "tcp",
        tls_verify: bool = False,
        ca_file: Path | None = None,
        device_options: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        on_fault: FaultCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(camera_id, clock=clock, on_fault=on_fault)
        if open_timeout_s <= 0 or stall_timeout_s <= 0:
            raise ConfigurationError("camera timeouts must be positive")
        if max_attempts is not None and max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1 (or None: forever)")
        if rtsp_transport not in {"tcp", "udp", "udp_multicast", "http", "https"}:
            raise ConfigurationError(f"unknown RTSP transport {rtsp_transport!r}")
        self._url = str(url)
        self.display_url = mask_url(self._url)
        self.open_timeout_s = open_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._target = self._make_target(
            url, rtsp_transport, tls_verify, ca_file, dict(device_options or {})
        )
        self._in_outage = False

    def __repr__(self) -> str:
        return f"StreamSource({self.display_url!r}, camera_id={self.camera_id!r})"

    @staticmethod
    def _make_target(
        url: str | int,
        rtsp_transport: str,
        tls_verify: bool,
        ca_file: Path | None,
        device_options: dict[str, str],
    ) -> _Target:
        text = str(url).strip()
        if isinstance(url, int) or text.isdigit():
            return _Target(f"/dev/video{int(text)}", "v4l2", device_options)
        if _DEVICE.match(text):
            return _Target(text, "v4l2", device_options)
        scheme = validate_camera_url(text)
        options = {"user_agent": "seuil"} if scheme.startswith("http") else {}
        if scheme.startswith("rtsp"):
            options["rtsp_transport"] = rtsp_transport
        if scheme == "https":
            options["tls_verify"] = "1" if tls_verify else "0"
            if ca_file is not None:
                options["ca_file"] = str(ca_file)
        elif scheme == "rtsps" and (tls_verify or ca_file is not None):
            # FFmpeg's RTSP client opens its TLS connection without the caller's options:
            # the stream is encrypted, but the camera's certificate is not checked.
            raise ConfigurationError(
                "certificate verification is not available for rtsps:// cameras "
                "(FFmpeg does not verify them); use rtsps:// without tls_verify, or https://"
            )
        return _Target(text, None, options)

    # -- the decode thread ---------------------------------------------------------------

    def _run(self) -> None:
        failures = 0  # consecutive attempts that gave no frame
        connected_once = False
        while not self._stopped:
            self._set_state(SourceState.CONNECTING)
            delivered = False
            try:
                container = self._open()
            except _FATAL_ERRORS as exc:
                self._give_up(f"cannot open the camera stream: {self._describe(exc)}")
                return
            except _AUTH_ERRORS as exc:
                self._outage(
                    DeviceFaultKind.DISCONNECTED,
                    f"authentication refused ({self._describe(exc)}): check the credentials",
                )
            except av.error.ExitError:
                self._outage(
                    DeviceFaultKind.DISCONNECTED,
                    f"cannot connect: no answer within {self.open_timeout_s:g} s",
                )
            except (av.error.FFmpegError, OSError) as exc:
                self._outage(DeviceFaultKind.DISCONNECTED, f"cannot connect: {self._describe(exc)}")
            else:
                if connected_once:
                    self._count_reconnect()
                connected_once = True
                delivered = self._stream(container)
            if self._stopped:
                break
            failures = 0 if delivered else failures + 1
            if self.max_attempts is not None and failures >= self.max_attempts:
                self._give_up(f"gave up after {failures} failed attempts")
                return
            if self._sleep(self.backoff.delay(failures, self._rng)):
                break
        self._slot.close(discard=True)

    def _open(self) -> InputContainer:
        return av.open(
            self._target.location,
            format=self._target.format,
            container_options=self._target.options,
            timeout=(self.open_timeout_s, self.stall_timeout_s),
        )

    def _stream(self, container: InputContainer) -> bool:
        """Decode until the stream fails; True when at least one frame came through."""
        got_frames = False
        last_good = time.monotonic()

        def on_corrupt(detail: str) -> None:
            self._corrupt_frame(detail, report=got_frames)
            if time.monotonic() - last_good > self.stall_timeout_s:
                raise _StallError

        try:
            with container:
                stream = video_stream(container, low_latency=True)
                for frame in decoded_frames(container, stream, on_corrupt):
                    if self._stopped:
                        return got_frames
                    if not got_frames:
                        got_frames = True
                        self._recovered()
                    self._offer(rgb_converter(frame), frame.width, frame.height)
                    last_good = time.monotonic()
            if not self._stopped:
                self._outage(DeviceFaultKind.DISCONNECTED, "the camera closed the stream")
        except (av.error.ExitError, _StallError):
            if not self._stopped:
                self._outage(
                    DeviceFaultKind.STALLED,
                    f"no frame for more than {self.stall_timeout_s:g} s",
                    state=SourceState.STALLED,
                )
        except (av.error.FFmpegError, OSError, LookupError) as exc:
            if not self._stopped:
                self._outage(DeviceFaultKind.DISCONNECTED, f"stream lost: {self._describe(exc)}")
        return got_frames

    # -- state and faults ------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub(text, self._url)

    def _describe(self, exc: BaseException) -> str:
        """An error without its URL: FFmpeg errors quote the URL they failed on."""
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return scrub(str(reason), self._url)

    def _recovered(self) -> None:
        if self._in_outage:
            logger.info("camera %s: streaming again from %s", self.camera_id, self.display_url)
        self._in_outage = False
        self._set_state(SourceState.STREAMING)

    def _outage(
        self,
        kind: DeviceFaultKind,
        detail: str,
        *,
        state: SourceState = SourceState.DISCONNECTED,
    ) -> None:
        """Record a failure; raise a fault only for the first failure of an outage."""
        detail = scrub(detail, self._url)
        self._set_state(state, detail)
        if not self._in_outage:
            self._in_outage = True
            self._fault(kind, detail)
        else:
            logger.debug("camera %s: still down: %s", self.camera_id, detail)

    def _give_up(self, detail: str) -> None:
        detail = scrub(detail, self._url)
        self._set_state(SourceState.FAILED, detail)
        self._fault(DeviceFaultKind.DISCONNECTED, f"{detail}; not retrying")
        self._slot.close(discard=True)
