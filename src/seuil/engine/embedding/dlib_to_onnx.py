"""Convert dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``)
to an ONNX graph that ONNX Runtime runs.

The graph takes ``chips``: ``uint8`` RGB face chips ``[N, 150, 150, 3]`` (dlib's
get_face_chip layout) and returns ``embedding``: ``float32`` ``[N, 128]``, dlib's raw
(unnormalised) output. dlib's input preprocessing, ``(pixel - channel_mean) / 256``, is
part of the graph.

dlib's file holds the parameters of every layer but not the network's wiring: tags,
skips and ``add_prev`` refer to each other through C++ template arguments only. The
wiring of ``anet_type`` (dlib's ``dnn_face_recognition_ex.cpp``) is therefore restated
in :func:`face_resnet_topology` and the file is checked against it layer by layer.

Semantics that matter for exact agreement with dlib:

- ``con_`` pads symmetrically by ``padding_y``/``padding_x`` as stored (``0`` for the
  stride-2 convolutions, ``k // 2`` otherwise); output size ``1 + (n + 2p - k) // s``.
- ``max_pool_``/``avg_pool_`` likewise (all pools here have padding 0); ``nr == 0``
  means "pool everything" (global average pooling).
- ``add_prev_`` adds two tensors of different shapes by zero-extending both to the
  larger size in every dimension (in ``residual_down`` a 3x3 stride-2 convolution and a
  2x2 stride-2 pooling disagree on odd sizes, and the channel counts double).
- ``affine_`` is a per-channel scale and shift, folded here into the preceding
  convolution.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from seuil.domain.errors import ModelConversionError
from seuil.engine.embedding.dlib_format import DlibLayer, DlibNet, read_dlib_net

# Bump when the produced graph changes: cached conversions carry it in their file name.
CONVERTER_VERSION = 1
OPSET = 17
IR_VERSION = 8
INPUT_NAME = "chips"
OUTPUT_NAME = "embedding"


# --- topology of dlib's anet_type ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One layer of the expected network, in forward order.

    ``kind`` is a :class:`DlibLayer` kind or ``"tag"``/``"skip"`` (both stored as
    ``"tag_or_skip"``); ``tag`` names the tag of a tag, skip or add_prev step;
    ``filters`` and ``stride`` describe a convolution.
    """

    kind: str
    tag: int = 0
    filters: int = 0
    stride: int = 0


def _block(filters: int, stride: int) -> list[Step]:
    # block<N,BN,stride> = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>
    return [
        Step("con", filters=filters, stride=stride),
        Step("affine"),
        Step("relu"),
        Step("con", filters=filters, stride=1),
        Step("affine"),
    ]


def _ares(filters: int) -> list[Step]:
    # relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>
    return [Step("tag", tag=1), *_block(filters, 1), Step("add_prev", tag=1), Step("relu")]


def _ares_down(filters: int) -> list[Step]:
    # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>
    return [
        Step("tag", tag=1),
        *_block(filters, 2),
        Step("tag", tag=2),
        Step("skip", tag=1),
        Step("avg_pool"),
        Step("add_prev", tag=2),
        Step("relu"),
    ]


def face_resnet_topology() -> list[Step]:
    """The layers of dlib's ``anet_type`` from input to output."""
    steps = [Step("con", filters=32, stride=2), Step("affine"), Step("relu"), Step("max_pool")]
    steps += _ares(32) * 3  # alevel4
    steps += _ares_down(64) + _ares(64) * 3  # alevel3
    steps += _ares_down(128) + _ares(128) * 2  # alevel2
    steps += _ares_down(256) + _ares(256) * 2  # alevel1
    steps += _ares_down(256)  # alevel0
    steps += [Step("avg_pool"), Step("fc")]  # avg_pool_everything, fc_no_bias<128>
    return steps


