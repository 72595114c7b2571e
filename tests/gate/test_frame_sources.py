"""Frame sources for real: file replay pacing, latest-wins dropping, and live cameras that
misbehave (an MJPEG-over-HTTP test camera, and a real RTSP server where Debian's
GStreamer RTSP server is installed). Loopback only; every wait is bounded."""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from seuil.adapters.cameras.av_source import Backoff, StreamSource
from seuil.adapters.cameras.file_source import FileSource, Pace
from seuil.adapters.cameras.urls import mask_url, scrub, validate_camera_url
from seuil.domain.errors import ConfigurationError
from seuil.ports.frames import DeviceFault, DeviceFaultKind, Frame, FrameSource, SourceState

try:
    from .mjpeg_server import MjpegServer, synthetic_frames
except ImportError:  # collected without a package (rootdir-relative import mode)
    from mjpeg_server import MjpegServer, synthetic_frames  # type: ignore[no-redef]

FPS = 24
FRAMES = 36  # a 1.5 s clip
SECRET = "s3cr3t-Pa55"
FAST_BACKOFF = Backoff(initial_s=0.05, maximum_s=0.3)
REQUIRED = bool(os.environ.get("CI") or os.environ.get("SEUIL_REQUIRE_RTSP"))


# -- helpers -------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Faults:
    """Collects faults from the source's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[DeviceFault] = []

    def __call__(self, fault: DeviceFault) -> None:
        with self._lock:
            self.items.append(fault)

    def kinds(self) -> list[DeviceFaultKind]:
        with self._lock:
            return [f.kind for f in self.items]

    def of(self, kind: DeviceFaultKind) -> list[DeviceFault]:
        with self._lock:
            return [f for f in self.items if f.kind is kind]


def take_frames(source: FrameSource, count: int, timeout: float = 5.0) -> list[Frame]:
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout
    while len(frames) < count and time.monotonic() < deadline:
        frame = source.latest(timeout=0.2)
        if frame is not None:
            frames.append(frame)
    assert len(frames) == count, f"got {len(frames)} of {count} frames in {timeout} s"
    return frames


def assert_rgb_test_pattern(frame: Frame, size: tuple[int, int]) -> None:
    """The synthetic frames are BGR (x-gradient, y-gradient, 96): red is flat at 96."""
    assert (frame.width, frame.height) == size
    assert frame.image.dtype == np.uint8 and frame.image.flags.c_contiguous
    assert abs(float(np.median(frame.image[..., 0])) - 96) < 12
    assert frame.wall_time.tzinfo is not None


def stream_source(url: str, faults: Faults, **kwargs: object) -> StreamSource:
    options: dict[str, object] = {
        "open_timeout_s": 3.0,
        "stall_timeout_s": 1.0,
        "backoff": FAST_BACKOFF,
        "on_fault": faults,
        "rng": random.Random(1),
    }
    options.update(kwargs)
    return StreamSource(url, "gate-1-cam", **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1.5 s, 24 fps H.264 clip of the synthetic test pattern (320x180)."""
    path = tmp_path_factory.mktemp("clip") / "pattern.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "12"}
        for bgr in synthetic_frames(FRAMES, 320, 180):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr[..., ::-1]), "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        assert SECRET not in record.getMessage(), record.getMessage()


# -- file replay -------------------------------------------------------------------------


def test_file_replay_keeps_real_time(clip: Path) -> None:
    source = FileSource(clip, "replay", pace=Pace.REALTIME)
    assert isinstance(source, FrameSource)
    assert source.health().state is SourceState.STOPPED
    start = time.monotonic()
    source.start()
    frames = []
    while (frame := source.latest(timeout=2.0)) is not None:
        frames.append(frame)
    elapsed = time.monotonic() - start
    assert 1.3 <= elapsed <= 2.5, elapsed  # 36 frames at 24 fps: 1.5 s
    assert len(frames) >= FRAMES - 2  # a quick consumer loses (almost) nothing
    assert [f.index for f in frames] == sorted({f.index for f in frames})
    gaps = np.diff([f.monotonic for f in frames])
    assert 0.025 <= float(np.median(gaps)) <= 0.06  # about 1/24 s apart
    assert_rgb_test_pattern(frames[0], (320, 180))
    health = source.health()
    assert health.state is SourceState.ENDED
    assert health.frames == FRAMES and health.resolution == (320, 180)
    assert health.dropped == FRAMES - len(frames)
    source.stop()
    assert source.latest(timeout=0.1) is None


