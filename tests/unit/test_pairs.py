"""Pair-list parsing: LFW pair files (with and without folds) and file_x,file_y,Decision CSVs."""

from __future__ import annotations

from pathlib import Path

import pytest

from seuil.domain.errors import DataFormatError
from seuil.engine.evaluation.pairs import Pair, lfw_image_path, load_pairs, scan_identities

IMAGES = Path("/data/lfw")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_lfw_count_header(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pairs.txt",
        "2\nAaron_Peirsol\t1\t2\nAaron_Peirsol 3 4\nAbel_Pacheco\t1\tAbra_Hamilton\t2\n"
        "Ann  7  Bob 12\n",
    )
    pairs = load_pairs(path, IMAGES)
    assert pairs.folds is None
    assert [p.same for p in pairs.pairs] == [True, True, False, False]
    assert pairs.pairs[0] == Pair(
        IMAGES / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg",
        IMAGES / "Aaron_Peirsol" / "Aaron_Peirsol_0002.jpg",
        True,
        "Aaron_Peirsol",
        "Aaron_Peirsol",
    )
    assert pairs.pairs[3].path_b == IMAGES / "Bob" / "Bob_0012.jpg"
    assert pairs.pairs[3].identity_a == "Ann"
    assert pairs.has_identities
    assert pairs.identities()[IMAGES / "Bob" / "Bob_0012.jpg"] == "Bob"


def test_lfw_fold_header_gives_fold_ids(tmp_path: Path) -> None:
    body = "A 1 2\nB 1 C 1\nD 1 2\nE 1 F 2\nG 1 2\nH 1 I 2\n"
    pairs = load_pairs(write(tmp_path, "pairs.txt", "3\t1\n" + body), IMAGES)
    assert pairs.folds == (0, 0, 1, 1, 2, 2)
    assert [p.same for p in pairs.pairs] == [True, False] * 3


def test_blank_lines_and_bom_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    path.write_bytes("\ufeff1\n\nA 1 2\n\nB 1 C 1\n\n".encode())
    assert len(load_pairs(path, IMAGES)) == 2


def test_lfw_image_path() -> None:
    assert lfw_image_path(Path("d"), "Zico", 3) == Path("d/Zico/Zico_0003.jpg")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("x\nA 1 2\nB 1 C 1\n", 1, "pair count"),
        ("1 2 3\nA 1 2\nB 1 C 1\n", 1, "pair count"),
        ("0\n", 1, "positive"),
        ("2\nA 1 2\nB 1 C 1\n", 1, "announces 4 pairs"),
        ("1\nA 1 two\nB 1 C 1\n", 2, "not an integer"),
        ("1\nA 0 2\nB 1 C 1\n", 2, "1 or more"),
        ("1\nA 1\nB 1 C 1\n", 2, "2 fields"),
        ("1\nA 1 2\nB 1 C 1 extra\n", 3, "5 fields"),
        ("1\nA 1 2\nB 1 B 2\n", 3, "twice"),
        ("1\nB 1 C 1\nA 1 2\n", 2, "same-person pair"),
    ],
)
def test_malformed_lfw_names_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(DataFormatError) as info:
        load_pairs(path, IMAGES)
    assert str(path) in info.value.message
    assert f"line {line}:" in info.value.message
    assert fragment in info.value.message


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="empty"):
        load_pairs(write(tmp_path, "empty.txt", "\n \n"), IMAGES)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="cannot read"):
        load_pairs(tmp_path / "nope.txt", IMAGES)


def test_csv_pairs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "master.csv",
        "file_x,file_y,Decision\nimg1.jpg,img2.jpg,Yes\nsub/img3.jpg,img4.jpg, no \n",
    )
    pairs = load_pairs(path, IMAGES)
    assert pairs.folds is None
    assert pairs.pairs[0] == Pair(IMAGES / "img1.jpg", IMAGES / "img2.jpg", True)
    assert pairs.pairs[1] == Pair(IMAGES / "sub" / "img3.jpg", IMAGES / "img4.jpg", False)
    assert not pairs.has_identities
    assert pairs.identities() == {}
    assert pairs.images() == tuple(
        IMAGES / n for n in ("img1.jpg", "img2.jpg", "sub/img3.jpg", "img4.jpg")
    )


