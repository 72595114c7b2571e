"""The site's mode (PPMS): normal, confinement (lockdown) or evacuation. Standard library only.

The PPMS service owns the mode; gates only read it through a ``Callable[[], str]``.

* ``normal``: gates decide and open as usual.
* ``confinement``: no door is ever pulsed and every door is locked; a decision that
  would have granted (or referred) becomes REFER ``confinement`` (the gate agent
  decides, by hand); a DENY stays a DENY (stricter, and its reason helps the agent).
* ``evacuation``: doors are released for egress; decisions are still made and recorded,
  but nothing is pulsed or locked until the site is back to normal.

A mode that cannot be read (the callable raises, or returns an unknown value) is taken
as ``confinement`` for decisions (fail closed: nothing opens by mistake); it releases
no door either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

__all__ = ["SiteMode", "SiteModeSource", "read_site_mode"]

logger = logging.getLogger(__name__)

SiteModeSource = Callable[[], str]


class SiteMode(StrEnum):
    NORMAL = "normal"
    CONFINEMENT = "confinement"
    EVACUATION = "evacuation"


def read_site_mode(source: SiteModeSource | None) -> SiteMode:
    """The current mode from ``source`` (``None``: always normal); unreadable -> confinement."""
    if source is None:
        return SiteMode.NORMAL
    try:
        value = source()
        return SiteMode(str(value).strip().lower())
    except Exception as exc:  # a broken PPMS link must never open a door
        logger.warning("site mode unreadable (%s): taken as confinement", type(exc).__name__)
        return SiteMode.CONFINEMENT
