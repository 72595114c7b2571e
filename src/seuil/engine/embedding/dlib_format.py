"""Reader of dlib's DNN binary serialization (the ``.dat`` files of dlib's CNN models).

dlib writes a network as nested C++ objects, outermost first. ``add_loss_layer`` writes a
version, the loss details and then its subnetwork; every ``add_layer`` writes a version,
*its whole subnetwork*, and only then its own layer details. So a file reads as: the
loss, a run of wrapper versions (output layer first), the input layer, and then the
layer details from the input towards the output. Tag and skip wrappers write only a
version: which tag they (or an ``add_prev`` layer) refer to lives in the C++ type, not
in the file, so the caller must know the topology (see :mod:`dlib_to_onnx`).

Primitive encodings (dlib/serialize.h, dlib/cuda/tensor.h):

- integers are packed: a control byte holding the number of payload bytes (low nibble)
  and the sign (``0x80``), then that many little-endian bytes of the magnitude;
- floats and doubles are two packed integers, mantissa and exponent (value =
  mantissa * 2**exponent), with three reserved exponents for inf, -inf and NaN;
- booleans are the ASCII characters ``'0'`` and ``'1'``;
- strings are a packed length followed by the bytes;
- tensors (version 2) are a version, four packed dimensions (n, k, nr, nc) and raw
  little-endian float32 values; ``alias_tensor`` shapes are a version and four dimensions.

Only the layer kinds used by dlib's published models are understood; anything else
raises :class:`ModelConversionError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from seuil.domain.errors import ModelConversionError

FloatArray = npt.NDArray[np.float32]
Param = int | float | str | bool

# float_details reserves these exponents for special values.
_EXP_INF, _EXP_NINF, _EXP_NAN = 32000, 32001, 32002
# Wrapper versions are small integers; layer names are strings of 4+ characters. A packed
# value at a wrapper position therefore tells a version (<= 3) from a name length.
_MAX_WRAPPER_VERSION = 3


@dataclass(frozen=True, slots=True)
class DlibLayer:
    """One layer of a dlib network, as stored in the file.

    ``kind`` is normalised (``"con"``, ``"affine"``, ``"relu"``, ``"max_pool"``,
    ``"avg_pool"``, ``"add_prev"``, ``"fc"``, ``"tag_or_skip"``, ``"input"``,
    ``"loss"``); ``name`` is the version string dlib wrote (``"con_4"``, ``"bn_con2"``...).
    A ``bn_con2``/``bn_fc2`` record is already turned into an ``affine`` one with the
    running statistics folded in, as dlib does when it loads a bn layer into ``affine_``.
    """

    kind: str
    name: str
    params: Mapping[str, Param] = field(default_factory=dict)
    weights: Mapping[str, FloatArray] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DlibNet:
    """A parsed network: loss, input layer, and the layers from input to output."""

    loss: DlibLayer
    input: DlibLayer
    layers: tuple[DlibLayer, ...]


class _Reader:
    """A cursor over the file's bytes with dlib's primitive decoders."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self.pos

    def _take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self._data):
            raise ModelConversionError(
                f"dlib model file is truncated: needed {n} bytes for {what} at offset "
                f"{self.pos}, {self.remaining} left"
            )
        chunk = self._data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def peek_int(self) -> int | None:
        """The next packed integer without consuming it (None if it is not one)."""
        saved = self.pos
        try:
            return self.integer("a peeked value")
        except ModelConversionError:
            return None
        finally:
            self.pos = saved

    def integer(self, what: str) -> int:
        control = self._take(1, what)[0]
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            raise ModelConversionError(
                f"not a dlib model file: bad integer control byte 0x{control:02x} for "
                f"{what} at offset {self.pos - 1}"
            )
        value = int.from_bytes(self._take(size, what), "little")
        return -value if control & 0x80 else value

    def real(self, what: str) -> float:
        mantissa = self.integer(what)
        exponent = self.integer(what)
        if exponent == _EXP_INF:
            return float("inf")
        if exponent == _EXP_NINF:
            return float("-inf")
        if exponent == _EXP_NAN:
            return float("nan")
        return float(np.ldexp(np.float64(mantissa), exponent))

    def boolean(self, what: str) -> bool:
        ch = bytes(self._take(1, what))
        if ch not in (b"0", b"1"):
            raise ModelConversionError(f"bad boolean {ch!r} for {what} at offset {self.pos - 1}")
        return ch == b"1"

    def string(self, what: str) -> str:
        length = self.integer(what)
        raw = bytes(self._take(length, what))
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ModelConversionError(f"not a dlib model file: bad string for {what}") from exc

    def tensor(self, what: str) -> FloatArray:
        version = self.integer(what)
        if version != 2:
            raise ModelConversionError(f"unsupported tensor version {version} for {what}")
        shape = tuple(self.integer(what) for _ in range(4))
        count = int(np.prod(shape))
        raw = self._take(4 * count, what)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias_shape(self, what: str) -> tuple[int, int, int, int]:
        version = self.integer(what)
        if version != 1:
            raise ModelConversionError(f"unsupported alias_tensor version {version} for {what}")
        n, k, nr, nc = (self.integer(what) for _ in range(4))
        return n, k, nr, nc


