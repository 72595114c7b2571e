"""The wired hub: database, clock, ingestion, use cases and staff accounts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from seuil.adapters.auth.argon2_hasher import Argon2Hasher
from seuil.adapters.auth.totp import TotpCodes
from seuil.adapters.live import MemoryLiveBus
from seuil.adapters.live.pg_notify import PgNotifyBus, live_channel, pg_connector
from seuil.domain.accounts import HUB_ROLES
from seuil.hub.db import create_hub_engine, upgrade_hub
from seuil.hub.ingest import HubIngest
from seuil.hub.service import TOPIC_BOARD, HubService
from seuil.hub.settings import HubSettings
from seuil.hub.uow import HubUnitOfWork
from seuil.ports.clock import Clock, SystemClock
from seuil.ports.notify import LiveBus
from seuil.services.accounts import AccountPolicy, AccountService


def default_hub_url() -> str:
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('seuil')) / 'hub.sqlite3'}"


class Hub:
    def __init__(
        self, settings: HubSettings, clock: Clock | None = None, *, fast_hashing: bool = False
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.database_url = settings.database_url or default_hub_url()
        self.db: sa.Engine = create_hub_engine(self.database_url, settings.db_schema)
        upgrade_hub(self.db)

        def uow() -> HubUnitOfWork:
            return HubUnitOfWork(self.db)

        self.uow = uow
        # The live pages read this process's bus; on PostgreSQL what is published also
        # reaches the other hub processes (uvicorn --workers N) through LISTEN/NOTIFY on
        # the hub's database (docs/scaling.md). A SQLite trial is one process.
        self.bus = MemoryLiveBus()
        self._fanout: PgNotifyBus | None = None
        self.live: LiveBus = self.bus
        if self.db.dialect.name == "postgresql":
            self._fanout = PgNotifyBus(self.bus, pg_connector(self.db), live_channel(self.db),
                                       resync=(TOPIC_BOARD, {"change": "resync"}))  # fmt: skip
            self.live = self._fanout
        self.ingest = HubIngest(uow, self.clock, self.live.publish)
        self.service = HubService(uow, self.clock, timedelta(seconds=settings.link_timeout_s),
                                  self.live.publish)  # fmt: skip
        self.accounts = AccountService(
            uow, self.clock, Argon2Hasher(fast=fast_hashing), TotpCodes(),
            AccountPolicy(roles=HUB_ROLES, issuer="seuil hub"),
        )  # fmt: skip

    def close(self) -> None:
        if self._fanout is not None:
            self._fanout.close()  # sends what is queued, stops its threads
        self.db.dispose()
