"""The hub's settings (``SEUIL_HUB_`` prefix): its database, schema and limits."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEUIL_HUB_", extra="forbid", frozen=True)

    # PostgreSQL in production (postgresql+psycopg://...), a SQLite file for a trial.
    database_url: str | None = None
    db_schema: str = Field("seuil_hub", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    max_batch_bytes: int = Field(2_000_000, ge=10_000)
    link_timeout_s: float = Field(180.0, gt=0)  # a site silent this long: "link lost"
    secure_cookies: bool = False
    # The pages show times in this zone (the stored times stay UTC).
    timezone: str = "Europe/Paris"
    # Mutual TLS: refuse site API requests without a client certificate naming the site
    # (set by ``seuil hub serve --tls-client-ca``); behind a TLS terminator, the request
    # header in which it passes the verified certificate (nginx: $ssl_client_escaped_cert).
    site_certificates: bool = False
    client_cert_header: str | None = Field(None, pattern=r"^[A-Za-z0-9-]{1,64}$")
    # The CA bundle that signs the sites' certificates: the hub then checks that a
    # certificate passed in ``client_cert_header`` is signed by it and valid (the
    # terminator's check, again, should it let an unverified certificate through).
    client_cert_ca: Path | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value
