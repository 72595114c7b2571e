"""`seuil eval ...`: face-engine benchmarks (1:1 verification, open-set 1:N identification)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from seuil.cli.i18n import t

eval_app = typer.Typer(
    help="Évaluation du moteur facial sur des jeux de test. (Face-engine benchmarks.)",
    no_args_is_help=True,
)

_WORKERS_HELP = "processus d'encodage (défaut : nombre de CPU) (encoding processes)"
_CACHE_HELP = "cache des encodages (défaut : cache utilisateur de seuil) (encoding cache)"


def _cache(cache_dir: Path | None, no_cache: bool) -> Any:
    from seuil.engine.evaluation.verification import EncodingCache

    if no_cache:
        return None
    if cache_dir is None:
        import platformdirs

        base = os.environ.get("SEUIL_CACHE_DIR") or platformdirs.user_cache_dir("seuil")
        cache_dir = Path(base) / "eval-encodings"
    return EncodingCache(cache_dir)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        typer.echo(f"\r  {t('encodage', 'encoding')} {done}/{total}", err=True, nl=False)
        if done == total:
            typer.echo("", err=True)


def _workers(workers: int | None) -> int:
    from seuil.engine.evaluation.verification import default_workers

    return workers if workers is not None else default_workers()


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.2f} %"


def _write_json(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    typer.echo(f"{t('rapport', 'report')}: {path}")


def _row(label: str, value: str) -> None:
    typer.echo(f"  {label:<34} {value}")


def _points_table(points: list[dict[str, Any]], rate: str, error: str) -> None:
    typer.echo(f"  {rate:<10} {t('seuil', 'threshold'):>10} {error:>10}   {t('note', 'note')}")
    for p in points:
        target = f"{p['target'] if 'target' in p else p['target_fpir']:.0e}"
        threshold = "n/a" if p["threshold"] is None else f"{p['threshold']:.4f}"
        note = (
            ""
            if p["estimable"]
            else t(
                "imposteurs trop peu nombreux : non estimable", "too few impostors: not estimable"
            )
        )
        value = _percent(p[error.lower()]) if p["estimable"] else "n/a"
        typer.echo(f"  {target:<10} {threshold:>10} {value:>10}   {note}")


def _print_verification(report: dict[str, Any]) -> None:
    typer.echo(t("Vérification 1:1", "1:1 verification") + f" — {report['pairs_file']}")
    _row(t("moteur", "engine"), report["engine"])
    _row(
        t("paires (même / différentes)", "pairs (same / different)"),
        f"{report['pairs']} ({report['genuine_pairs']} / {report['impostor_pairs']})",
    )
    _row(
        t("échec d'enrôlement (FTE)", "failure to enrol (FTE)"),
        f"{_percent(report['failure_to_enrol'])} "
        f"({report['failed_images']}/{report['images']} images)",
    )
    _row(
        t("exactitude (protocole LFW)", "accuracy (LFW protocol)"),
        f"{_percent(report['accuracy'])} ± {_percent(report['accuracy_std'])} ({report['folds']})",
    )
    imp = report["impostor_scores"]
    _row(t("scores imposteurs", "impostor scores"), f"{imp['count']:,} ({imp['source']})")
    _row(t("scores authentiques", "genuine scores"), f"{report['genuine_scores']:,}")
    _points_table(report["operating_points"], "FMR", "FNMR")
    if "multi_image" in report:
        multi = report["multi_image"]
        typer.echo(
            t("Multi-images", "Multi-image")
            + f": {multi['enrol_images']} + {multi['probe_images']} images, "
            f"{multi['identities']} {t('identités', 'identities')}, "
            f"{multi['mated']:,} / {multi['non_mated']:,} "
            f"{t('comparaisons (même / différentes)', 'comparisons (mated / non-mated)')}"
        )
        for name, setting in multi["settings"].items():
            best = " *" if name == multi["best_probe_fusion"] else ""
            typer.echo(f"  [{name}]{best}")
            _points_table(setting["operating_points"], "FMR", "FNMR")
    timings = report["timings"]
    _row(t("durée (s)", "time (s)"), ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    for note in report["notes"]:
        typer.echo(f"  note: {note}")


@eval_app.command("verification")
def verification(
    *,
    images: Path = typer.Option(
        ..., exists=True, file_okay=False, help="dossier des images (image folder)"
    ),
    pairs: Path = typer.Option(
        ...,
        exists=True,
        dir_okay=False,
        help="paires LFW ou CSV file_x,file_y,Decision (pair list)",
    ),
    json_out: Path | None = typer.Option(None, "--json", help="rapport JSON (JSON report)"),
    plot: Path | None = typer.Option(None, help="courbe DET en PNG (DET plot)"),
    enrol_images: int | None = typer.Option(
        None, min=1, help="multi-images : K images d'enrôlement (enrolment images)"
    ),
    probe_images: int | None = typer.Option(
        None, min=1, help="multi-images : K images de sonde (probe images)"
    ),
    workers: int | None = typer.Option(None, min=1, help=_WORKERS_HELP),
    limit: int | None = typer.Option(
        None, min=2, help="au plus N paires, réparties dans le fichier (pair limit)"
    ),
    folds: int = typer.Option(
        10, min=2, help="plis si le fichier n'en a pas (folds when the file has none)"
    ),
    cache_dir: Path | None = typer.Option(None, help=_CACHE_HELP),
    no_cache: bool = typer.Option(False, "--no-cache", help="sans cache (no cache)"),
    calibration_out: Path | None = typer.Option(
        None,
        help="écrit la calibration FMR -> seuil, sur des paires de développement seulement "
        "(write a calibration; development pairs only)",
    ),
    fused_calibration_out: Path | None = typer.Option(
        None,
        help="écrit la calibration gabarit multi-images contre sonde fusionnée (avec "
        "--enrol-images) (write the fused template-vs-probe calibration)",
    ),
) -> None:
    """Vérification 1:1 sur une liste de paires : exactitude, FNMR à FMR fixe, FTE.

    (1:1 verification on a pair list: accuracy, FNMR at fixed FMR, failure to enrol.)
    """
    from seuil.bootstrap import build_face_engine
    from seuil.engine.evaluation.pairs import load_pairs
    from seuil.engine.evaluation.verification import (
        plot_det,
        run_multi_image,
        run_verification,
        verification_report,
    )
    from seuil.engine.scoring import calibrate

    pair_list = load_pairs(pairs, images)
    if limit is not None:
        pair_list = pair_list.spread(limit)
    cache = _cache(cache_dir, no_cache)
    n_workers = _workers(workers)
    result = run_verification(
        pair_list,
        build_face_engine,
        workers=n_workers,
        cache=cache,
        folds=folds,
        progress=_progress,
    )
    if enrol_images is not None or probe_images is not None:
        k_enrol = enrol_images or probe_images or 1
        k_probe = probe_images or enrol_images or 1
        multi = run_multi_image(
            images,
            build_face_engine,
            k_enrol,
            k_probe,
            workers=n_workers,
            cache=cache,
            progress=_progress,
        )
        result = replace(result, multi=multi)
    report = verification_report(result)
    _print_verification(report)
    if json_out is not None:
        _write_json(json_out, report)
    if plot is not None:
        curves = {"pairs": result.main}
        if result.multi is not None:
            for name, setting in result.multi.settings.items():
                curves[f"{result.multi.enrol_images}+{result.multi.probe_images} {name}"] = setting
        plot_det(curves, plot, f"DET — {pairs.name}")
        typer.echo(f"{t('courbe', 'plot')}: {plot}")
    if calibration_out is not None:
        calibration = calibrate(
            result.main.genuine,
            result.main.impostor,
            engine=result.encoding.config_key,
            source=f"{pairs.name}: {len(pair_list)} pairs, impostors={result.impostor_source}",
        )
        calibration.save(calibration_out)
        typer.echo(f"calibration: {calibration_out}")
    if fused_calibration_out is not None:
        if result.multi is None:
            raise typer.BadParameter("--fused-calibration-out needs --enrol-images")
        fused = result.multi.settings["mean"]
        calibration = calibrate(
            fused.genuine,
            fused.impostor,
            engine=result.encoding.config_key,
            source=f"{images.name}: {result.multi.enrol_images}+{result.multi.probe_images} "
            f"images per side, mean fusion, {fused.genuine.size} mated",
        )
        calibration.save(fused_calibration_out)
        typer.echo(f"calibration: {fused_calibration_out}")


def _print_identification(report: dict[str, Any]) -> None:
    typer.echo(t("Identification 1:N (ensemble ouvert)", "Open-set 1:N identification"))
    _row(t("moteur", "engine"), report["engine"])
    _row(t("galerie (identités)", "gallery (identities)"), f"{report['gallery_identities']:,}")
    _row(
        t("sondes (appariées / non appariées)", "probes (mated / non-mated)"),
        f"{report['mated_probes']:,} / {report['non_mated_probes']:,}",
    )
    _row(
        t("échec d'enrôlement (FTE)", "failure to enrol (FTE)"),
        f"{_percent(report['failure_to_enrol'])} "
        f"({report['failed_images']}/{report['images']} images)",
    )
    for name, setting in report["settings"].items():
        typer.echo(f"  [{name}] rank-1 {_percent(setting['rank_1'])}")
        _points_table(setting["operating_points"], "FPIR", "FNIR")
    timings = report["timings"]
    _row(t("durée (s)", "time (s)"), ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


@eval_app.command("identification")
def identification(
    *,
    images: Path = typer.Option(
        ..., exists=True, file_okay=False, help="dossier au format LFW (LFW-layout folder)"
    ),
    json_out: Path | None = typer.Option(None, "--json", help="rapport JSON (JSON report)"),
    gallery_images: int = typer.Option(
        5, min=1, help="K images par identité en multi-images (gallery images)"
    ),
    max_gallery: int | None = typer.Option(
        None, min=1, help="au plus N identités en galerie (gallery limit)"
    ),
    max_non_mated: int | None = typer.Option(
        None, min=1, help="au plus N sondes non appariées (non-mated limit)"
    ),
    workers: int | None = typer.Option(None, min=1, help=_WORKERS_HELP),
    cache_dir: Path | None = typer.Option(None, help=_CACHE_HELP),
    no_cache: bool = typer.Option(False, "--no-cache", help="sans cache (no cache)"),
) -> None:
    """Identification 1:N en ensemble ouvert : FNIR à FPIR fixe, rang 1.

    (Open-set 1:N identification: FNIR at fixed FPIR and rank-1, single- vs multi-image
    enrolment.)
    """
    from seuil.bootstrap import build_face_engine
    from seuil.engine.evaluation.identification import (
        identification_report,
        run_identification,
    )

    run = run_identification(
        images,
        build_face_engine,
        gallery_images=gallery_images,
        max_gallery=max_gallery,
        max_non_mated=max_non_mated,
        workers=_workers(workers),
        cache=_cache(cache_dir, no_cache),
        progress=_progress,
    )
    report = identification_report(run)
    _print_identification(report)
    if json_out is not None:
        _write_json(json_out, report)
