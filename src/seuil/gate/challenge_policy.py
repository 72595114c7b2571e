"""When a gate asks for the active liveness challenge (blink, head turn).

``challenge_when = "always"``: at every presentation. ``"heightened"``: only while the
site's heightened-security flag is up (PPMS, a threat reported), read at each check
through a callable, so switching it on or off needs no restart. A flag that cannot be
read counts as up (the stricter side: one more blink, never one less check).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from seuil.ports.liveness import ActiveChallenge

__all__ = ["challenge_source"]

logger = logging.getLogger(__name__)

_CHALLENGES = {"blink": ActiveChallenge.BLINK, "turn_head": ActiveChallenge.TURN_HEAD}


def challenge_source(
    active_challenge: Literal["off", "blink", "turn_head"] | str,
    challenge_when: Literal["always", "heightened"] | str,
    heightened: Callable[[], bool] | None = None,
) -> ActiveChallenge | Callable[[], ActiveChallenge | None] | None:
    """A fixed challenge, a callable (on demand), or None (never)."""
    challenge = _CHALLENGES.get(active_challenge)
    if challenge is None:
        return None
    if challenge_when == "always":
        return challenge
    if heightened is None:
        return None  # nothing raises the flag: the challenge is never asked

    def on_demand() -> ActiveChallenge | None:
        try:
            up = bool(heightened())
        except Exception as exc:
            logger.warning("heightened-security flag unreadable (%s): challenge asked",
                           type(exc).__name__)  # fmt: skip
            up = True
        return challenge if up else None

    return on_demand
