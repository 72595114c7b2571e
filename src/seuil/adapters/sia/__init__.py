"""SIA DC-09 receiver for alarm panels (SIA DCS and ADM-CID over TCP and UDP)."""

from seuil.adapters.sia.frame import Frame, FrameError, SiaAccount, crc16_arc, parse_frame
from seuil.adapters.sia.messages import signals_from_frame
from seuil.adapters.sia.receiver import SiaReceiver

__all__ = [
    "Frame",
    "FrameError",
    "SiaAccount",
    "SiaReceiver",
    "crc16_arc",
    "parse_frame",
    "signals_from_frame",
]
