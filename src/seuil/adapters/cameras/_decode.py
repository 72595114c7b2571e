"""Decoding with PyAV, shared by the file and the stream sources.

A packet that does not decode, and a frame the decoder flags as corrupt, are reported
through ``on_corrupt`` and skipped: nothing half-decoded reaches the gate. For
intra-only codecs (MJPEG: one JPEG a frame), the decoder is told to refuse a damaged
frame outright (``err_detect=explode``) rather than conceal the damage with grey blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import av
import av.error
import numpy as np
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from seuil.ports.face import RGBImage

INTRA_ONLY_CODECS = frozenset({"mjpeg", "jpeg2000", "png", "rawvideo"})


def video_stream(container: InputContainer, *, low_latency: bool) -> VideoStream:
    """The first video stream, set up for decoding; raises ``LookupError`` when none."""
    if not container.streams.video:
        raise LookupError("no video stream")
    stream = container.streams.video[0]
    context = stream.codec_context
    if context.name in INTRA_ONLY_CODECS:
        context.options = {**context.options, "err_detect": "explode"}
    # Frame threading decodes several frames at once: faster, but each frame comes out
    # (threads - 1) frames late. Live cameras keep slice threading; replays take both.
    context.thread_type = "SLICE" if low_latency else "AUTO"
    return stream


def decoded_frames(
    container: InputContainer, stream: VideoStream, on_corrupt: Callable[[str], None]
) -> Iterator[VideoFrame]:
    """Every good frame of ``stream``; demuxing errors (network, end of data) propagate."""
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            on_corrupt(f"undecodable packet ({exc.strerror or type(exc).__name__})")
            continue
        for frame in frames:
            if frame.is_corrupt or frame.width <= 0 or frame.height <= 0:
                on_corrupt("frame flagged corrupt by the decoder")
                continue
            yield frame


def rgb_converter(frame: VideoFrame) -> Callable[[], RGBImage]:
    """A deferred conversion of ``frame`` to ``uint8`` RGB (done only if someone takes it)."""

    def convert() -> RGBImage:
        array = frame.to_ndarray(format="rgb24")
        return np.ascontiguousarray(array, dtype=np.uint8)

    return convert
