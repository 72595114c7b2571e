"""Badge numbers from Wiegand readers: 26-bit (H10301) and 34-bit frames, parity checked.

A reader (or the small board that listens to its D0/D1 wires) hands over the bits of
one frame, as a string of "0"/"1" or as an integer with its length. The badge number
used as a credential is ``facility * 100000 + card`` for 26-bit frames (the number
most badge printers show is the card part: both are returned), and
``facility * 65536 + card`` for 34-bit frames. A frame with a wrong length or a wrong
parity bit is refused: a flaky wire must never turn into somebody else's number.
"""

from __future__ import annotations

from dataclasses import dataclass

from seuil.domain.errors import DataFormatError

# (facility bits, card bits) for each supported frame length.
_FORMATS = {26: (8, 16), 34: (16, 16)}


@dataclass(frozen=True, slots=True)
class BadgeRead:
    bits: int  # frame length
    facility: int
    card: int

    @property
    def number(self) -> str:
        base = 100_000 if self.bits == 26 else 65_536
        return str(self.facility * base + self.card)


def _parity_ok(bits: str) -> bool:
    """First bit: even parity over the first half; last bit: odd parity over the second."""
    n = len(bits)
    half = (n - 2) // 2
    first, second = bits[1 : 1 + half], bits[1 + half : n - 1]
    even_ok = (int(bits[0]) + first.count("1")) % 2 == 0
    odd_ok = (int(bits[-1]) + second.count("1")) % 2 == 1
    return even_ok and odd_ok


def decode_wiegand(frame: str | tuple[int, int]) -> BadgeRead:
    """Decode ``"0101..."`` or ``(value, bit_count)``; raises DataFormatError if invalid."""
    if isinstance(frame, tuple):
        value, length = frame
        if value < 0 or length not in _FORMATS or value >= 1 << length:
            raise DataFormatError(f"Wiegand frame: {length} bits is not a supported length")
        bits = format(value, f"0{length}b")
    else:
        bits = frame.strip()
        if not bits or set(bits) - {"0", "1"}:
            raise DataFormatError("Wiegand frame: only 0 and 1 are allowed")
    if len(bits) not in _FORMATS:
        raise DataFormatError(
            f"Wiegand frame of {len(bits)} bits: only 26 and 34 bits are supported"
        )
    if not _parity_ok(bits):
        raise DataFormatError("Wiegand frame: parity error (read again)")
    facility_bits, card_bits = _FORMATS[len(bits)]
    payload = bits[1:-1]
    return BadgeRead(
        len(bits), int(payload[:facility_bits], 2), int(payload[facility_bits:][:card_bits], 2)
    )


def encode_wiegand(facility: int, card: int, bits: int = 26) -> str:
    """The frame a reader would send (for tests and simulated readers)."""
    if bits not in _FORMATS:
        raise ValueError(f"unsupported Wiegand length {bits}")
    facility_bits, card_bits = _FORMATS[bits]
    if not (0 <= facility < 1 << facility_bits and 0 <= card < 1 << card_bits):
        raise ValueError("facility or card number out of range")
    payload = format(facility, f"0{facility_bits}b") + format(card, f"0{card_bits}b")
    half = len(payload) // 2
    even = "1" if payload[:half].count("1") % 2 else "0"
    odd = "0" if payload[half:].count("1") % 2 else "1"
    return even + payload + odd
