"""`seuil eval liveness`: APCER / BPCER of presentation-attack detection on shared/spoof."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from seuil.cli.i18n import t

liveness_app = typer.Typer(
    help="Détection d'attaques par présentation (liveness). (Presentation-attack detection.)",
    no_args_is_help=True,
)


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100.0 * float(value):.1f} %"


def _finite(value: Any) -> Any:
    """The report with NaN and infinities as null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _line(label: str, r: dict[str, Any]) -> None:
    bound = ""
    if r.get("apcer_upper95") is not None:
        bound += f" APCER<={_pct(r['apcer_upper95'])}"
    if r.get("bpcer_upper95") is not None:
        bound += f" BPCER<={_pct(r['bpcer_upper95'])}"
    typer.echo(
        f"  {label:<26} n={r['live']:>3}/{r['attack']:<3} "
        f"APCER {_pct(r['apcer']):>7}  BPCER {_pct(r['bpcer']):>7}  "
        f"| APCER@BPCER5 {_pct(r.get('apcer_at_bpcer5')):>7}  "
        f"BPCER@APCER10 {_pct(r.get('bpcer_at_apcer10')):>7}"
        + (f"  (95 %:{bound})" if bound else "")
    )


def print_report(report: dict[str, Any]) -> None:
    """The numbers a reader needs, French labels first."""
    typer.echo(t("Détection d'attaques (APCER / BPCER)", "Presentation-attack detection"))
    for label, d in report["data"].items():
        typer.echo(
            f"  {label}: {d['crops']} crops {d['sources']}, {t('sans visage', 'no face')} "
            f"{d['no_face']}, {t('distance des yeux', 'eye distance')} px "
            + "/".join(f"{v:.0f}" for v in d["eye_distance_px"])
        )
    typer.echo("  " + report["method"]["texture"])
    typer.echo("  split: " + report["method"]["split"])
    typer.echo(t("  n = vivants/attaques testés", "  n = live/attack tested"))
    for fold in report["folds"]:
        typer.echo(f"fold {fold['fold']} ({t('ajusté sur', 'fit on')} {fold['fit']} crops)")
        _line("crops", fold["crops"])
        for src, r in fold["attack_sources"].items():
            _line(f"  attack source {src}", r)
        typer.echo(
            f"  {t('contrôle d’échelle', 'scale control')}: BPCER "
            f"{_pct(fold['scale_control']['bpcer'])} "
            f"({t('vivants réduits à', 'live shrunk to')} "
            f"{fold['scale_control']['eye_distance_px']:.0f} px)"
        )
        clips = fold["clips"]
        _line("clip frames (10 fps)", clips["frames"])
        _line(f"clip windows ({clips['window_frames']} frames)", clips["windows"])
        verdicts = ", ".join(
            f"{name}: {'LIVE' if v['live'] else 'ATTACK'} ({v['score']:.2f})"
            for name, v in clips["clip_verdicts"].items()
        )
        typer.echo(f"  clips: {verdicts}")
    typer.echo(t("Source d'attaque inconnue à l'ajustement", "Attack source unseen in fitting"))
    for r in report["unseen_attack_source"]:
        _line(f"fit {r['fit_attack_source']} -> {r['test_attack_source']}", r)
    typer.echo(t("Confusions triviales (pli 0, test)", "Trivial confounds (fold 0, test)"))
    for name, c in report["confounds"].items():
        typer.echo(f"  {name:<22} AUC {c['auc']:.3f}  APCER@BPCER5 {_pct(c['apcer_at_bpcer5'])}")
    typer.echo(t("Mouvement de la tête (fenêtres)", "Head motion (windows)"))
    for name, m in report["motion"].items():
        typer.echo(
            f"  {name:<22} {m['windows']:>3} windows: 3-D motion "
            f"{_pct(m['share_with_3d_motion'])}, yaw range alone "
            f"{_pct(m['share_yaw_range_only'])}, TURN_HEAD met {_pct(m['share_turn_head_met'])}"
        )
    if "shipped_model_fold0_test" in report:
        typer.echo(t("Modèle livré (lbp_v1.json)", "Shipped model (lbp_v1.json)"))
        _line(t("crops, test du pli 0", "crops, fold 0 test"), report["shipped_model_fold0_test"])


@liveness_app.command("liveness")
def eval_liveness(
    *,
    spoof: Path = typer.Option(
        ..., exists=True, file_okay=False, help="dossier shared/spoof (crops/, *.webm)"
    ),
    json_out: Path | None = typer.Option(None, "--json", help="rapport JSON (JSON report)"),
    model_out: Path | None = typer.Option(
        None, help="écrit le modèle du pli 0 (write fold 0's fitted texture model)"
    ),
) -> None:
    """APCER / BPCER du contrôle du vivant sur shared/spoof, pli par pli.

    (Liveness APCER / BPCER on shared/spoof: fitted and tested on disjoint frame blocks.)
    """
    from seuil.bootstrap import build_face_engine
    from seuil.engine.liveness.evaluation import evaluate
    from seuil.engine.liveness.texture import TextureModel

    crops_engine = build_face_engine(purpose="enrol")  # tight crops: HOG x2 + CNN fallback
    gate_engine = build_face_engine(purpose="gate")
    try:
        shipped: TextureModel | None = TextureModel.load()
    except (FileNotFoundError, ValueError, KeyError):
        shipped = None
    report, models = evaluate(spoof, crops_engine.analyse, gate_engine.analyse, shipped=shipped)
    print_report(report)
    if model_out is not None:
        models[0].save(model_out)
        typer.echo(f"{t('modèle', 'model')}: {model_out}")
    if json_out is not None:
        text = json.dumps(_finite(report), indent=2, allow_nan=False)
        json_out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"{t('rapport', 'report')}: {json_out}")