def _slice(params: FloatArray, offset: int, shape: tuple[int, ...]) -> FloatArray:
    """The sub-array an alias_tensor of ``shape`` views at ``offset`` in ``params``."""
    flat = params.reshape(-1)
    size = int(np.prod(shape))
    if offset + size > flat.size:
        raise ModelConversionError("layer parameters are shorter than their declared shapes")
    return flat[offset : offset + size].reshape(shape).copy()


def _skip_multipliers(r: _Reader, what: str, count: int = 4) -> None:
    # Learning-rate and weight-decay multipliers: training state only.
    for _ in range(count):
        r.real(what)


# --- layer details ------------------------------------------------------------------


def _read_con(r: _Reader, name: str) -> DlibLayer:
    params = r.tensor("con params")
    num_filters, nr, nc = r.integer("con"), r.integer("con"), r.integer("con")
    stride_y, stride_x = r.integer("con"), r.integer("con")
    padding_y, padding_x = r.integer("con"), r.integer("con")
    filters_shape = r.alias_shape("con filters")
    biases_shape = r.alias_shape("con biases")
    _skip_multipliers(r, "con")
    filters = _slice(params, 0, filters_shape)
    biases = _slice(params, filters.size, biases_shape).reshape(-1)
    if filters.shape[0] != num_filters or filters.shape[2:] != (nr, nc):
        raise ModelConversionError("con layer: filter shape disagrees with its settings")
    return DlibLayer(
        "con",
        name,
        {
            "num_filters": num_filters,
            "nr": nr,
            "nc": nc,
            "stride_y": stride_y,
            "stride_x": stride_x,
            "padding_y": padding_y,
            "padding_x": padding_x,
        },
        {"filters": filters, "biases": biases},
    )


def _read_affine(r: _Reader, name: str) -> DlibLayer:
    params = r.tensor("affine params")
    gamma_shape = r.alias_shape("affine gamma")
    beta_shape = r.alias_shape("affine beta")
    mode = r.integer("affine mode")
    gamma = _slice(params, 0, gamma_shape)
    beta = _slice(params, gamma.size, beta_shape)
    return DlibLayer(
        "affine",
        name,
        {"mode": "conv" if mode == 0 else "fc"},
        {"gamma": gamma.reshape(-1), "beta": beta.reshape(-1)},
    )


def _read_bn(r: _Reader, name: str) -> DlibLayer:
    params = r.tensor("bn params")
    gamma_shape = r.alias_shape("bn gamma")
    beta_shape = r.alias_shape("bn beta")
    for what in ("bn means", "bn invstds"):
        r.tensor(what)
    running_means = r.tensor("bn running_means").reshape(-1)
    running_variances = r.tensor("bn running_variances").reshape(-1)
    r.integer("bn num_updates")
    r.integer("bn running_stats_window_size")
    _skip_multipliers(r, "bn")
    eps = r.real("bn eps")
    gamma = _slice(params, 0, gamma_shape).reshape(-1)
    beta = _slice(params, gamma.size, beta_shape).reshape(-1)
    # What dlib's affine_(const bn_&) does: g = gamma/sqrt(var+eps), b = beta - g*mean.
    scale = gamma * (np.float32(1) / np.sqrt(running_variances + np.float32(eps)))
    shift = beta - scale * running_means
    return DlibLayer(
        "affine",
        name,
        {"mode": "conv" if name == "bn_con2" else "fc"},
        {"gamma": scale.astype(np.float32), "beta": shift.astype(np.float32)},
    )


