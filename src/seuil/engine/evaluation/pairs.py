"""Pair lists for 1:1 verification benchmarks.

Two formats are read:

* **LFW pair files** (``pairsDevTrain.txt``, ``pairs.txt``). The first line is either a
  count ``N`` (one set: ``N`` same-person pairs then ``N`` different-person pairs) or
  ``F N`` (``F`` folds, each made of ``N`` same-person then ``N`` different-person
  pairs, as in LFW View 2). Each following line is ``name i j`` (same person) or
  ``name1 i name2 j`` (different people); fields are separated by tabs or spaces.
  Names resolve to ``DIR/<Name>/<Name>_%04d.jpg``.
* **CSV** ``file_x,file_y,Decision`` with a header line; ``Decision`` is ``Yes`` (same
  person) or ``No``; paths are relative to ``DIR``.

Malformed input raises :class:`~seuil.domain.errors.DataFormatError` naming the file and
the line. The parser does not check that the images exist (the protocol does).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from seuil.domain.errors import DataFormatError

__all__ = ["Pair", "PairList", "lfw_image_path", "load_pairs", "scan_identities"]

_CSV_COLUMNS = ("file_x", "file_y", "decision")
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
_YES = {"yes", "y", "true", "1", "same"}
_NO = {"no", "n", "false", "0", "different"}


@dataclass(frozen=True, slots=True)
class Pair:
    """One comparison: two image paths and whether they show the same person.

    ``identity_a``/``identity_b`` are known for LFW files (the folder names) and ``None``
    for CSV files, where the pair list is the only ground truth.
    """

    path_a: Path
    path_b: Path
    same: bool
    identity_a: str | None = None
    identity_b: str | None = None


@dataclass(frozen=True, slots=True)
class PairList:
    """The pairs of one file, in file order, and their fold ids if the file has folds."""

    source: Path
    pairs: tuple[Pair, ...]
    folds: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def has_identities(self) -> bool:
        return all(p.identity_a is not None and p.identity_b is not None for p in self.pairs)

    def subset(self, indices: list[int]) -> PairList:
        """The pairs at ``indices`` (in that order), keeping their fold ids."""
        folds = None if self.folds is None else tuple(self.folds[i] for i in indices)
        return PairList(self.source, tuple(self.pairs[i] for i in indices), folds)

    def spread(self, count: int) -> PairList:
        """About ``count`` pairs taken evenly through the file (deterministic).

        LFW files list all same-person pairs of a fold before its different-person
        pairs, so the first ``count`` lines would be one class only; an even spread
        keeps both classes and every fold.
        """
        if count < 1:
            raise ValueError("the pair limit must be at least 1")
        total = len(self.pairs)
        if count >= total:
            return self
        indices = sorted({(i * total) // count for i in range(count)})
        return self.subset(indices)

    def images(self) -> tuple[Path, ...]:
        """Every image the pairs use, once, in first-use order."""
        return tuple(dict.fromkeys(p for pair in self.pairs for p in (pair.path_a, pair.path_b)))

    def identities(self) -> dict[Path, str]:
        """Image -> identity, for files that name identities (LFW); empty for CSV files."""
        names: dict[Path, str] = {}
        for pair in self.pairs:
            if pair.identity_a is not None and pair.identity_b is not None:
                names[pair.path_a] = pair.identity_a
                names[pair.path_b] = pair.identity_b
        return names


def lfw_image_path(images_dir: Path, name: str, index: int) -> Path:
    """``DIR/<Name>/<Name>_%04d.jpg``, LFW's naming scheme."""
    return images_dir / name / f"{name}_{index:04d}.jpg"


def scan_identities(images_dir: Path) -> dict[str, tuple[Path, ...]]:
    """Identities of a folder in LFW layout (``DIR/<Name>/*.jpg``), images sorted by name.

    Identities are sorted by name; folders without images are left out.
    """
    if not images_dir.is_dir():
        raise DataFormatError(f"{images_dir}: not a folder of identity folders")
    identities: dict[str, tuple[Path, ...]] = {}
    for folder in sorted(p for p in images_dir.iterdir() if p.is_dir()):
        images = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES
        )
        if images:
            identities[folder.name] = tuple(images)
    if not identities:
        raise DataFormatError(f"{images_dir}: no identity folder with images")
    return identities


