"""The site and the running site's view (``WebRuntime``) from a request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from seuil.domain.errors import NotFoundError
from seuil.web.runtime import GateInfo, WebRuntime

if TYPE_CHECKING:
    from seuil.bootstrap import Site


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def runtime_of(request: Request) -> WebRuntime:
    runtime: WebRuntime = request.app.state.runtime
    return runtime


def gate_of(request: Request, gate_id: str) -> GateInfo:
    for gate in runtime_of(request).gates:
        if gate.id == gate_id:
            return gate
    raise NotFoundError(f"portique inconnu : {gate_id!r} (unknown gate)")
