"""Mutual TLS on the site -> hub link, with real handshakes: a hub served by uvicorn
with its certificate and a client CA (``uvicorn_tls_options``, as ``seuil hub serve
--tls-cert --tls-key --tls-client-ca``), a real site whose forwarder has the region's
CA bundle and, or not, a client certificate. Certificates are made in the test (a CA,
the hub's certificate, a site's client certificate, and one from a foreign CA)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from tests.hub.certs import Issued, TestCA
from tests.hub.conftest import OTHER, SITE, HubEnv, batch, envelope
from tests.hub.servers import serving
from tests.services.conftest import make_settings

from seuil.adapters.hub_link import LinkError
from seuil.adapters.hub_link.tls import link_tls_context
from seuil.bootstrap import build_site
from seuil.domain.errors import ConfigurationError
from seuil.hub.app import HubWebOptions, create_hub_app
from seuil.hub.tls import certificate_site, uvicorn_tls_options
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


def _post_with(url: str, pki: TestCA, client: Issued, site: str, token: str) -> httpx.Response:
    """One batch for ``site`` over mutual TLS with ``client``'s certificate."""
    context = link_tls_context(pki.bundle, client.cert, client.key)
    with httpx.Client(verify=context, timeout=10) as http:
        return http.post(f"{url}/hub/api/v1/sites/{site}/events",
                         json=batch([envelope(1, site=site)], site=site),
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def test_a_certificate_must_name_the_site_it_speaks_for(
    env: HubEnv, tls_hub: str, pki: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    other = pki.issue("other", OTHER, server=False)  # the region's CA, another school
    caplog.set_level(logging.WARNING, logger="seuil.hub.routes.api")
    refused = _post_with(tls_hub, pki, other, SITE, env.tokens[SITE])
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "site_certificate_refused"
    logged = caplog.text
    assert OTHER in logged and SITE in logged  # who used whose certificate
    assert env.tokens[SITE] not in logged and "BEGIN CERTIFICATE" not in logged
    # A real site configured with another school's certificate: refused, nothing stored.
    with pytest.raises(LinkError, match=r"refused the site's credential \(403\)"):
        _deliver(env, tls_hub, tmp_path, monkeypatch, ca_file=pki.bundle,
                 client_cert_file=other.cert, client_key_file=other.key)  # fmt: skip
    assert env.stored(SITE) == [] and env.stored(OTHER) == []
    # Every site route checks it: site A's anchors are not read with site B's certificate.
    context = link_tls_context(pki.bundle, other.cert, other.key)
    with httpx.Client(verify=context, timeout=10) as http:
        anchors = http.get(f"{tls_hub}/hub/api/v1/sites/{SITE}/anchors",
                           headers={"Authorization": f"Bearer {env.tokens[SITE]}"})  # fmt: skip
    assert anchors.status_code == 403
    # The same certificate for its own site delivers; so does site A's for site A.
    assert _post_with(tls_hub, pki, other, OTHER, env.tokens[OTHER]).status_code == 200
    own = pki.issue("own", SITE, server=False)
    assert _post_with(tls_hub, pki, own, SITE, env.tokens[SITE]).status_code == 200
    assert len(env.stored(SITE)) == 1 and len(env.stored(OTHER)) == 1


def test_behind_a_terminator_the_certificate_header_names_the_site(
    env: HubEnv, pki: TestCA
) -> None:
    options = HubWebOptions(max_batch_bytes=200_000, client_cert_header="X-Client-Cert")
    app = create_hub_app(env.hub, options)
    auth = {"Authorization": f"Bearer {env.tokens[SITE]}"}

    def post(headers: dict[str, str]) -> httpx.Response:
        with TestClient(app) as client:
            return client.post(f"/hub/api/v1/sites/{SITE}/events",
                               json=batch([envelope(1)]), headers={**auth, **headers})  # fmt: skip

    def escaped(issued: Issued) -> str:  # as nginx's $ssl_client_escaped_cert
        return quote(issued.cert.read_text(), safe="")

    assert post({}).status_code == 403  # the terminator passed no certificate
    required = create_hub_app(env.hub, HubWebOptions(site_certificates=True))
    with TestClient(required) as client:  # certificates required, none presented
        answer = client.get(f"/hub/api/v1/sites/{SITE}/messages", headers=auth)
    assert answer.status_code == 403 and answer.json()["code"] == "site_certificate_refused"
    assert post({"X-Client-Cert": "garbage"}).status_code == 403
    other = pki.issue("other", OTHER, server=False)
    assert post({"X-Client-Cert": escaped(other)}).json()["code"] == "site_certificate_refused"
    assert env.stored(SITE) == []
    own = pki.issue("own", SITE, server=False)
    assert post({"X-Client-Cert": escaped(own)}).status_code == 200
    assert len(env.stored(SITE)) == 1


def test_the_hub_checks_the_header_certificate_against_the_sites_ca(
    env: HubEnv, pki: TestCA, tmp_path: Path
) -> None:
    """A terminator that lets unverified certificates through (nginx's
    ``ssl_verify_client optional_no_ca``): with the sites' CA configured, the hub
    refuses a self-made certificate that names the site; the region's one delivers."""
    options = HubWebOptions(client_cert_header="X-Client-Cert", client_cert_ca=pki.bundle)
    app = create_hub_app(env.hub, options)
    auth = {"Authorization": f"Bearer {env.tokens[SITE]}"}

    def post(issued: Issued) -> httpx.Response:
        header = {"X-Client-Cert": quote(issued.cert.read_text(), safe="")}
        with TestClient(app) as client:
            return client.post(f"/hub/api/v1/sites/{SITE}/events",
                               json=batch([envelope(1)]), headers={**auth, **header})  # fmt: skip

    forged = TestCA(tmp_path / "forger", "seuil test CA").issue("forged", SITE, server=False)
    refused = post(forged)  # same CN, same CA name, not the region's signature
    assert refused.status_code == 403 and refused.json()["code"] == "site_certificate_refused"
    assert env.stored(SITE) == []
    assert post(pki.issue("own", SITE, server=False)).status_code == 200
    assert len(env.stored(SITE)) == 1
    # A CA file that holds no certificate is a configuration error when the app is built.
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    with pytest.raises(ConfigurationError, match="client CA file"):
        create_hub_app(env.hub, HubWebOptions(client_cert_ca=empty))


def test_the_site_is_the_certificates_one_common_name(pki: TestCA) -> None:
    assert certificate_site(pki.issue("a", SITE, server=False).cert.read_text()) == SITE
    assert certificate_site("not a certificate") is None
