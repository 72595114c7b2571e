"""The work behind `seuil face verify` and `seuil demo`: enrol, then verify probes 1:1."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import typer

from seuil.cli.i18n import t
from seuil.domain.errors import DataFormatError

VIDEO_SUFFIXES = {".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v"}


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    probe: str
    verdict: str
    score: float | None
    frames_seen: int
    faces_used: int
    seconds: float


def run_verify(
    enrol: Path,
    probes: list[Path],
    *,
    fps: float = 5.0,
    max_frames: int = 40,
    accept_fmr: str = "FMR 1e-3",
    refer_fmr: str = "FMR 1e-2",
) -> list[ProbeOutcome]:
    """Enrol from ``enrol`` (photos), verify each probe (photo or video), print verdicts."""
    from seuil.adapters.video_file import iter_video_frames
    from seuil.bootstrap import build_face_engine
    from seuil.cli.face_cmd import _print_verdicts, photos_in
    from seuil.engine.enrolment import enrol_photos
    from seuil.engine.probe import probe_from_frames
    from seuil.engine.scoring import (
        DecisionBand,
        OperatingPoint,
        load_default_calibration,
    )

    accept, refer = OperatingPoint.parse(accept_fmr), OperatingPoint.parse(refer_fmr)
    # One image against one image, and a multi-image template against a fused probe, need
    # different thresholds for the same false-match rate.
    bands = {
        fused: DecisionBand.from_operating_points(load_default_calibration(fused), accept, refer)
        for fused in (False, True)
    }
    enrol_engine = build_face_engine(purpose="enrol")
    photos = photos_in(enrol)
    typer.echo(
        t(
            f"Enrôlement depuis {len(photos)} photo(s) de {enrol} :",
            f"Enrolling from {len(photos)} photo(s) in {enrol}:",
        )
    )
    enrolment = enrol_photos(enrol_engine, photos)
    _print_verdicts(enrolment.verdicts[:10])
    if len(enrolment.verdicts) > 10:
        typer.echo(
            t(
                f"  … et {len(enrolment.verdicts) - 10} autres",
                f"  … and {len(enrolment.verdicts) - 10} more",
            )
        )
    if enrolment.template is None:
        raise DataFormatError(
            t("aucune photo d'enrôlement utilisable", "no usable enrolment photo")
        )
    typer.echo(
        t(
            f"Gabarit : {enrolment.accepted} photo(s) acceptée(s). Seuils : accepter à "
            f"{accept_fmr}, orienter vers un agent jusqu'à {refer_fmr}.",
            f"Template: {enrolment.accepted} photo(s) accepted. Thresholds: accept at "
            f"{accept_fmr}, refer to an agent down to {refer_fmr}.",
        )
    )
    gate_engine = build_face_engine(purpose="gate")
    outcomes: list[ProbeOutcome] = []
    for probe in probes:
        start = time.perf_counter()
        if probe.suffix.lower() in VIDEO_SUFFIXES:
            frames = (f.image for f in iter_video_frames(probe, fps=fps, max_frames=max_frames))
            result = probe_from_frames(gate_engine, frames)
            embedding, seen, used = result.embedding, result.frames_seen, len(result.used)
        else:
            encoded = enrol_engine.encode_path(probe)
            embedding = encoded.embedding if encoded else None
            seen, used = 1, int(encoded is not None)
        score = float(embedding @ enrolment.template) if embedding is not None else None
        fused = used >= 2 and enrolment.accepted >= 2
        verdict = bands[fused].decide(score)
        outcome = ProbeOutcome(
            probe.name, verdict.value.upper(), score, seen, used, time.perf_counter() - start
        )
        outcomes.append(outcome)
        score_txt = f"{score:.3f}" if score is not None else t("aucun visage", "no face")
        typer.echo(
            f"{outcome.verdict:>9}  {probe.name}  score={score_txt}  "
            + t(f"images={seen} visages retenus={used}", f"frames={seen} faces used={used}")
            + f"  ({outcome.seconds:.1f} s)"
        )
    return outcomes