def test_a_slow_consumer_gets_the_latest_frame_and_drops_are_counted(clip: Path) -> None:
    with FileSource(clip, "replay", pace=Pace.REALTIME) as source:
        frames = []
        while (frame := source.latest(timeout=2.0)) is not None:
            age = time.monotonic() - frame.monotonic
            if frame.index < FRAMES - 1:  # the last one stays until taken: nothing newer
                assert age < 0.1, f"frame {frame.index} was {age:.3f} s old: not the latest"
            frames.append(frame)
            time.sleep(0.2)  # a slow gate: five frames a second
        health = source.health()
    assert 6 <= len(frames) <= 10
    indexes = [f.index for f in frames]
    assert indexes == sorted(indexes)
    assert health.frames == FRAMES
    assert health.dropped == FRAMES - len(frames)
    # Each gap between delivered frames is exactly the frames dropped meanwhile.
    assert (
        sum(b - a - 1 for a, b in itertools.pairwise(indexes))
        + indexes[0]
        + (FRAMES - 1 - indexes[-1])
        == health.dropped
    )


def test_lockstep_replay_drops_nothing(clip: Path) -> None:
    with FileSource(clip, "replay", pace=Pace.LOCKSTEP) as source:
        frames = []
        while (frame := source.latest(timeout=2.0)) is not None:
            frames.append(frame)
            time.sleep(0.005)
        assert [f.index for f in frames] == list(range(FRAMES))
        assert source.health().dropped == 0


def test_fast_replay_outruns_a_slow_consumer(clip: Path) -> None:
    with FileSource(clip, "replay", pace=Pace.FAST) as source:
        first = source.latest(timeout=2.0)
        wait_until(lambda: source.health().state is SourceState.ENDED, 5, "the end")
        last = source.latest(timeout=1.0)
        assert first is not None and last is not None
        assert last.index == FRAMES - 1
        assert source.health().dropped >= FRAMES - 3


def test_looping_replay_goes_on_and_stops_at_once(clip: Path) -> None:
    source = FileSource(clip, "replay", pace=Pace.REALTIME, speed=4.0, loop=True)
    source.start()
    try:
        wait_until(lambda: source.health().frames > FRAMES + 10, 5, "a second loop")
        frame = source.latest(timeout=1.0)
        assert frame is not None and frame.index > FRAMES
        assert source.health().state is SourceState.STREAMING
    finally:
        started = time.monotonic()
        source.stop()
    assert time.monotonic() - started < 1.0
    assert source.health().state is SourceState.STOPPED
    assert source.latest(timeout=0.1) is None


