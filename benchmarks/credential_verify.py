"""How long a gate takes to check a credential's text, and the office to sign one.

Usage::

    python benchmarks/credential_verify.py [--repeats 2000]

Prints the median and 99th percentile, in microseconds, of :func:`decode` (base45,
parsing, Ed25519 verification, site and validity checks) and of :func:`encode`, for a
credential without a template and one carrying an int8 template, plus the base45 and
signature steps alone. Target: decode under 1 ms. Keys live in a temporary directory.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from seuil.adapters.crypto.credential_codec import (
    CarriedTemplate,
    CredentialContent,
    decode,
    encode,
    text_to_binary,
)
from seuil.adapters.crypto.keys import Keyring
from seuil.domain.credentials import TemplateStorage, new_credential_id
from seuil.engine.quantise import QuantKind, quantise

SITE = "0830042X"
NOW = datetime(2025, 10, 6, 8, 0, tzinfo=UTC)


def timed(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    for _ in range(min(100, repeats)):  # warm up
        call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.99 * (len(samples) - 1))]


def claims(storage: TemplateStorage) -> CredentialContent:
    template = None
    if storage is TemplateStorage.ON_CREDENTIAL:
        vec = np.random.default_rng(0).normal(size=128)
        template = CarriedTemplate(QuantKind.INT8, quantise(vec, QuantKind.INT8))
    return CredentialContent(
        new_credential_id(),
        "P-K3J9X2M4QH7T",
        SITE,
        storage,
        datetime(2025, 9, 1, tzinfo=UTC),
        datetime(2026, 9, 1, tzinfo=UTC),
        template=template,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ring = Keyring.create(Path(tmp) / "keys", NOW)
        gate = ring.verifier()
        print(f"{'credential':<24} {'chars':>5} {'step':<22} {'median µs':>10} {'p99 µs':>8}")
        for storage in (TemplateStorage.NONE, TemplateStorage.ON_CREDENTIAL):
            c = claims(storage)
            text = encode(c, ring)
            raw = text_to_binary(text)
            public = gate.public_key(ring.active_key_id)
            assert public is not None
            steps: dict[str, Callable[[], object]] = {
                "decode + verify": lambda t=text: decode(t, gate, SITE, NOW),
                "  base45 only": lambda t=text: text_to_binary(t),
                "  Ed25519 only": lambda r=raw, k=public: k.verify(r[-64:], r[:-64]),
                "encode + sign": lambda c=c: encode(c, ring),
            }
            for name, call in steps.items():
                median, p99 = timed(call, args.repeats)
                print(f"{storage.value:<24} {len(text):>5} {name:<22} {median:>10.1f} {p99:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
