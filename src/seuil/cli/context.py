"""What every site command needs: the wired site and who is acting."""

from __future__ import annotations

import getpass
import os
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seuil.bootstrap import Site


@cache
def site() -> Site:
    from seuil.bootstrap import build_site

    return build_site()


def actor() -> str:
    """The account recorded in the audit trail for a CLI action."""
    name = os.environ.get("SEUIL_ACTOR")
    if name:
        return name
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
