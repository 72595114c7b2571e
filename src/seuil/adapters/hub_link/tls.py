"""TLS for the site -> hub link: a custom CA bundle (the region's own CA) and, for
mutual TLS, the site's client certificate and key.

The hub (or the TLS terminator in front of it) asks every client for a certificate
signed by the region's CA and refuses the handshake without one; the site's bearer
token still says which site is speaking (the certificate proves "one of the region's
sites", the token "this one"). Without these settings the system's CA store is used
and no client certificate is sent.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from seuil.domain.errors import ConfigurationError


def link_tls_context(
    ca_file: Path | None = None,
    client_cert_file: Path | None = None,
    client_key_file: Path | None = None,
) -> ssl.SSLContext:
    """A verifying client context (TLS 1.2 or later, host names checked)."""
    if (client_cert_file is None) != (client_key_file is None):
        raise ConfigurationError(
            "hub_link: client_cert_file and client_key_file go together (mutual TLS)"
        )
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(ca_file) if ca_file else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"hub_link: unusable CA bundle {ca_file}: {exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert_file is not None and client_key_file is not None:
        try:
            context.load_cert_chain(str(client_cert_file), str(client_key_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"hub_link: unusable client certificate {client_cert_file} or key: {exc}"
            ) from None
    return context