def _check_against(net: DlibNet, steps: list[Step]) -> None:
    if net.input.name != "input_rgb_image_sized":
        raise ModelConversionError(
            f"expected an input_rgb_image_sized network, got {net.input.name}"
        )
    if len(net.layers) != len(steps):
        raise ModelConversionError(
            f"not dlib's face recognition ResNet: {len(net.layers)} layers, expected {len(steps)}"
        )
    for index, (step, layer) in enumerate(zip(steps, net.layers, strict=True)):
        expected = "tag_or_skip" if step.kind in ("tag", "skip") else step.kind
        ok = layer.kind == expected
        if ok and step.kind == "con":
            ok = (layer.params["num_filters"], layer.params["stride_y"]) == (
                step.filters,
                step.stride,
            )
        if not ok:
            raise ModelConversionError(
                f"not dlib's face recognition ResNet: layer {index} is {layer.kind} "
                f"{dict(layer.params)}, expected {step}"
            )


# --- graph building -----------------------------------------------------------------

FloatArray = npt.NDArray[np.float32]


def conv_parameters(con: DlibLayer, affine: DlibLayer | None) -> tuple[FloatArray, FloatArray]:
    """A con layer's filters and biases, with a following affine layer folded in."""
    weights = con.weights["filters"].astype(np.float64)
    bias = con.weights["biases"].astype(np.float64)
    if affine is not None:  # per-channel scale and shift of the convolution's output
        gamma = affine.weights["gamma"].astype(np.float64)
        weights = weights * gamma[:, None, None, None]
        bias = bias * gamma + affine.weights["beta"]
    return weights.astype(np.float32), bias.astype(np.float32)


Shape = tuple[int, int, int]  # channels, rows, columns of one sample


class _GraphBuilder:
    """Accumulates ONNX nodes and initialisers and tracks each tensor's static shape."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.shapes: dict[str, Shape] = {}
        self._count = 0

    def _name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def const(self, prefix: str, value: npt.NDArray[np.generic]) -> str:
        name = self._name(prefix)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], shape: Shape | None, **attrs: Any) -> str:
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        if shape is not None:
            self.shapes[out] = shape
        return out

    # layers

    def conv(self, x: str, con: DlibLayer, affine: DlibLayer | None) -> str:
        p = con.params
        weights, bias = conv_parameters(con, affine)
        k, rows, cols = self.shapes[x]
        kr, kc = int(p["nr"]), int(p["nc"])
        sy, sx = int(p["stride_y"]), int(p["stride_x"])
        py, px = int(p["padding_y"]), int(p["padding_x"])
        if weights.shape[1] != k:
            raise ModelConversionError(f"con expects {weights.shape[1]} channels, input has {k}")
        shape = (
            weights.shape[0],
            1 + (rows + 2 * py - kr) // sy,
            1 + (cols + 2 * px - kc) // sx,
        )
        return self.node(
            "Conv",
            [x, self.const("w", weights), self.const("b", bias)],
            shape,
            kernel_shape=[kr, kc],
            strides=[sy, sx],
            pads=[py, px, py, px],
        )

    def affine(self, x: str, layer: DlibLayer) -> str:
        k = self.shapes[x][0]
        gamma = layer.weights["gamma"].reshape(1, k, 1, 1)
        beta = layer.weights["beta"].reshape(1, k, 1, 1)
        scaled = self.node("Mul", [x, self.const("gamma", gamma)], self.shapes[x])
        return self.node("Add", [scaled, self.const("beta", beta)], self.shapes[x])

    def pool(self, x: str, layer: DlibLayer) -> str:
        p = {key: int(value) for key, value in layer.params.items()}
        k, rows, cols = self.shapes[x]
        op = "MaxPool" if layer.kind == "max_pool" else "AveragePool"
        if p["nr"] == 0 and p["nc"] == 0:
            return self.node("Global" + op, [x], (k, 1, 1))
        if p["padding_y"] or p["padding_x"]:
            raise ModelConversionError("padded dlib pooling layers are not supported")
        shape = (k, 1 + (rows - p["nr"]) // p["stride_y"], 1 + (cols - p["nc"]) // p["stride_x"])
        return self.node(
            op, [x], shape, kernel_shape=[p["nr"], p["nc"]], strides=[p["stride_y"], p["stride_x"]]
        )

    def add_prev(self, a: str, b: str) -> str:
        """dlib's add: both operands zero-extended to the larger size in each dimension."""
        target = tuple(max(s, t) for s, t in zip(self.shapes[a], self.shapes[b], strict=True))
        padded = [self._pad_to(x, (target[0], target[1], target[2])) for x in (a, b)]
        return self.node("Add", padded, (target[0], target[1], target[2]))

    def _pad_to(self, x: str, target: Shape) -> str:
        extra = [t - s for s, t in zip(self.shapes[x], target, strict=True)]
        if not any(extra):
            return x
        pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)  # begins, then ends (NCHW)
        return self.node("Pad", [x, self.const("pads", pads)], target, mode="constant")

    def fc(self, x: str, layer: DlibLayer) -> str:
        num_outputs = int(layer.params["num_outputs"])
        flat = self.node("Flatten", [x], None, axis=1)
        out = self.node("MatMul", [flat, self.const("fc_w", layer.weights["weights"])], None)
        if layer.params["bias"]:
            out = self.node("Add", [out, self.const("fc_b", layer.weights["biases"])], None)
        self.shapes[out] = (num_outputs, 1, 1)
        return out


