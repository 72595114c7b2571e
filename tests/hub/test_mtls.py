"""Mutual TLS on the site -> hub link, with real handshakes: a hub served by uvicorn
with its certificate and a client CA (``uvicorn_tls_options``, as ``seuil hub serve
--tls-cert --tls-key --tls-client-ca``), a real site whose forwarder has the region's
CA bundle and, or not, a client certificate. Certificates are made in the test (a CA,
the hub's certificate, a site's client certificate, and one from a foreign CA)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.hub.certs import TestCA
from tests.hub.conftest import SITE, HubEnv
from tests.hub.servers import serving
from tests.services.conftest import make_settings

from seuil.adapters.hub_link import LinkError
from seuil.adapters.hub_link.tls import link_tls_context
from seuil.bootstrap import build_site
from seuil.domain.errors import ConfigurationError
from seuil.hub.tls import uvicorn_tls_options
from seuil.settings import HubLinkSettings


@pytest.fixture
def pki(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "pki")


@pytest.fixture
def tls_hub(env: HubEnv, pki: TestCA) -> Iterator[str]:
    server = pki.issue("hub", "hub.region.test", server=True)
    options = uvicorn_tls_options(server.cert, server.key, pki.bundle)
    with serving(env.app, **options) as (host, port):
        yield f"https://{host}:{port}"


def _deliver(env: HubEnv, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             **tls: Path | None) -> int:  # fmt: skip
    """A real site's forwarder drains its outbox (at least its first heartbeat)."""
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    folder = tmp_path / f"site-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    token_file = folder / "hub.token"
    token_file.write_text(env.tokens[SITE] + "\n")
    link = HubLinkSettings(url=url, token_file=token_file, timeout_s=5, heartbeat_s=3600, **tls)
    site = build_site(make_settings(folder, site_id=SITE).model_copy(update={"hub_link": link}))
    forwarder = site.hub_forwarder()
    try:
        return forwarder.drain(timeout=20)
    finally:
        forwarder.stop()
        site.close()


def test_a_site_without_a_client_certificate_is_refused_with_one_it_delivers(
    env: HubEnv, tls_hub: str, pki: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(LinkError, match="hub unreachable"):
        _deliver(env, tls_hub, tmp_path, monkeypatch, ca_file=pki.bundle)
    assert env.stored(SITE) == []  # the handshake failed: nothing reached the API
    client = pki.issue("site", SITE, server=False)
    sent = _deliver(env, tls_hub, tmp_path, monkeypatch, ca_file=pki.bundle,
                    client_cert_file=client.cert, client_key_file=client.key)  # fmt: skip
    assert sent >= 1
    assert len(env.stored(SITE)) == sent  # stored on the hub, through mutual TLS


def test_a_certificate_from_another_ca_is_refused_and_the_hub_is_verified(
    env: HubEnv, tls_hub: str, pki: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = TestCA(tmp_path / "foreign", "not the region").issue("site", SITE, server=False)
    with pytest.raises(LinkError, match="hub unreachable"):
        _deliver(env, tls_hub, tmp_path, monkeypatch, ca_file=pki.bundle,
                 client_cert_file=foreign.cert, client_key_file=foreign.key)  # fmt: skip
    # The site checks the hub too: without the region's CA bundle (the system's store),
    # the hub's certificate is not trusted, even with a good client certificate.
    client = pki.issue("site2", SITE, server=False)
    with pytest.raises(LinkError, match="hub unreachable"):
        _deliver(env, tls_hub, tmp_path, monkeypatch, client_cert_file=client.cert,
                 client_key_file=client.key)  # fmt: skip
    assert env.stored(SITE) == []


def test_tls_settings_are_checked(pki: TestCA, tmp_path: Path) -> None:
    client = pki.issue("site", SITE, server=False)
    with pytest.raises(ValidationError, match="go together"):
        HubLinkSettings(url="https://hub.test", client_cert_file=client.cert)
    with pytest.raises(ConfigurationError, match="unusable client certificate"):
        link_tls_context(pki.bundle, client.cert, pki.bundle)  # a certificate as the key
    with pytest.raises(ConfigurationError, match="unusable CA bundle"):
        link_tls_context(tmp_path / "missing.pem")
    with pytest.raises(ConfigurationError, match="needs the hub's own certificate"):
        uvicorn_tls_options(None, None, pki.bundle)
    assert uvicorn_tls_options(None, None) == {}
