"""The demo gate camera: an empty lane, then a presented person holding up their QR."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from seuil.adapters.cameras.presentation import PresentationSource
from seuil.adapters.cameras.qr_reader import QrReader
from seuil.domain.errors import ConfigurationError
from seuil.ports.frames import SourceState


def test_an_empty_lane_still_sends_frames_and_refuses_a_missing_video(tmp_path: Path) -> None:
    source = PresentationSource("demo", size=(320, 180), idle_fps=20)
    source.start()
    try:
        frame = source.latest(timeout=2)
        assert frame is not None and frame.image.shape == (180, 320, 3)
        assert source.health().state is SourceState.STREAMING
        with pytest.raises(ConfigurationError):
            source.present(tmp_path / "absent.mp4", "X")
    finally:
        source.stop()


def test_a_presented_person_shows_the_credential_then_the_face(shared: Path) -> None:
    video = shared / "video/obama.mp4"
    text = "HC1:DEMO-CREDENTIAL-0001"
    source = PresentationSource("demo", size=(960, 540), credential_shown_s=1.0)
    reader = QrReader()
    source.start()
    try:
        assert source.present(video, text)
        seen_qr, after_qr, end = 0, 0, time.monotonic() + 20
        while time.monotonic() < end and after_qr < 5:
            frame = source.latest(timeout=1)
            if frame is None:
                continue
            if text in reader.texts(frame.image):
                seen_qr += 1
            elif seen_qr:
                after_qr += 1  # the card is lowered: the face alone
        assert seen_qr >= 1, "the QR held up was never readable"
        assert after_qr >= 5
    finally:
        source.stop()


def test_presentations_queue_up_to_four(shared: Path) -> None:
    source = PresentationSource("demo")  # not started: nothing is consumed
    video = shared / "video/obama.mp4"
    assert all(source.present(video, None) for _ in range(4))
    assert source.present(video, None) is False


def test_a_person_let_in_walks_through_and_the_lane_is_empty_again(shared: Path) -> None:
    source = PresentationSource("demo", size=(320, 180), idle_fps=20)
    source.start()
    try:
        assert source.present(shared / "video/hamilton.mp4", None)  # 10 s of video
        end = time.monotonic() + 10
        frame = source.latest(timeout=1)
        while frame is None or frame.image.std() == 0:  # wait for the person
            assert time.monotonic() < end, "the presented video never played"
            frame = source.latest(timeout=1)
        let_in = time.monotonic()  # before the walk-through: the door holds 4 s after it
        source.walk_through(door_open_s=4.0)  # a GRANT: the door opens, she goes through
        assert source.present(shared / "video/obama.mp4", None)  # the next one, at once
        empty = 0  # frames received while the door is open
        while True:
            frame = source.latest(timeout=1)
            if time.monotonic() - let_in >= 4.0:
                break
            if frame is None:
                continue
            if frame.image.std() == 0:
                empty += 1  # the empty lane (after at most her frame in flight)
            else:
                assert not empty, "someone stepped up through the open door"
        assert empty >= 3, "the lane never showed empty while the door was open"
        assert source.presented == 1
        frame = source.latest(timeout=1)
        while frame is None or frame.image.std() == 0:  # waits for the door to close
            assert time.monotonic() - let_in < 15, "the next person never stepped up"
            frame = source.latest(timeout=1)
        assert time.monotonic() - let_in >= 4.0
    finally:
        source.stop()
