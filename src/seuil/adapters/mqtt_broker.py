"""How seuil's MQTT clients (door relays, the device gateway, people counters) reach the
broker: one options shape, and one place that applies its credentials and TLS."""

from __future__ import annotations

from dataclasses import dataclass

import paho.mqtt.client as mqtt


@dataclass(frozen=True, slots=True)
class BrokerOptions:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None  # never logged (see __repr__)
    tls: bool = False
    keepalive_s: int = 30

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(host={self.host!r}, port={self.port}, "
            f"username={self.username!r}, tls={self.tls})"
        )


def apply_credentials(client: mqtt.Client, options: BrokerOptions) -> None:
    """The account and TLS of ``options`` on a client that is not connected yet."""
    if options.username is not None:
        client.username_pw_set(options.username, options.password)
    if options.tls:
        client.tls_set()