def _read_pool(kind: str) -> Callable[[_Reader, str], DlibLayer]:
    def read(r: _Reader, name: str) -> DlibLayer:
        keys = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
        return DlibLayer(kind, name, {key: r.integer(f"{kind} {key}") for key in keys})

    return read


def _read_fc(r: _Reader, name: str) -> DlibLayer:
    num_outputs = r.integer("fc num_outputs")
    num_inputs = r.integer("fc num_inputs")
    params = r.tensor("fc params")
    weights_shape = r.alias_shape("fc weights")
    biases_shape = r.alias_shape("fc biases")
    bias_mode = r.integer("fc bias_mode")
    _skip_multipliers(r, "fc")
    has_bias = bias_mode == 0
    weights = _slice(params, 0, weights_shape).reshape(num_inputs, num_outputs)
    arrays: dict[str, FloatArray] = {"weights": weights}
    if has_bias:
        arrays["biases"] = _slice(params, weights.size, biases_shape).reshape(-1)
    return DlibLayer(
        "fc",
        name,
        {"num_outputs": num_outputs, "num_inputs": num_inputs, "bias": has_bias},
        arrays,
    )


def _read_nothing(kind: str) -> Callable[[_Reader, str], DlibLayer]:
    def read(_r: _Reader, name: str) -> DlibLayer:
        return DlibLayer(kind, name)

    return read


def _read_input_rgb_sized(r: _Reader, name: str) -> DlibLayer:
    means = [r.real("input mean") for _ in range(3)]
    nr, nc = r.integer("input nr"), r.integer("input nc")
    return DlibLayer(
        "input",
        name,
        {"avg_red": means[0], "avg_green": means[1], "avg_blue": means[2], "nr": nr, "nc": nc},
    )


def _read_input_rgb_pyramid(r: _Reader, name: str) -> DlibLayer:
    # input_rgb_image_pyramid<pyramid_down<N>>: channel means, then (version 2 only) the
    # padding between pyramid levels and around the tiled image; version 1 files use
    # dlib's defaults, 10 and 11. N is not stored: dlib's models use pyramid_down<6>.
    means = [r.real("input mean") for _ in range(3)]
    pyramid_padding, pyramid_outer_padding = 10, 11
    if name == "input_rgb_image_pyramid2":
        pyramid_padding = r.integer("pyramid_padding")
        pyramid_outer_padding = r.integer("pyramid_outer_padding")
    return DlibLayer(
        "input",
        name,
        {
            "avg_red": means[0],
            "avg_green": means[1],
            "avg_blue": means[2],
            "pyramid_padding": pyramid_padding,
            "pyramid_outer_padding": pyramid_outer_padding,
        },
    )


_LAYER_READERS: dict[str, Callable[[_Reader, str], DlibLayer]] = {
    "con_4": _read_con,
    "affine_": _read_affine,
    "bn_con2": _read_bn,
    "bn_fc2": _read_bn,
    "relu_": _read_nothing("relu"),
    "add_prev_": _read_nothing("add_prev"),
    "max_pool_2": _read_pool("max_pool"),
    "avg_pool_2": _read_pool("avg_pool"),
    "fc_2": _read_fc,
}

_INPUT_READERS: dict[str, Callable[[_Reader, str], DlibLayer]] = {
    "input_rgb_image_sized": _read_input_rgb_sized,
    "input_rgb_image_pyramid": _read_input_rgb_pyramid,
    "input_rgb_image_pyramid2": _read_input_rgb_pyramid,
}


def _read_details(
    r: _Reader, table: Mapping[str, Callable[[_Reader, str], DlibLayer]]
) -> DlibLayer:
    offset = r.pos
    name = r.string("layer name")
    reader = table.get(name)
    if reader is None:
        raise ModelConversionError(
            f"unsupported dlib layer {name!r} at offset {offset} "
            f"(supported: {', '.join(sorted(table))})"
        )
    return reader(r, name)


