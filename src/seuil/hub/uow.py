"""The hub's unit of work: the site's transaction handling and account repositories (so
:class:`~seuil.services.accounts.AccountService` works unchanged), on the hub's engine,
plus :class:`HubStore` for the hub's own tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from seuil.adapters.storage.unit_of_work import SqlUnitOfWork
from seuil.hub.store import HubStore

if TYPE_CHECKING:
    from seuil.ports.storage import AccountsUnitOfWork


class HubUnitOfWork(SqlUnitOfWork):
    """One hub transaction. Only the account, audit and ``hub`` repositories are used:
    the hub's database has no people, credential or template table at all."""

    def __init__(self, engine: sa.Engine, *, read_only: bool = False) -> None:
        super().__init__(engine, read_only=read_only)
        self.hub = HubStore(self._db)


if TYPE_CHECKING:

    def _satisfies_the_accounts_port(engine: sa.Engine) -> AccountsUnitOfWork:
        return HubUnitOfWork(engine)