def test_a_missing_or_undecodable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        FileSource(tmp_path / "absent.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4096))
    with FileSource(junk) as source:
        wait_until(lambda: source.health().state is SourceState.FAILED, 5, "failure")
        assert source.latest(timeout=0.1) is None
        assert "junk.mp4" in (source.health().last_error or "")


def test_a_real_video_replays(shared: Path) -> None:
    with FileSource(shared / "video" / "biden.mp4", "replay", pace=Pace.LOCKSTEP) as source:
        frames = take_frames(source, 10)
    assert [(f.width, f.height) for f in frames] == [(1280, 720)] * 10
    assert [f.index for f in frames] == list(range(10))


# -- live MJPEG over HTTP ----------------------------------------------------------------------


@pytest.fixture
def camera() -> Iterator[MjpegServer]:
    with MjpegServer(synthetic_frames(), fps=25, credentials=("gate", SECRET)) as server:
        yield server


@pytest.mark.usefixtures("no_secret_in_logs")
def test_mjpeg_camera_streams(camera: MjpegServer) -> None:
    faults = Faults()
    source = stream_source(camera.url, faults)
    assert SECRET not in repr(source) and SECRET not in source.display_url
    with source:
        frames = take_frames(source, 10)
        health = source.health()
    for frame in frames:
        assert_rgb_test_pattern(frame, (640, 360))
    assert frames[0].camera_id == "gate-1-cam"
    assert health.state is SourceState.STREAMING and health.resolution == (640, 360)
    assert health.corrupt == 0 and health.reconnects == 0
    assert faults.kinds() == []


@pytest.mark.usefixtures("no_secret_in_logs")
def test_dropped_connection_reconnects(camera: MjpegServer) -> None:
    faults = Faults()
    with stream_source(camera.url, faults) as source:
        take_frames(source, 3)
        camera.drop()
        wait_until(lambda: source.health().reconnects >= 1, 5, "a reconnection")
        take_frames(source, 3)
        assert source.health().state is SourceState.STREAMING
    assert faults.kinds() == [DeviceFaultKind.DISCONNECTED]
    assert camera.connections >= 2
    assert SECRET not in faults.items[0].detail


def test_a_camera_down_at_start_is_retried_with_backoff() -> None:
    with MjpegServer(synthetic_frames(), fps=25) as server:
        server.refuse(True)
        faults = Faults()
        with stream_source(server.url, faults) as source:
            wait_until(lambda: faults.kinds() == [DeviceFaultKind.DISCONNECTED], 3, "a fault")
            time.sleep(0.5)  # several attempts while refused: still one fault
            assert source.health().state in {SourceState.DISCONNECTED, SourceState.CONNECTING}
            server.refuse(False)
            take_frames(source, 3)
        assert faults.kinds() == [DeviceFaultKind.DISCONNECTED]


def test_a_stalled_camera_is_reported_then_recovers(camera: MjpegServer) -> None:
    faults = Faults()
    with stream_source(camera.url, faults, stall_timeout_s=0.8) as source:
        take_frames(source, 3)
        camera.stall(2.0)
        stalled_at = time.monotonic()
        wait_until(lambda: DeviceFaultKind.STALLED in faults.kinds(), 3, "a stall fault")
        assert 0.7 <= time.monotonic() - stalled_at <= 2.0
        assert source.latest(timeout=0.3) is None
        take_frames(source, 3, timeout=6)
        health = source.health()
    assert health.reconnects >= 1
    assert faults.kinds() == [DeviceFaultKind.STALLED]


def test_corrupt_jpegs_are_counted_and_skipped(camera: MjpegServer) -> None:
    faults = Faults()
    with stream_source(camera.url, faults) as source:
        take_frames(source, 3)
        camera.corrupt(3)
        wait_until(lambda: source.health().corrupt >= 3, 3, "three corrupt frames")
        frames = take_frames(source, 5)
        health = source.health()
    for frame in frames:  # nothing half-decoded came through
        assert_rgb_test_pattern(frame, (640, 360))
    assert health.corrupt == camera.corrupt_sent == 3
    assert health.reconnects == 0
    assert faults.kinds() == [DeviceFaultKind.CORRUPT_FRAMES]  # one fault for the burst


def test_a_resolution_change_is_reported(camera: MjpegServer) -> None:
    faults = Faults()
    with stream_source(camera.url, faults) as source:
        take_frames(source, 3)
        camera.resize(320, 180)
        wait_until(lambda: source.health().resolution == (320, 180), 3, "the new size")
        frame = take_frames(source, 2)[-1]
    assert_rgb_test_pattern(frame, (320, 180))
    [fault] = faults.of(DeviceFaultKind.RESOLUTION_CHANGED)
    assert "640x360" in fault.detail and "320x180" in fault.detail
    assert fault.camera_id == "gate-1-cam" and fault.at.tzinfo is not None


@pytest.mark.usefixtures("no_secret_in_logs")
def test_wrong_credentials_are_a_fault_without_the_secret(camera: MjpegServer) -> None:
    faults = Faults()
    url = camera.url.replace(SECRET, SECRET + "x")
    with stream_source(url, faults) as source:
        wait_until(lambda: bool(faults.items), 3, "a fault")
        assert source.latest(timeout=0.2) is None
        health = source.health()
    assert "authentication" in faults.items[0].detail
    assert SECRET not in faults.items[0].detail and SECRET not in (health.last_error or "")


def test_gives_up_after_max_attempts() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    faults = Faults()
    with stream_source(f"http://127.0.0.1:{port}/x.mjpg", faults, max_attempts=3) as source:
        wait_until(lambda: source.health().state is SourceState.FAILED, 5, "giving up")
        assert source.latest(timeout=0.1) is None
    assert "3 failed attempts" in (source.health().last_error or "")


def test_a_fault_callback_that_raises_does_not_stop_the_camera(camera: MjpegServer) -> None:
    def broken(fault: DeviceFault) -> None:
        raise RuntimeError("callback bug")

    with stream_source(camera.url, Faults(), on_fault=broken) as source:
        take_frames(source, 2)
        camera.resize(320, 180)
        take_frames(source, 5)
        assert source.health().state is SourceState.STREAMING


def test_stop_is_prompt_while_streaming(camera: MjpegServer) -> None:
    source = stream_source(camera.url, Faults())
    source.start()
    take_frames(source, 2)
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 1.0
    assert source.health().state is SourceState.STOPPED
    source.stop()  # idempotent


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), signed by itself."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test camera")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "camera.crt", folder / "camera.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.usefixtures("no_secret_in_logs")
def test_https_camera_with_and_without_certificate_checks(tmp_path: Path) -> None:
    cert_file, key_file = self_signed_certificate(tmp_path)
    with MjpegServer(
        synthetic_frames(), fps=25, credentials=("gate", SECRET), tls=(cert_file, key_file)
    ) as server:
        assert server.url.startswith("https://")
        # Encrypted, certificate not checked (the default, as most cameras self-sign).
        with stream_source(server.url, Faults()) as source:
            assert_rgb_test_pattern(take_frames(source, 3)[-1], (640, 360))
        # Checked against the camera's own certificate: accepted.
        with stream_source(server.url, Faults(), tls_verify=True, ca_file=cert_file) as source:
            take_frames(source, 3)
        # Checked against the system's authorities: refused, as it should be.
        faults = Faults()
        with stream_source(server.url, faults, tls_verify=True, max_attempts=1) as source:
            wait_until(lambda: source.health().state is SourceState.FAILED, 5, "refusal")
            assert source.latest(timeout=0.1) is None
        assert set(faults.kinds()) == {DeviceFaultKind.DISCONNECTED}
        assert "not retrying" in faults.items[-1].detail
        assert all(SECRET not in fault.detail for fault in faults.items)
    with pytest.raises(ConfigurationError, match="rtsps"):
        StreamSource("rtsps://cam.example/stream", "cam", tls_verify=True)


