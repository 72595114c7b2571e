"""Replaying a video through a gate, with a credential QR held up in the first frames.

For tests and ``seuil bench gate``: the QR is rendered from the credential text and
pasted into the frame at the size a card held at arm's length would have, as a person
would show it to the camera before looking at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from seuil.adapters.cameras.presentation import hold_up, qr_patch
from seuil.ports.face import RGBImage

__all__ = ["hold_up", "qr_patch", "with_credential"]


def with_credential(
    frames: Iterable[RGBImage], text: str, shown_for: int = 3, side_fraction: float = 0.3
) -> Iterator[RGBImage]:
    """The frames, the first ``shown_for`` of them with the credential held up."""
    patch: RGBImage | None = None
    for i, frame in enumerate(frames):
        if i < shown_for:
            if patch is None:
                patch = qr_patch(text, int(min(frame.shape[:2]) * side_fraction))
            yield hold_up(frame, patch)
        else:
            yield frame
