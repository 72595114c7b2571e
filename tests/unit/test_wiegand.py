"""Wiegand badge frames: round trip, known values, every single-bit error refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seuil.adapters.wiegand import decode_wiegand, encode_wiegand
from seuil.domain.errors import DataFormatError


def test_known_26_bit_frame():
    # H10301, facility 18, card 12345: the classic textbook example.
    frame = encode_wiegand(18, 12345)
    assert len(frame) == 26
    read = decode_wiegand(frame)
    assert (read.facility, read.card, read.number) == (18, 12345, "1812345")
    assert decode_wiegand((int(frame, 2), 26)) == read


@given(st.integers(0, 255), st.integers(0, 65535))
def test_round_trip_26(facility, card):
    read = decode_wiegand(encode_wiegand(facility, card, 26))
    assert (read.facility, read.card) == (facility, card)


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_round_trip_34(facility, card):
    read = decode_wiegand(encode_wiegand(facility, card, 34))
    assert (read.facility, read.card, read.bits) == (facility, card, 34)


@pytest.mark.parametrize("bits", [26, 34])
def test_every_single_bit_flip_is_refused(bits):
    frame = encode_wiegand(200 if bits == 26 else 4000, 54321, bits)
    for i in range(bits):
        flipped = frame[:i] + ("1" if frame[i] == "0" else "0") + frame[i + 1 :]
        with pytest.raises(DataFormatError, match="parity"):
            decode_wiegand(flipped)


@pytest.mark.parametrize("bad", ["", "0102", "1" * 25, "1" * 37, "abc"])
def test_malformed_frames(bad):
    with pytest.raises(DataFormatError):
        decode_wiegand(bad)
    with pytest.raises(DataFormatError):
        decode_wiegand((5, 30))