# -- URLs and backoff ----------------------------------------------------------------------


def test_urls_are_masked_and_checked() -> None:
    url = f"rtsp://admin:{SECRET}@10.0.0.7:554/stream1?channel=1&password={SECRET}"
    masked = mask_url(url)
    assert SECRET not in masked and "admin" not in masked
    assert masked.startswith("rtsp://***@10.0.0.7:554/stream1?channel=1&password=***")
    message = f"[Errno 1] Server returned 401: '{url}'"
    assert SECRET not in scrub(message, url)
    assert SECRET not in scrub(f"failed http://user:{SECRET}@cam/x")
    for good in ("rtsp://h/s", "rtsps://h:322/s", "http://h/video.mjpg", "HTTPS://h/x"):
        validate_camera_url(good)
    for bad in ("file:///etc/passwd", "concat:a|b", "rtsp:///nohost", "/dev/video0", ""):
        with pytest.raises(ConfigurationError) as error:
            validate_camera_url(bad)
        assert SECRET not in str(error.value)
    with pytest.raises(ConfigurationError) as error:
        StreamSource(f"ftp://u:{SECRET}@h/x", "cam")
    assert SECRET not in str(error.value)


def test_backoff_is_exponential_jittered_and_bounded() -> None:
    backoff = Backoff(initial_s=0.5, maximum_s=8.0)
    rng = random.Random(0)
    for attempt in range(12):
        ceiling = min(8.0, 0.5 * 2**attempt)
        delays = [backoff.delay(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter
    assert backoff.delay(10_000, rng) <= 8.0
    with pytest.raises(ConfigurationError):
        Backoff(initial_s=5.0, maximum_s=1.0)


# -- a real RTSP server ----------------------------------------------------------------------

SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SERVER = Path(__file__).with_name("rtsp_server.py")


def rtsp_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); "
            "from gi.repository import GstRtspServer",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0


class RtspServer:
    """GStreamer's RTSP server in a child process, on a fixed loopback port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.port), "gate", SECRET],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "ready" once listening
        assert line.strip() == "ready", f"RTSP server did not start: {line!r}"

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None

    def url(self, secret: str = SECRET) -> str:
        return f"rtsp://gate:{secret}@127.0.0.1:{self.port}/cam"


@pytest.fixture
def rtsp() -> Iterator[RtspServer]:
    if not rtsp_available():
        message = (
            "no RTSP server: apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 "
            "gstreamer1.0-plugins-base gstreamer1.0-plugins-good"
        )
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = RtspServer(port)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.mark.usefixtures("no_secret_in_logs")
def test_rtsp_camera_streams_and_reconnects_after_a_restart(rtsp: RtspServer) -> None:
    faults = Faults()
    with stream_source(rtsp.url(), faults, stall_timeout_s=2.0) as source:
        frames = take_frames(source, 5, timeout=10)
        assert [(f.width, f.height) for f in frames] == [(640, 360)] * 5
        rtsp.kill()
        wait_until(lambda: bool(faults.items), 5, "a fault when the server dies")
        assert source.health().state is not SourceState.STREAMING
        rtsp.start()
        wait_until(lambda: source.health().reconnects >= 1, 15, "a reconnection")
        take_frames(source, 3, timeout=10)
    assert faults.kinds()[0] in {DeviceFaultKind.DISCONNECTED, DeviceFaultKind.STALLED}
    assert all(SECRET not in f.detail for f in faults.items)


@pytest.mark.usefixtures("no_secret_in_logs")
def test_rtsp_wrong_password_is_refused_without_leaking_it(rtsp: RtspServer) -> None:
    faults = Faults()
    with stream_source(rtsp.url(SECRET + "x"), faults) as source:
        wait_until(lambda: bool(faults.items), 5, "a fault")
        assert source.latest(timeout=0.2) is None
    assert "authentication" in faults.items[0].detail
    assert SECRET not in faults.items[0].detail