# --- losses -------------------------------------------------------------------------


def _read_loss(r: _Reader) -> DlibLayer:
    name = r.string("loss name")
    if name == "loss_metric_":
        return DlibLayer("loss", name, {"margin": 0.1, "dist_thresh": 0.75})
    if name == "loss_metric_2":
        margin = r.real("loss margin")
        return DlibLayer("loss", name, {"margin": margin, "dist_thresh": r.real("loss thresh")})
    if name == "loss_mmod_":
        return DlibLayer("loss", name, _read_mmod_options(r))
    raise ModelConversionError(f"unsupported dlib loss layer {name!r}")


def _read_mmod_options(r: _Reader) -> dict[str, Param]:
    """mmod_options, version 1 (one detector window, as in dlib's face detector)."""
    version = r.integer("mmod_options version")
    if version != 1:
        raise ModelConversionError(f"unsupported mmod_options version {version}")
    options: dict[str, Param] = {
        "detector_width": r.integer("detector_width"),
        "detector_height": r.integer("detector_height"),
        "loss_per_false_alarm": r.real("loss_per_false_alarm"),
        "loss_per_missed_target": r.real("loss_per_missed_target"),
        "truth_match_iou_threshold": r.real("truth_match_iou_threshold"),
    }
    # test_box_overlap objects: an IoU threshold and a percent-covered threshold.
    for prefix in ("nms", "ignore"):
        options[f"{prefix}_iou_thresh"] = r.real(f"overlaps_{prefix} iou")
        options[f"{prefix}_percent_covered_thresh"] = r.real(f"overlaps_{prefix} covered")
    return options


# --- the wrapper structure ----------------------------------------------------------


def _finish_add_layer(r: _Reader, version: int, *, on_input: bool) -> DlibLayer:
    layer = _read_details(r, _LAYER_READERS)
    for what in ("this_layer_setup_called", "gradient_input_is_stale", "output_disabled"):
        r.boolean(what)
    # Cached training state: x_grad, cached_output, then params_grad (version 2) or
    # grad_final (the input specialisation), all normally empty.
    for what in ("x_grad", "cached_output", "params_grad"):
        r.tensor(what)
    if on_input and version >= 3:
        r.integer("sample_expansion_factor")
    return layer


def parse_dlib_net(data: bytes) -> DlibNet:
    """Parse the bytes of a dlib network file (a loss layer over plain layers)."""
    r = _Reader(data)
    if r.peek_int() != 1:
        raise ModelConversionError("not a dlib network file: no add_loss_layer header")
    r.integer("add_loss_layer version")
    try:
        loss = _read_loss(r)
        versions: list[int] = []
        while (value := r.peek_int()) is not None and value <= _MAX_WRAPPER_VERSION:
            versions.append(r.integer("layer version"))
        if not versions:
            raise ModelConversionError("not a dlib network file: no layers after the loss")
        input_layer = _read_details(r, _INPUT_READERS)

        layers: list[DlibLayer] = []
        innermost = versions.pop()
        if innermost not in (2, 3):
            raise ModelConversionError(f"unsupported first-layer version {innermost}")
        layers.append(_finish_add_layer(r, innermost, on_input=True))
        for version in reversed(versions):
            if version == 1:  # add_tag_layer or add_skip_layer: nothing after the subnet
                layers.append(DlibLayer("tag_or_skip", ""))
            elif version == 2:
                layers.append(_finish_add_layer(r, version, on_input=False))
            else:
                raise ModelConversionError(f"unsupported layer wrapper version {version}")
    except ModelConversionError:
        raise
    except (ValueError, IndexError, OverflowError) as exc:
        raise ModelConversionError(f"malformed dlib network file: {exc}") from exc
    if r.remaining:
        raise ModelConversionError(f"unexpected {r.remaining} trailing bytes in dlib model file")
    return DlibNet(loss=loss, input=input_layer, layers=tuple(layers))


def read_dlib_net(path: Path) -> DlibNet:
    """Read and parse a dlib network ``.dat`` file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelConversionError(f"cannot read dlib model file {path}: {exc}") from exc
    try:
        return parse_dlib_net(data)
    except ModelConversionError as exc:
        raise ModelConversionError(f"{path.name}: {exc.message}") from exc
