"""REST API v1: one router per resource, all under ``/api/v1``."""

from fastapi import APIRouter

from seuil.web.api import accounts, audit, devices, incidents, people, roster

router = APIRouter()
for _module in (people, roster, audit, accounts, incidents, devices):
    router.include_router(_module.router)
