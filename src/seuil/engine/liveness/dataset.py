"""The ``shared/spoof`` data for liveness evaluation: crops, clips, and a leak-free split.

What the folder holds (checked by :func:`tag_sources`, which compares pixels): every crop
in ``crops/real/N.png`` is frame N of ``real2.webm`` and every crop in ``crops/fake/N.png``
with N <= 456 is frame N of ``fake2.webm`` (the crops are the clips' faces, not separate
recordings). The fake crops above 456 match no frame of ``fake2.webm``: they show another
person, replayed from a heavily compressed video. Sources are therefore
``real2.webm``, ``fake2.webm`` and ``other``.

Split. Neighbouring frames are near copies, so a random split would test on copies of
training frames. Frames are cut into blocks of ``block`` frame numbers (60 = 2 s at
30 fps); fold k fits on the blocks whose number has parity k and tests on the others,
leaving out test frames within ``guard`` frames of a block edge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from seuil.domain.faces import Landmarks5
from seuil.engine.images import load_image
from seuil.ports.face import RGBImage
from seuil.ports.liveness import FaceObservation

LIVE, ATTACK = "live", "attack"
CLIPS = {LIVE: "real2.webm", ATTACK: "fake2.webm"}
CROP_DIRS = {LIVE: "crops/real", ATTACK: "crops/fake"}
OTHER = "other"


Analyse = Callable[[RGBImage], Sequence[FaceObservation]]


@dataclass(frozen=True, slots=True, eq=False)
class Sample:
    """One face crop with its label, frame number, source and landmarks (None: no face)."""

    label: str  # LIVE or ATTACK
    index: int  # frame number in its clip (crop file number)
    source: str  # clip file name, or OTHER
    image: RGBImage
    file_bytes: int
    landmarks: Landmarks5 | None


def crop_paths(spoof: Path, label: str) -> list[tuple[int, Path]]:
    """``(frame number, path)`` of a class's crops, by frame number."""
    folder = spoof / CROP_DIRS[label]
    found = [(int(p.stem), p) for p in folder.glob("*.png") if p.stem.isdigit()]
    if not found:
        raise FileNotFoundError(f"no numbered PNG crops in {folder}")
    return sorted(found)


def iter_clip(spoof: Path, label: str, step: int = 1) -> Iterator[tuple[int, RGBImage]]:
    """``(frame number, RGB frame)`` of a class's clip, every ``step``-th frame."""
    cap = cv2.VideoCapture(str(spoof / CLIPS[label]))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open {spoof / CLIPS[label]}")
    try:
        index = 0
        while cap.grab():
            if index % step == 0:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    yield index, np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
    finally:
        cap.release()


def tag_sources(spoof: Path, label: str, crops: dict[int, RGBImage]) -> dict[int, str]:
    """Which crops are pixel-exact pieces of the same-numbered frame of the class's clip."""
    tags = dict.fromkeys(crops, OTHER)
    for index, frame in iter_clip(spoof, label):
        crop = crops.get(index)
        if crop is None or crop.shape[0] > frame.shape[0] or crop.shape[1] > frame.shape[1]:
            continue
        match = cv2.matchTemplate(frame, crop, cv2.TM_SQDIFF_NORMED)
        if float(match.min()) < 1e-3:
            tags[index] = CLIPS[label]
    return tags


def load_crops(spoof: Path, analyse: Analyse) -> list[Sample]:
    """Every crop of both classes with its source and the landmarks of its main face."""
    samples: list[Sample] = []
    for label in (LIVE, ATTACK):
        paths = dict(crop_paths(spoof, label))
        images = {index: load_image(path) for index, path in paths.items()}
        tags = tag_sources(spoof, label, images)
        for index, image in images.items():
            faces = analyse(image)
            landmarks = faces[0].landmarks if faces else None
            size = paths[index].stat().st_size
            samples.append(Sample(label, index, tags[index], image, size, landmarks))
    return samples


def in_fit(index: int, fold: int, block: int) -> bool:
    return (index // block) % 2 == fold


def is_test(index: int, fold: int, block: int = 60, guard: int = 6) -> bool:
    """Test side of a fold: a block of the other parity, ``guard`` frames from its edges."""
    offset = index % block
    return not in_fit(index, fold, block) and guard <= offset < block - guard


def split(
    indices: Sequence[int], fold: int, block: int = 60, guard: int = 6
) -> tuple[list[int], list[int]]:
    """Positions (into ``indices``) of the fitting and the test items of one fold."""
    fit = [i for i, idx in enumerate(indices) if in_fit(idx, fold, block)]
    test = [i for i, idx in enumerate(indices) if is_test(idx, fold, block, guard)]
    return fit, test
