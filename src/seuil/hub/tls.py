"""The hub's own TLS, for a hub served by uvicorn directly (no TLS terminator), and the
site named by a client certificate.

With a client CA, uvicorn asks every client for a certificate signed by that CA
(``ssl_cert_reqs=CERT_REQUIRED``) and refuses the handshake without one: a site without
the region's client certificate never reaches the API (mutual TLS). Behind a TLS
terminator (nginx, HAProxy) the same is the terminator's ``ssl_verify_client on`` with
``ssl_client_certificate``; see docs/hub.md.

Since one CA signs every site's certificate, the CA alone does not say *which* site is
calling: the certificate's subject common name (CN) is the site's UAI, and the API
refuses a request for site A made with site B's certificate (``seuil.hub.routes.api``).
Uvicorn does not give the application the peer's certificate, so
:class:`ClientCertificateProtocol` (uvicorn's h11 protocol, one method more) puts it in
the request's scope as the ASGI TLS extension (``scope["extensions"]["tls"]
["client_cert_chain"]``, PEM). Behind a terminator the verified certificate comes in a
header the terminator sets (``SEUIL_HUB_CLIENT_CERT_HEADER``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID
from uvicorn.protocols.http.h11_impl import H11Protocol

from seuil.domain.errors import ConfigurationError

__all__ = ["ClientCertificateProtocol", "certificate_site", "issued_by", "load_client_ca",
           "presented_certificate", "uvicorn_tls_options"]  # fmt: skip


def uvicorn_tls_options(
    cert_file: Path | None, key_file: Path | None, client_ca_file: Path | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` (empty: plain HTTP).

    With a client CA, the HTTP protocol is :class:`ClientCertificateProtocol`, so the
    API can match each request's certificate to its site."""
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
        options["http"] = ClientCertificateProtocol
    return options


class ClientCertificateProtocol(H11Protocol):
    """Uvicorn's h11 protocol that hands the application the client's certificate (the
    ASGI TLS extension's ``client_cert_chain``: the leaf, PEM). The handshake is over
    when ``connection_made`` runs, so the certificate is known for every request on the
    connection. ``uvicorn ... --http seuil.hub.tls:ClientCertificateProtocol``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            self.app = _with_client_certificate(self.app, ssl.DER_cert_to_PEM_cert(der))


def _with_client_certificate(app: Any, pem: str) -> Any:
    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket"):
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = {**extensions.get("tls", {}), "client_cert_chain": [pem]}
            scope = {**scope, "extensions": extensions}
        await app(scope, receive, send)

    return wrapped


def presented_certificate(
    scope: Mapping[str, Any], headers: Mapping[str, str], header: str | None
) -> str | None:
    """The client certificate (PEM) of a request: from the TLS extension (uvicorn's own
    TLS), else from the terminator's ``header`` (URL-escaped PEM, as nginx's
    ``$ssl_client_escaped_cert``) when one is configured. None: no certificate."""
    chain = ((scope.get("extensions") or {}).get("tls") or {}).get("client_cert_chain")
    if chain:
        return str(chain[0])
    if header:
        value = headers.get(header, "").strip()
        if value:
            return unquote(value)
    return None


def certificate_site(pem: str) -> str | None:
    """The site a client certificate names: its subject's one common name (CN), the
    site's UAI. None when the certificate cannot be read or names no single site."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        return None
    value = names[0].value
    return value if isinstance(value, str) else None


def load_client_ca(path: Path) -> tuple[x509.Certificate, ...]:
    """The CA certificates (PEM bundle) that sign the sites' client certificates, for
    checking a certificate a terminator passes in a header."""
    try:
        cas = tuple(x509.load_pem_x509_certificates(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"client CA file {path}: {exc}") from None
    if not cas:
        raise ConfigurationError(f"client CA file {path}: no certificate")
    return cas


def issued_by(pem: str, cas: Sequence[x509.Certificate], now: datetime) -> bool:
    """Whether the client certificate ``pem`` is signed directly by one of ``cas`` and
    valid at ``now``: the hub's own check of a certificate a terminator passed in a
    header (in case the terminator let an unverified one through). No intermediates."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return False
    for ca in cas:
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False
