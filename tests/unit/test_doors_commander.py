"""Every door commanded at once: one failing door never stops the others."""

from __future__ import annotations

import pytest

from seuil.adapters.doors.commander import DoorsCommander
from seuil.adapters.doors.simulated import SimulatedDoor
from seuil.domain.errors import DeviceError, EntranceCommandError


class DeadDoor(SimulatedDoor):
    def lock(self) -> None:
        raise DeviceError("relay not answering", self.name)

    def release(self) -> None:
        raise RuntimeError("adapter bug")


def test_every_door_is_tried_and_failures_come_together() -> None:
    a, dead, b = SimulatedDoor("a"), DeadDoor("dead"), SimulatedDoor("b")
    commander = DoorsCommander([a, dead, b])
    with pytest.raises(EntranceCommandError) as caught:
        commander.release_egress()
    assert a.unlocked and b.unlocked
    assert [f.device for f in caught.value.failures] == ["dead"]
    assert "RuntimeError" in caught.value.failures[0].message
    with pytest.raises(EntranceCommandError) as caught:
        commander.lock_entrances()
    assert not a.unlocked and not b.unlocked
    assert caught.value.failures[0].message == "relay not answering"
    assert isinstance(caught.value, DeviceError) and caught.value.device == "dead"


def test_all_good_raises_nothing() -> None:
    doors = [SimulatedDoor("a"), SimulatedDoor("b")]
    commander = DoorsCommander(doors)
    commander.release_egress()
    assert all(d.unlocked for d in doors)
    commander.restore_normal()
    assert not any(d.unlocked for d in doors) and commander.doors == ["a", "b"]
