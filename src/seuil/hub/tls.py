"""The hub's own TLS, for a hub served by uvicorn directly (no TLS terminator).

With a client CA, uvicorn asks every client for a certificate signed by that CA
(``ssl_cert_reqs=CERT_REQUIRED``) and refuses the handshake without one: a site without
the region's client certificate never reaches the API (mutual TLS). Behind a TLS
terminator (nginx, HAProxy) the same is the terminator's ``ssl_verify_client on`` with
``ssl_client_certificate``; see docs/hub.md.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from seuil.domain.errors import ConfigurationError


def uvicorn_tls_options(
    cert_file: Path | None, key_file: Path | None, client_ca_file: Path | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` (empty: plain HTTP)."""
    if cert_file is None and key_file is None:
        if client_ca_file is not None:
            raise ConfigurationError(
                "mutual TLS needs the hub's own certificate and key (--tls-cert, --tls-key)"
            )
        return {}
    if cert_file is None or key_file is None:
        raise ConfigurationError("the hub's certificate and key go together")
    for path in (cert_file, key_file, client_ca_file):
        if path is not None and not path.is_file():
            raise ConfigurationError(f"no such file: {path}")
    options: dict[str, Any] = {"ssl_certfile": str(cert_file), "ssl_keyfile": str(key_file)}
    if client_ca_file is not None:
        options["ssl_ca_certs"] = str(client_ca_file)
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return options