def _preprocess(g: _GraphBuilder, net: DlibNet) -> str:
    """uint8 NHWC RGB -> dlib's (pixel - mean) / 256, float32 NCHW."""
    p = net.input.params
    means = np.array([p["avg_red"], p["avg_green"], p["avg_blue"]], dtype=np.float32)
    x = g.node("Cast", [INPUT_NAME], None, to=TensorProto.FLOAT)
    x = g.node("Sub", [x, g.const("mean", means.reshape(1, 1, 1, 3))], None)
    x = g.node("Mul", [x, g.const("scale", np.array([1 / 256], dtype=np.float32))], None)
    return g.node("Transpose", [x], (3, int(p["nr"]), int(p["nc"])), perm=[0, 3, 1, 2])


def build_face_model(net: DlibNet) -> onnx.ModelProto:
    """The ONNX model of a parsed ``dlib_face_recognition_resnet_model_v1``."""
    steps = face_resnet_topology()
    _check_against(net, steps)
    g = _GraphBuilder()
    x = _preprocess(g, net)
    tags: dict[int, str] = {}
    layers = net.layers
    i = 0
    while i < len(steps):
        step, layer = steps[i], layers[i]
        if step.kind == "tag":
            tags[step.tag] = x
        elif step.kind == "skip":
            x = tags[step.tag]
        elif step.kind == "add_prev":
            x = g.add_prev(x, tags[step.tag])
        elif step.kind == "con":
            follows = layers[i + 1] if i + 1 < len(layers) else None
            if follows is not None and follows.kind == "affine":
                x = g.conv(x, layer, follows)
                i += 1
            else:
                x = g.conv(x, layer, None)
        elif step.kind == "affine":
            x = g.affine(x, layer)
        elif step.kind == "relu":
            x = g.node("Relu", [x], g.shapes[x])
        elif step.kind in ("max_pool", "avg_pool"):
            x = g.pool(x, layer)
        elif step.kind == "fc":
            x = g.fc(x, layer)
        else:  # pragma: no cover - the topology only holds the kinds above
            raise ModelConversionError(f"unhandled layer kind {step.kind}")
        i += 1
    g.nodes.append(helper.make_node("Identity", [x], [OUTPUT_NAME], name="output"))

    dim = g.shapes[x][0]
    size = (int(net.input.params["nr"]), int(net.input.params["nc"]))
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["batch", *size, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", dim])],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="seuil.dlib_to_onnx",
        producer_version=str(CONVERTER_VERSION),
        ir_version=IR_VERSION,
    )
    model.doc_string = (
        "dlib face recognition ResNet (dlib_face_recognition_resnet_model_v1), converted "
        "from dlib's serialization. Input: uint8 RGB chips from dlib.get_face_chip "
        "(size 150, padding 0.25), NHWC. Output: dlib's raw 128-d descriptor."
    )
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:  # pragma: no cover - a converter bug
        raise ModelConversionError(f"converted ONNX model is invalid: {exc}") from exc
    return model


def convert(dat_path: Path, onnx_path: Path) -> None:
    """Convert a dlib face recognition ``.dat`` file to ONNX, written atomically."""
    save_model_atomically(build_face_model(read_dlib_net(Path(dat_path))), onnx_path)


def save_model_atomically(model: onnx.ModelProto, onnx_path: Path) -> None:
    """Write through a temporary file and rename, so a reader never sees half a model."""
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=onnx_path.name + ".", suffix=".tmp", dir=onnx_path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(model.SerializeToString())
        os.replace(tmp, onnx_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
