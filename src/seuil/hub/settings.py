"""The hub's settings (``SEUIL_HUB_`` prefix): its database, schema and limits."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEUIL_HUB_", extra="forbid", frozen=True)

    # PostgreSQL in production (postgresql+psycopg://...), a SQLite file for a trial.
    database_url: str | None = None
    db_schema: str = Field("seuil_hub", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    max_batch_bytes: int = Field(2_000_000, ge=10_000)
    link_timeout_s: float = Field(180.0, gt=0)  # a site silent this long: "link lost"
    secure_cookies: bool = False