def test_csv_variants_column_order_case_quotes_crlf(tmp_path: Path) -> None:
    path = tmp_path / "pairs.data"  # detected by its comma, not its name
    path.write_bytes(b'Decision,FILE_Y,file_x\r\n"YES","b, c.jpg",a.jpg\r\n\r\nNo,d.jpg,e.jpg\r\n')
    pairs = load_pairs(path, IMAGES)
    assert pairs.pairs[0] == Pair(IMAGES / "a.jpg", IMAGES / "b, c.jpg", True)
    assert pairs.pairs[1] == Pair(IMAGES / "e.jpg", IMAGES / "d.jpg", False)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("img1.jpg,img2.jpg,Yes\n", 1, "header"),
        ("file_x,file_y\na,b\n", 1, "missing: decision"),
        ("file_x,file_y,Decision\na.jpg,b.jpg,Maybe\n", 2, "Yes or No"),
        ("file_x,file_y,Decision\na.jpg,b.jpg\n", 2, "expected 3 fields"),
        ("file_x,file_y,Decision\na.jpg,,Yes\n", 2, "empty image path"),
        ("file_x,file_y,Decision\na.jpg,b.jpg,Yes\n/etc/x.jpg,b.jpg,No\n", 3, "relative"),
        ("file_x,file_y,Decision\n../x.jpg,b.jpg,No\n", 2, "relative"),
    ],
)
def test_malformed_csv_names_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, "pairs.csv", text)
    with pytest.raises(DataFormatError) as info:
        load_pairs(path, IMAGES)
    assert str(path) in info.value.message
    assert f"line {line}:" in info.value.message
    assert fragment in info.value.message


def test_csv_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no pairs"):
        load_pairs(write(tmp_path, "pairs.csv", "file_x,file_y,Decision\n"), IMAGES)


def test_spread_keeps_both_classes_and_folds(tmp_path: Path) -> None:
    lines = [f"P{i} 1 2" for i in range(5)] + [f"Q{i} 1 R{i} 1" for i in range(5)]
    body = "\n".join(lines + lines) + "\n"
    pairs = load_pairs(write(tmp_path, "pairs.txt", "2 5\n" + body), IMAGES)
    subset = pairs.spread(4)
    assert len(subset) == 4
    assert sorted(p.same for p in subset.pairs) == [False, False, True, True]
    assert subset.folds == (0, 0, 1, 1)
    assert pairs.spread(100) is pairs
    with pytest.raises(ValueError, match="at least 1"):
        pairs.spread(0)


def test_scan_identities(tmp_path: Path) -> None:
    for name, count in (("Bob", 2), ("Ann", 1), ("Empty", 0)):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(count, 0, -1):
            (folder / f"{name}_{i:04d}.jpg").write_bytes(b"")
    (tmp_path / "Bob" / "notes.txt").write_text("not an image")
    found = scan_identities(tmp_path)
    assert list(found) == ["Ann", "Bob"]
    assert [p.name for p in found["Bob"]] == ["Bob_0001.jpg", "Bob_0002.jpg"]
    with pytest.raises(DataFormatError):
        scan_identities(tmp_path / "Empty")
    with pytest.raises(DataFormatError):
        scan_identities(tmp_path / "missing")


@pytest.mark.shared
def test_real_lfw_dev_files_parse(shared: Path) -> None:
    lfw = shared / "faces" / "lfw"
    train = load_pairs(lfw / "pairsDevTrain.txt", lfw / "images")
    test = load_pairs(lfw / "pairsDevTest.txt", lfw / "images")
    assert (len(train), sum(p.same for p in train.pairs)) == (2200, 1100)
    assert (len(test), sum(p.same for p in test.pairs)) == (1000, 500)
    assert all(p.path_a.is_file() and p.path_b.is_file() for p in test.pairs)
    csv_pairs = load_pairs(
        shared / "faces" / "pairs-set" / "master.csv", shared / "faces" / "pairs-set"
    )
    assert len(csv_pairs) == 300
    assert all(p.path_a.is_file() for p in csv_pairs.pairs)
