"""Site control: what the PPMS service asks of every gate's doors at once.

An :class:`EntranceCommander` commands every entrance door of the site. Each method
tries *every* door, then raises :class:`~seuil.domain.errors.EntranceCommandError`
(a :class:`~seuil.domain.errors.DeviceError`) listing one ``DeviceError`` per door that
failed: one broken relay never leaves the other doors in the old state. The caller
reports the failures to people; it does not retry blindly.
"""

from __future__ import annotations

from typing import Protocol


class EntranceCommander(Protocol):
    def lock_entrances(self) -> None:
        """Confinement: lock every entrance (ends pulses and releases)."""
        ...

    def release_egress(self) -> None:
        """Fire: hold every egress door unlocked until told otherwise."""
        ...

    def restore_normal(self) -> None:
        """End of alert: doors back to normal operation (locked, pulsed per decision)."""
        ...
