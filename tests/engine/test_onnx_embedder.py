"""The ONNX conversion of dlib's face recognition ResNet: agreement, batching, cache, parser."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from seuil.domain.errors import ModelConversionError
from seuil.engine.embedding.dlib_format import parse_dlib_net, read_dlib_net
from seuil.engine.embedding.model_cache import cached_onnx_model, sha256_file
from seuil.engine.embedding.onnx_backend import OnnxEmbedder, UserOnnxEmbedder
from seuil.ports.face import FaceEmbedder

face_recognition_models = pytest.importorskip("face_recognition_models")
dlib = pytest.importorskip("dlib")

DAT_PATH = Path(face_recognition_models.face_recognition_model_location())
N_FACES = 200
MIN_COSINE = 0.9999


def shared_dir() -> Path:
    override = os.environ.get("SEUIL_SHARED_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2].parent / "shared"


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.asarray((a * b).sum(axis=1) / norms)


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cached_onnx_model(DAT_PATH, directory=tmp_path_factory.mktemp("model-cache"))


@pytest.fixture(scope="session")
def onnx_embedder(onnx_model: Path) -> OnnxEmbedder:
    return OnnxEmbedder(onnx_model)


@pytest.fixture(scope="session")
def lfw_chips() -> list[np.ndarray]:
    """dlib-aligned chips of the first image of the first identities of LFW, by name."""
    images = shared_dir() / "faces" / "lfw" / "images"
    if not images.is_dir():
        pytest.skip(f"real faces not available: {images} is absent (set SEUIL_SHARED_DIR)")
    from PIL import Image

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(
        face_recognition_models.pose_predictor_five_point_model_location()
    )
    chips: list[np.ndarray] = []
    for person in sorted(p for p in images.iterdir() if p.is_dir()):
        files = sorted(person.glob("*.jpg"))
        if not files:
            continue
        image = np.asarray(Image.open(files[0]).convert("RGB"))
        boxes = detector(image, 1)
        if not boxes:
            continue
        box = max(boxes, key=lambda r: r.area())
        chips.append(dlib.get_face_chip(image, predictor(image, box), size=150, padding=0.25))
        if len(chips) == N_FACES:
            break
    assert len(chips) == N_FACES, f"only {len(chips)} faces found in {images}"
    return chips


def random_chips(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return list(rng.integers(0, 256, (n, 150, 150, 3), dtype=np.uint8))


# --- (a) agreement with dlib on real faces ------------------------------------------


@pytest.mark.slow
@pytest.mark.shared
def test_onnx_matches_dlib_on_real_faces(
    onnx_embedder: OnnxEmbedder, lfw_chips: list[np.ndarray]
) -> None:
    from seuil.engine.embedding.dlib_backend import DlibEmbedder

    reference = DlibEmbedder().embed(lfw_chips)
    converted = onnx_embedder.embed(lfw_chips)
    assert reference.shape == converted.shape == (N_FACES, 128)
    assert converted.dtype == np.float32
    similarity = cosine(reference, converted)
    print(
        f"\ncosine dlib vs onnx over {len(similarity)} LFW faces: "
        f"min {similarity.min():.8f}, median {statistics.median(similarity.tolist()):.8f}, "
        f"max |diff| {np.abs(reference - converted).max():.2e}"
    )
    assert similarity.min() >= MIN_COSINE


def test_onnx_matches_dlib_on_noise(onnx_embedder: OnnxEmbedder) -> None:
    from seuil.engine.embedding.dlib_backend import DlibEmbedder

    chips = random_chips(3, seed=7)
    similarity = cosine(DlibEmbedder().embed(chips), onnx_embedder.embed(chips))
    assert similarity.min() >= MIN_COSINE


# --- (b) batching -------------------------------------------------------------------


def test_batch_of_16_equals_16_singles(onnx_embedder: OnnxEmbedder) -> None:
    chips = random_chips(16, seed=1)
    batch = onnx_embedder.embed(chips)
    singles = np.concatenate([onnx_embedder.embed([chip]) for chip in chips])
    assert batch.shape == (16, 128)
    np.testing.assert_allclose(batch, singles, rtol=1e-4, atol=1e-5)
    assert cosine(batch, singles).min() >= 0.999999


def test_batches_larger_than_batch_size_and_empty(onnx_model: Path) -> None:
    embedder = OnnxEmbedder(onnx_model, batch_size=4)
    chips = random_chips(10, seed=2)
    np.testing.assert_allclose(
        embedder.embed(chips),
        embedder.embed(chips[:5]).tolist() + embedder.embed(chips[5:]).tolist(),
        rtol=1e-4,
        atol=1e-5,
    )
    assert embedder.embed([]).shape == (0, 128)


def test_onnx_embedder_satisfies_the_port(onnx_embedder: OnnxEmbedder) -> None:
    assert isinstance(onnx_embedder, FaceEmbedder)
    assert (onnx_embedder.name, onnx_embedder.dim) == ("onnx", 128)
    assert (onnx_embedder.chip.size, onnx_embedder.chip.padding) == (150, 0.25)


def test_wrong_chip_shape_is_refused(onnx_embedder: OnnxEmbedder) -> None:
    with pytest.raises(ValueError, match="150, 150, 3"):
        onnx_embedder.embed([np.zeros((112, 112, 3), dtype=np.uint8)])


# --- (c) the cache ------------------------------------------------------------------


def test_cache_reuses_then_reconverts_a_corrupt_file(tmp_path: Path) -> None:
    first = cached_onnx_model(DAT_PATH, directory=tmp_path)
    sidecar = first.with_name(first.name + ".sha256")
    assert sidecar.read_text().split()[0] == sha256_file(first)
    assert first.name.startswith(DAT_PATH.stem) and sha256_file(DAT_PATH)[:16] in first.name
    mtime = first.stat().st_mtime_ns
    assert cached_onnx_model(DAT_PATH, directory=tmp_path) == first
    assert first.stat().st_mtime_ns == mtime  # reused, not converted again

    good = sha256_file(first)
    with first.open("r+b") as handle:  # flip bytes in the middle of the weights
        handle.seek(first.stat().st_size // 2)
        handle.write(b"\x00corrupt\x00")
    assert sha256_file(first) != good
    again = cached_onnx_model(DAT_PATH, directory=tmp_path)
    assert again == first
    assert sha256_file(again) == good
    onnx.checker.check_model(str(again))
    assert not list(tmp_path.glob("*.tmp"))


def test_two_processes_converting_at_once(tmp_path: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2) as pool:
        paths = list(pool.map(cached_onnx_model, [DAT_PATH] * 2, [tmp_path] * 2))
    assert paths[0] == paths[1]
    sidecar = paths[0].with_name(paths[0].name + ".sha256")
    assert sidecar.read_text().split()[0] == sha256_file(paths[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == [paths[0].name, sidecar.name]


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEUIL_CACHE_DIR", str(tmp_path / "cache"))
    path = cached_onnx_model(DAT_PATH)
    assert path.parent == tmp_path / "cache"


def test_truncated_dat_is_a_conversion_error(tmp_path: Path) -> None:
    truncated = tmp_path / "dlib_face_recognition_resnet_model_v1.dat"
    truncated.write_bytes(DAT_PATH.read_bytes()[:5_000_000])
    with pytest.raises(ModelConversionError, match="truncated"):
        cached_onnx_model(truncated, directory=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.onnx"))


def test_missing_dat_is_a_conversion_error(tmp_path: Path) -> None:
    with pytest.raises(ModelConversionError, match="not found"):
        cached_onnx_model(tmp_path / "absent.dat", directory=tmp_path)


# --- (d) the parser -----------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"\x89PNG\r\n\x1a\n" + bytes(100), b"hello, this is text\n", bytes(range(256)) * 4],
    ids=["empty", "png", "text", "binary"],
)
def test_parser_rejects_non_dlib_bytes(data: bytes) -> None:
    with pytest.raises(ModelConversionError):
        parse_dlib_net(data)


def test_parser_rejects_other_dlib_files() -> None:
    shape_predictor = Path(face_recognition_models.pose_predictor_five_point_model_location())
    with pytest.raises(ModelConversionError):
        read_dlib_net(shape_predictor)


def test_parser_rejects_unknown_layer_and_trailing_bytes() -> None:
    data = DAT_PATH.read_bytes()
    renamed = data.replace(b"\x05con_4", b"\x05con_9", 1)
    with pytest.raises(ModelConversionError, match="unsupported dlib layer 'con_9'"):
        parse_dlib_net(renamed)
    with pytest.raises(ModelConversionError, match="trailing"):
        parse_dlib_net(data + b"\x00")


def test_parser_reads_the_face_network() -> None:
    net = read_dlib_net(DAT_PATH)
    assert net.loss.name == "loss_metric_2"
    assert net.input.params["nr"] == 150
    assert pytest.approx(net.input.params["avg_red"], abs=1e-3) == 122.782
    kinds = [layer.kind for layer in net.layers]
    assert kinds.count("con") == 29 and kinds[-1] == "fc"
    assert net.layers[-1].weights["weights"].shape == (256, 128)


# --- the user ONNX port -------------------------------------------------------------


def _linear_model(path: Path, size: int, weights: np.ndarray, nchw: bool) -> None:
    """A tiny embedding 'network': flatten then a matrix product."""
    shape: list[str | int] = ["n", 3, size, size] if nchw else ["n", size, size, 3]
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["x"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", weights.shape[1]])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))


@pytest.mark.parametrize("nchw", [True, False])
def test_user_onnx_embedder_preprocessing(tmp_path: Path, nchw: bool) -> None:
    size = 8
    rng = np.random.default_rng(3)
    weights = rng.standard_normal((3 * size * size, 5)).astype(np.float32)
    path = tmp_path / "user.onnx"
    _linear_model(path, size, weights, nchw)
    embedder = UserOnnxEmbedder(
        path,
        input_size=size,
        layout="arcface",
        channel_order="BGR",
        mean=(1.0, 2.0, 3.0),
        std=(2.0, 4.0, 8.0),
        data_format="NCHW" if nchw else "NHWC",
        batch_size=2,
    )
    assert isinstance(embedder, FaceEmbedder)
    assert embedder.dim == 5 and embedder.chip.size == size and embedder.chip.layout == "arcface"
    chips = list(rng.integers(0, 256, (3, size, size, 3), dtype=np.uint8))
    x = (np.stack(chips)[..., ::-1].astype(np.float32) - [1.0, 2.0, 3.0]) / [2.0, 4.0, 8.0]
    if nchw:
        x = x.transpose(0, 3, 1, 2)
    expected = x.reshape(3, -1).astype(np.float32) @ weights
    np.testing.assert_allclose(embedder.embed(chips), expected, rtol=1e-4, atol=1e-3)