def load_pairs(path: Path, images_dir: Path) -> PairList:
    """Read an LFW pair file or a ``file_x,file_y,Decision`` CSV (detected by content)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: cannot read pair list ({exc})") from exc
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        raise DataFormatError(f"{path}: the pair list is empty")
    if path.suffix.lower() == ".csv" or "," in first:
        return _parse_csv(path, text, images_dir)
    return _parse_lfw(path, text, images_dir)


def _error(path: Path, line_no: int, what: str) -> DataFormatError:
    return DataFormatError(f"{path}, line {line_no}: {what}")


def _parse_index(path: Path, line_no: int, token: str) -> int:
    try:
        value = int(token)
    except ValueError:
        raise _error(path, line_no, f"image number {token!r} is not an integer") from None
    if value < 1:
        raise _error(path, line_no, f"image number {value} must be 1 or more")
    return value


def _parse_header(path: Path, line_no: int, fields: list[str]) -> tuple[int, int]:
    """``N`` -> (1 fold, N) ; ``F N`` -> (F folds, N)."""
    if len(fields) not in (1, 2) or not all(f.isdigit() for f in fields):
        raise _error(path, line_no, "expected a pair count 'N' or 'FOLDS N' on the first line")
    numbers = [int(f) for f in fields]
    n_folds, per_class = (1, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
    if n_folds < 1 or per_class < 1:
        raise _error(path, line_no, "the fold count and the pair count must be positive")
    return n_folds, per_class


def _parse_lfw(path: Path, text: str, images_dir: Path) -> PairList:
    lines = [(no, line.split()) for no, line in enumerate(text.splitlines(), 1) if line.strip()]
    header_no, header = lines[0]
    n_folds, per_class = _parse_header(path, header_no, header)
    body = lines[1:]
    expected = 2 * n_folds * per_class
    if len(body) != expected:
        raise _error(
            path,
            header_no,
            f"the header announces {expected} pairs ({n_folds} x ({per_class} same + "
            f"{per_class} different)) but the file has {len(body)}",
        )
    pairs: list[Pair] = []
    for position, (no, fields) in enumerate(body):
        # Within each fold, the first `per_class` lines are same-person pairs.
        same_expected = position % (2 * per_class) < per_class
        if len(fields) == 3:
            name, i, j = fields
            pair = Pair(
                lfw_image_path(images_dir, name, _parse_index(path, no, i)),
                lfw_image_path(images_dir, name, _parse_index(path, no, j)),
                True,
                name,
                name,
            )
        elif len(fields) == 4:
            name_a, i, name_b, j = fields
            if name_a == name_b:
                raise _error(path, no, f"a different-person pair names {name_a!r} twice")
            pair = Pair(
                lfw_image_path(images_dir, name_a, _parse_index(path, no, i)),
                lfw_image_path(images_dir, name_b, _parse_index(path, no, j)),
                False,
                name_a,
                name_b,
            )
        else:
            raise _error(
                path, no, f"expected 'name i j' or 'name1 i name2 j', got {len(fields)} fields"
            )
        if pair.same != same_expected:
            kind = "same-person" if same_expected else "different-person"
            raise _error(path, no, f"expected a {kind} pair at this position of the fold")
        pairs.append(pair)
    folds = None
    if n_folds > 1:
        folds = tuple(position // (2 * per_class) for position in range(len(pairs)))
    return PairList(path, tuple(pairs), folds)


def _relative_image(path: Path, line_no: int, images_dir: Path, value: str) -> Path:
    value = value.strip()
    if not value:
        raise _error(path, line_no, "empty image path")
    relative = PurePosixPath(value.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts:
        raise _error(path, line_no, f"image path {value!r} must be relative to the image folder")
    return images_dir.joinpath(*relative.parts)


def _parse_csv(path: Path, text: str, images_dir: Path) -> PairList:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    pairs: list[Pair] = []
    try:
        for row in reader:
            line_no = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                missing = [c for c in _CSV_COLUMNS if c not in header]
                if missing:
                    raise _error(
                        path,
                        line_no,
                        "expected a header 'file_x,file_y,Decision' "
                        f"(missing: {', '.join(missing)})",
                    )
                continue
            if len(row) != len(header):
                raise _error(path, line_no, f"expected {len(header)} fields, got {len(row)}")
            cells = dict(zip(header, row, strict=True))
            decision = cells["decision"].strip().lower()
            if decision in _YES:
                same = True
            elif decision in _NO:
                same = False
            else:
                raise _error(path, line_no, f"Decision must be Yes or No, got {decision!r}")
            pairs.append(
                Pair(
                    _relative_image(path, line_no, images_dir, cells["file_x"]),
                    _relative_image(path, line_no, images_dir, cells["file_y"]),
                    same,
                )
            )
    except csv.Error as exc:
        raise _error(path, reader.line_num, f"CSV syntax error ({exc})") from exc
    if not pairs:
        raise DataFormatError(f"{path}: the CSV has a header but no pairs")
    return PairList(path, tuple(pairs))
