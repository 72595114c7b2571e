"""1:N identification latency for 1,000 and 10,000 site-database templates.

Usage::

    python benchmarks/identification_latency.py [--sizes 1000 10000] [--probes 300]
        [--database-url sqlite:////tmp/ident.sqlite3]

For each size, a fresh site (SQLite file in a temp folder unless ``--database-url``)
receives that many people, each with biometric consent, a site-database template
(random unit 128-d vector, sealed with the site key exactly as enrolment seals it) and a
badge credential. Then, with :class:`IdentificationGallery` and the default
identification band (accept at FMR 1e-5, refer at 1e-4, margin 0.02):

* ``load``: the first search, which decrypts and loads the whole gallery;
* ``search``: one probe against the cached gallery (the freshness query for new
  revocations included), p50 / p95 over ``--probes`` probes;
* ``matrix``: the product and top-2 alone (no database), for comparison;
* ``identify``: search + the candidate's check in the database (what the gate runs once
  per presentation, after the faces are collected), p50 / p95.

The probe is a template plus noise (a genuine-like score), so ``confirm`` runs each time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from seuil.bootstrap import build_identifier, build_site
from seuil.domain.consent import ConsentGiver, ConsentRecord, ConsentState
from seuil.domain.credentials import (
    Credential,
    CredentialKind,
    TemplateStorage,
    new_credential_id,
)
from seuil.domain.people import Person, PersonKind, new_person_ref
from seuil.ports.storage import StoredTemplate
from seuil.services.enrolment import TEMPLATE
from seuil.settings import KeySettings, Settings, SiteSettings, StorageSettings

DIM = 128


def _populate(site, n: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = site.clock.now()
    start, until = site.credentials.window()
    with site.uow() as uow:
        for i in range(n):
            ref = new_person_ref()
            uow.people.add(Person(ref, PersonKind.PUPIL, f"Nom{i}", "Bench", group="2NDE1"))
            uow.consents.add(ConsentRecord(ref, ConsentState.GIVEN, ConsentGiver.SELF, now, "v1"))
            blob = site.cipher.seal(vectors[i].astype("<f4").tobytes(), ref, TEMPLATE)
            uow.templates.put(StoredTemplate(ref, TemplateStorage.SITE_DATABASE, blob, "site", now))
            uow.credentials.add(
                Credential(
                    new_credential_id().hex(), ref, site.settings.site.id, CredentialKind.BADGE,
                    TemplateStorage.SITE_DATABASE, start, until, now, badge_number=str(10**6 + i),
                )
            )  # fmt: skip
        uow.commit()
    return vectors


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def run(size: int, probes: int, url: str | None, folder: Path) -> None:
    settings = Settings(
        site=SiteSettings(id="0830042X", name="Bench"),
        database=StorageSettings(url=url or f"sqlite:///{folder / f'ident{size}.sqlite3'}"),
        keys=KeySettings(dir=folder / f"keys{size}"),
    )
    site = build_site(settings)
    rng = np.random.default_rng(size)
    t0 = time.perf_counter()
    vectors = _populate(site, size, rng)
    populate_s = time.perf_counter() - t0
    identifier = build_identifier(site)
    gallery = identifier.gallery  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    gallery.search(vectors[0])
    load_s = time.perf_counter() - t0
    matrix = gallery._matrix
    search, identify, alone = [], [], []
    for i in rng.integers(0, size, probes):
        probe = vectors[i] + rng.normal(scale=0.01, size=DIM).astype(np.float32)
        probe /= np.linalg.norm(probe)
        t0 = time.perf_counter()
        scores = matrix @ probe
        np.argpartition(scores, -2)[-2:]
        alone.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        gallery.search(probe)
        search.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        found = identifier.identify(probe)
        identify.append(time.perf_counter() - t0)
        assert found.check is not None and found.check.result.value == "valid"
    s50, s95 = _ms(search)
    i50, i95 = _ms(identify)
    m50, m95 = _ms(alone)
    print(
        f"{size:>6} templates: populate {populate_s:.1f} s, load {load_s * 1000:.0f} ms, "
        f"matrix p50 {m50:.2f} ms p95 {m95:.2f} ms, "
        f"search p50 {s50:.2f} ms p95 {s95:.2f} ms, identify p50 {i50:.2f} ms p95 {i95:.2f} ms"
        f" (gallery loads: {gallery.loads})"
    )
    site.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            run(size, args.probes, args.database_url, Path(tmp))


if __name__ == "__main__":
    main()
