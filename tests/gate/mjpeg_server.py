"""A tiny MJPEG-over-HTTP camera for tests (stdlib ``http.server``, loopback only).

It serves ``multipart/x-mixed-replace`` JPEG frames, like the MJPEG mode of an IP
camera, from a video file or from frames given in memory, at a set pace. A test can tell
it to misbehave the way real cameras do:

- :meth:`MjpegServer.stall`: keep connections open but send nothing for a while;
- :meth:`MjpegServer.drop`: close every open connection now (a camera reboot);
- :meth:`MjpegServer.refuse`: answer 503 to new connections (a camera still down);
- :meth:`MjpegServer.corrupt`: send the next frames as corrupt JPEG data;
- :meth:`MjpegServer.resize`: send frames at another resolution from now on.

With ``credentials``, the stream needs HTTP basic authentication, and :attr:`url`
carries them (``http://user:secret@127.0.0.1:PORT/stream.mjpg``). With ``tls`` (a
certificate and key file), it serves ``https://``.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from tests.local_http import LocalHTTPServer

BOUNDARY = "seuilframe"
PATH = "/stream.mjpg"


def synthetic_frames(count: int = 24, width: int = 640, height: int = 360) -> list[np.ndarray]:
    """BGR frames with a gradient, a moving square and the frame number."""
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack(
        [(xs * 255 // max(1, width - 1)), (ys * 255 // max(1, height - 1)), np.full_like(xs, 96)],
        axis=2,
    ).astype(np.uint8)
    frames = []
    for i in range(count):
        frame = base.copy()
        x = (i * 23) % max(1, width - 60)
        cv2.rectangle(frame, (x, height // 3), (x + 60, height // 3 + 60), (255, 255, 255), -1)
        cv2.putText(
            frame, f"{i:03d}", (10, height - 20), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2
        )
        frames.append(frame)
    return frames


def video_frames(path: Path, max_frames: int = 48, width: int = 0) -> list[np.ndarray]:
    """The first ``max_frames`` BGR frames of a video, resized to ``width`` if given."""
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    try:
        while len(frames) < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            if width and frame.shape[1] != width:
                height = round(frame.shape[0] * width / frame.shape[1]) // 2 * 2
                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            frames.append(frame)
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"no frame in {path}")
    return frames


def corrupt_jpeg(data: bytes, seed: int = 0) -> bytes:
    """A JPEG whose headers are intact but whose compressed data is garbage and cut short."""
    rng = np.random.default_rng(seed)
    sos = data.find(b"\xff\xda")
    start = sos + 20 if sos > 0 else 2
    garbage = rng.integers(0, 256, size=max(16, (len(data) - start) // 3), dtype=np.uint8)
    return data[:start] + garbage.tobytes()


class MjpegServer:
    """An MJPEG camera on ``127.0.0.1`` at a random free port; use as a context manager."""

    def __init__(
        self,
        frames: Sequence[np.ndarray],
        fps: float = 20.0,
        *,
        credentials: tuple[str, str] | None = None,
        quality: int = 85,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        if not frames:
            raise ValueError("no frames to serve")
        self._frames = list(frames)
        self.fps = fps
        self.quality = quality
        self._credentials = credentials
        self._lock = threading.Lock()
        self._stall_until = 0.0
        self._refusing = False
        self._corrupt_left = 0
        self._size: tuple[int, int] | None = None
        self._generation = 0
        self._closing = threading.Event()
        self._sockets: set[socket.socket] = set()
        self.connections = 0  # stream requests accepted
        self.frames_sent = 0
        self.corrupt_sent = 0
        self.auth_failures = 0
        self._httpd = LocalHTTPServer(self._handler_class())
        self._scheme = "http"
        if tls is not None:  # (certificate file, key file): serve https
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @classmethod
    def from_video(
        cls, path: Path, max_frames: int = 48, width: int = 0, **kwargs: object
    ) -> MjpegServer:
        return cls(video_frames(path, max_frames, width), **kwargs)  # type: ignore[arg-type]

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> MjpegServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        self.drop()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        auth = ""
        if self._credentials:
            auth = f"{self._credentials[0]}:{self._credentials[1]}@"
        return f"{self._scheme}://{auth}127.0.0.1:{self.port}{PATH}"

    # -- misbehaviour --------------------------------------------------------------------------

    def stall(self, seconds: float) -> None:
        """Send nothing on open connections for ``seconds`` (they stay open)."""
        with self._lock:
            self._stall_until = time.monotonic() + seconds

    def drop(self) -> None:
        """Close every open connection now."""
        with self._lock:
            self._generation += 1
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def refuse(self, refusing: bool = True) -> None:
        """Answer 503 to new stream requests (or stop doing so)."""
        with self._lock:
            self._refusing = refusing

    def corrupt(self, count: int = 1) -> None:
        """Send the next ``count`` frames as corrupt JPEG data."""
        with self._lock:
            self._corrupt_left += count

    def resize(self, width: int, height: int) -> None:
        """Send frames at ``width`` x ``height`` from now on."""
        with self._lock:
            self._size = (width, height)

    # -- serving -------------------------------------------------------------------------------

    def _next_payload(self, index: int) -> bytes:
        frame = self._frames[index % len(self._frames)]
        with self._lock:
            size = self._size
            corrupt = self._corrupt_left > 0
            if corrupt:
                self._corrupt_left -= 1
        if size is not None and (frame.shape[1], frame.shape[0]) != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        data = encoded.tobytes()
        if corrupt:
            self.corrupt_sent += 1
            return corrupt_jpeg(data, seed=index)
        return data

    def _authorised(self, header: str | None) -> bool:
        if self._credentials is None:
            return True
        expected = base64.b64encode(":".join(self._credentials).encode()).decode()
        return header == f"Basic {expected}"

    def _stream(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            generation = self._generation
            self._sockets.add(handler.connection)
            self.connections += 1
        period = 1.0 / self.fps
        index = 0
        next_at = time.monotonic()
        try:
            while not self._closing.is_set():
                with self._lock:
                    if self._generation != generation:
                        return
                    stalled = time.monotonic() < self._stall_until
                if stalled:
                    time.sleep(0.02)
                    next_at = time.monotonic()
                    continue
                payload = self._next_payload(index)
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                ).encode()
                handler.wfile.write(head + payload + b"\r\n")
                handler.wfile.flush()
                self.frames_sent += 1
                index += 1
                next_at += period
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_at = time.monotonic()
        except OSError:
            return  # the client went away or we dropped it
        finally:
            with self._lock:
                self._sockets.discard(handler.connection)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                if self.path != PATH:
                    self.send_error(404)
                    return
                if not server._authorised(self.headers.get("Authorization")):
                    server.auth_failures += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with server._lock:
                    refusing = server._refusing
                if refusing:
                    self.send_error(503, "camera unavailable")
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                server._stream(self)

            def log_message(self, format: str, *args: object) -> None:
                return  # keep test output quiet

        return Handler
