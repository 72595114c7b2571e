"""`seuil bench gate`: the full gate pipeline on replayed real video, against a naive peer.

Measures, in one run:
- sustained frames per second of one gate at 1280x720, idle (looking for a credential)
  and while collecting faces, with CPU seconds per frame;
- decision latency from the first frame in which the credential is readable to the
  decision, with frames arriving in real time at the camera's rate (default 10 fps);
- several gates at once (one process per gate, frames paced at 10 fps each): whether
  each keeps up, and the CPU it takes;
- the naive pipeline (face_recognition: detect + encode every frame) on the same frames.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from seuil.domain.errors import ConfigurationError
from seuil.ports.face import RGBImage
from seuil.shared_data import shared_dir


def _frames(video: Path, size: tuple[int, int], count: int, fps: float = 10.0) -> list[RGBImage]:
    from seuil.adapters.video_file import iter_video_frames

    out = []
    for f in iter_video_frames(video, fps=fps, max_frames=count):
        resized = cv2.resize(f.image, size, interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(resized, dtype=np.uint8))
    return out


def _site(folder: Path, shared: Path) -> tuple[Any, str]:
    from seuil.bootstrap import build_site
    from seuil.domain.consent import ConsentGiver, ConsentState
    from seuil.domain.credentials import TemplateStorage
    from seuil.domain.people import PersonKind
    from seuil.settings import KeySettings, Settings, StorageSettings

    site = build_site(
        Settings(
            database=StorageSettings(url=f"sqlite:///{folder / 'bench.sqlite3'}"),
            keys=KeySettings(dir=folder / "keys"),
        )
    )
    person = site.people.create("bench", PersonKind.PUPIL, "Obama", "Barack")
    site.consent.record("bench", person.ref, ConsentState.GIVEN, ConsentGiver.SELF, "v1")
    photos = sorted((shared / "video/enrol/obama").glob("*.jpg"))[:6]
    outcome = site.enrolment.enrol(
        "bench", person.ref, [(p.name, p.read_bytes()) for p in photos],
        TemplateStorage.KEY_ON_CREDENTIAL,
    )  # fmt: skip
    assert outcome.issued is not None and outcome.issued.text is not None
    return site, outcome.issued.text


def _pipeline(site: Any, decisions: list[Any]) -> Any:
    from seuil.bootstrap import build_gate_pipeline
    from seuil.gate.pipeline import GateOptions

    return build_gate_pipeline(
        site, "bench", lambda: None, decisions.append, options=GateOptions(cooldown_s=0.0)
    )


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run_gate_bench(
    shared: Path | None = None, presentations: int = 12, gates: int = 4, seconds: float = 8.0
) -> dict[str, Any]:
    from seuil.gate.replay import with_credential

    root = shared or shared_dir()
    if root is None:
        raise ConfigurationError("the gate benchmark needs the shared data folder (videos)")
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "resolution": "1280x720"}
    with tempfile.TemporaryDirectory() as scratch:
        site, text = _site(Path(scratch), root)
        owner = _frames(root / "video/obama.mp4", (1280, 720), 60)
        room = _frames(root / "video/biden.mp4", (1280, 720), 60)

        # 1. Throughput of one gate, as fast as it can go.
        decisions: list[Any] = []
        gate = _pipeline(site, decisions)
        t0, c0 = time.perf_counter(), time.process_time()
        for frame in room:
            gate.on_frame(frame)  # idle: no credential in view
        idle_s, idle_cpu = time.perf_counter() - t0, time.process_time() - c0
        collecting_ms: list[float] = []
        for _ in range(presentations):
            for frame in with_credential(iter(owner), text, shown_for=1):
                t = time.perf_counter()
                done = gate.on_frame(frame)
                collecting_ms.append((time.perf_counter() - t) * 1000.0)
                if done is not None:
                    break
        report["idle_fps"] = len(room) / idle_s
        report["idle_cpu_ms_per_frame"] = idle_cpu / len(room) * 1000.0
        report["busy_fps"] = 1000.0 / statistics.mean(collecting_ms)
        report["grants"] = sum(d.decision.value == "grant" for d in decisions)
        report["decisions"] = len(decisions)
        report["outcomes"] = sorted(
            {f"{d.decision.value}:{d.reason.value if d.reason else ''}" for d in decisions}
        )

        # 2. Decision latency with frames arriving in real time (10 fps).
        latencies = []
        interval = 0.1
        for _ in range(presentations):
            decisions.clear()
            start = None
            for frame in with_credential(iter(owner), text, shown_for=1):
                arrival = time.perf_counter()
                start = start or arrival
                done = gate.on_frame(frame)
                if done is not None:
                    latencies.append((time.perf_counter() - start) * 1000.0)
                    break
                time.sleep(max(0.0, interval - (time.perf_counter() - arrival)))
        report["latency_ms"] = {"p50": _pct(latencies, 50), "p95": _pct(latencies, 95)}
        report["people_per_minute"] = 60_000.0 / (_pct(latencies, 50) + 1000.0)  # +1 s to pass

        # 3. Several gates at 10 fps each, one process per gate.
        report["multi_gate"] = _multi(site, text, root, gates, seconds)

        # 4. The naive peer on the same frames.
        report["naive"] = _naive(owner[:20])
        if report["naive"].get("fps"):
            report["ratio_idle_fps_over_naive"] = report["idle_fps"] / report["naive"]["fps"]
            report["ratio_busy_fps_over_naive"] = report["busy_fps"] / report["naive"]["fps"]
        site.close()
    report["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return report


def _lane(args: tuple[str, str, str, str, int, float, float]) -> dict[str, float]:
    """One gate in its own process: frames paced at 10 fps, late frames dropped."""
    db_url, key_dir, shared, text, n, seconds, start_at = args
    from seuil.bootstrap import build_site
    from seuil.gate.replay import with_credential
    from seuil.settings import KeySettings, Settings, StorageSettings

    site = build_site(Settings(database=StorageSettings(url=db_url),
                               keys=KeySettings(dir=Path(key_dir))))  # fmt: skip
    root = Path(shared)
    owner = _frames(root / "video/obama.mp4", (1280, 720), 40)
    room = _frames(root / "video/biden.mp4", (1280, 720), 40)
    decisions: list[Any] = []
    gate = _pipeline(site, decisions)
    stream = (room[n * 7 :] + list(with_credential(iter(owner), text, shown_for=1))) * 20
    time.sleep(max(0.0, start_at - time.time()))  # all lanes start together
    c0 = time.process_time()
    due = time.perf_counter()
    end = due + seconds
    processed = late = 0
    for frame in stream:
        if time.perf_counter() >= end:
            break
        if time.perf_counter() > due + 0.1:  # more than a frame behind: the camera drops it
            late += 1
            due += 0.1
            continue
        gate.on_frame(frame)
        processed += 1
        due += 0.1
        time.sleep(max(0.0, due - time.perf_counter()))
    cpu = time.process_time() - c0
    site.close()
    return {"processed": processed, "dropped": late, "decisions": len(decisions), "cpu": cpu}


def _multi(site: Any, text: str, root: Path, gates: int, seconds: float) -> dict[str, Any]:
    """Several gates at 10 fps each, one process per gate (a process group)."""
    import multiprocessing

    key_dir = str(site.settings.keys.dir)
    start_at = time.time() + 25.0  # time for every process to load its models and frames
    args = [(site.database_url, key_dir, str(root), text, n, seconds, start_at)
            for n in range(gates)]  # fmt: skip
    with multiprocessing.get_context("spawn").Pool(gates) as pool:
        results = pool.map(_lane, args)
    processed = sum(r["processed"] for r in results)
    dropped = sum(r["dropped"] for r in results)
    return {
        "gates": gates,
        "target_fps_per_gate": 10.0,
        "achieved_fps_per_gate": processed / seconds / gates,
        "dropped_fraction": dropped / max(1, processed + dropped),
        "cpu_cores_used": sum(r["cpu"] for r in results) / seconds,
        "decisions": sum(r["decisions"] for r in results),
    }


def _naive(frames: list[RGBImage]) -> dict[str, Any]:
    if importlib.util.find_spec("face_recognition") is None:
        return {"missing": "pip install --no-deps face_recognition==1.3.0"}
    import face_recognition

    def run() -> None:
        for f in frames:
            boxes = face_recognition.face_locations(f, number_of_times_to_upsample=1)
            face_recognition.face_encodings(f, boxes)

    t0 = time.perf_counter()
    run()
    return {"fps": len(frames) / (time.perf_counter() - t0)}


def print_gate_report(report: dict[str, Any], echo: Callable[[str], None] = print) -> None:
    echo("One gate, 1280x720 frames, as fast as possible:")
    echo(
        f"  idle (looking for a credential): {report['idle_fps']:6.1f} fps, "
        f"{report['idle_cpu_ms_per_frame']:.1f} ms CPU/frame"
    )
    echo(
        f"  collecting faces:                {report['busy_fps']:6.1f} fps   "
        f"(decisions: {', '.join(report['outcomes'])})"
    )
    lat = report["latency_ms"]
    echo(
        f"Decision latency at 10 fps (credential readable -> decision): "
        f"p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms; "
        f"~{report['people_per_minute']:.0f} people/min/gate (1 s to walk through)"
    )
    m = report["multi_gate"]
    echo(
        f"{m['gates']} gates at 10 fps each (one process per gate): "
        f"{m['achieved_fps_per_gate']:.1f} fps/gate, "
        f"{m['dropped_fraction'] * 100:.1f} % frames dropped, "
        f"{m['cpu_cores_used']:.2f} CPU cores"
    )
    naive = report["naive"]
    if "fps" in naive:
        echo(
            f"Naive face_recognition (detect + encode every frame): {naive['fps']:.1f} fps; "
            f"seuil idle {report['ratio_idle_fps_over_naive']:.1f}x, "
            f"collecting {report['ratio_busy_fps_over_naive']:.1f}x"
        )
    else:
        echo(f"Naive peer: {naive['missing']}")
    echo(f"Peak memory: {report['max_rss_mb']:.0f} MB")
