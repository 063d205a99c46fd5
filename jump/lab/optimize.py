"""Model variants: FP16 for GPUs, INT8 for CPUs, and their quality against FP32.

* ``clean_model``: moves initializers out of the graph inputs (old exporters list them
  there, which stops ORT folding constants: SINet runs ~25 % faster without) and lifts the
  opset to 13, which per-channel quantisation needs (only for INT8: the lifted Resize
  trips the FP16 converter).
* ``to_fp16``: weights and activations in float16, inputs/outputs kept float32 so the
  engine feeds every variant the same tensor; BatchNormalization stays float32 (it holds
  running variances that lose too much in fp16).
* ``to_int8``: static QDQ quantisation, per-channel int8 weights, uint8 activations whose
  ranges come from a calibration set built from the matte evaluation composites
  (``jump.lab.matte.synth.still_set``), pre-processed exactly as the engine feeds the model.
* ``compare``: person masks of a variant vs FP32 (and both vs the composites' true alpha).

``onnx`` and ``onnxruntime.quantization`` are imported inside the functions: the plugin
never needs them at run time.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jump import catalogue

log = logging.getLogger("jump.optimize")

PRECISIONS = ("fp16", "int8")
VARIANTS_FILE = catalogue.PROJECT_MODELS / "variants.json"
QUANT_OPSET = 13  # per-channel QuantizeLinear/DequantizeLinear need opset 13
FP16_KEEP_FP32 = ("BatchNormalization",)


def variant_id(model_id: str, precision: str) -> str:
    return f"{model_id}-{precision}"


def variant_file(entry: catalogue.ModelEntry, precision: str) -> str:
    """Manifest-relative file of a variant: ``matte/mediapipe.onnx`` → ``matte/mediapipe-int8.onnx``."""
    path = Path(entry.file)
    return (path.parent / f"{entry.id}-{precision}{path.suffix}").as_posix()


def clean_model(model: Any, opset: int | None = None) -> Any:
    """Initializers out of the graph inputs; default-domain opset lifted to ``opset`` if given."""
    import onnx
    from onnx import version_converter

    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != len(model.graph.input):
        del model.graph.input[:]
        model.graph.input.extend(inputs)
    current = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), opset)
    if opset and current < opset:
        model = version_converter.convert_version(model, opset)
    onnx.checker.check_model(model)
    return model


def to_fp16(src: Path, dst: Path) -> Path:
    """Float16 copy of ``src`` with float32 inputs and outputs."""
    import onnx
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    # Its INFO log dumps whole nodes shared by fp16 and fp32 ops (Resize's roi): noise.
    logging.getLogger("onnxruntime.transformers.float16").setLevel(logging.WARNING)
    model = own_dim_params(clean_model(onnx.load(os.fspath(src))))
    half = convert_float_to_float16(
        model, keep_io_types=True, op_block_list=[*DEFAULT_OP_BLOCK_LIST, *FP16_KEEP_FP32]
    )
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(half, os.fspath(dst))
    return dst


def own_dim_params(model: Any) -> Any:
    """Every graph input/output gets its own symbolic dimension names.

    RVM declares its four recurrent states all as ``[batch, channels, height, width]``;
    once the fp16 converter puts a Cast behind each input, ORT takes the shared names
    for equal shapes and reuses one buffer for states of different sizes (a run fails
    with "Shape mismatch attempting to re-use buffer"). Distinct names cost nothing.
    """
    for value in [*model.graph.input, *model.graph.output]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param and dim.dim_param != "batch_size":
                dim.dim_param = f"{value.name}_{dim.dim_param}"
    return model


def model_inputs(model_id: str, frames: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
    """Tensors the engine would feed ``model_id`` for these BGR uint8 frames.

    Uses the engine's own pre-processing (``SegmentationModel.tensor``) on a CPU session,
    after the same INTER_AREA resize to the content rectangle.
    """
    import cv2

    from jump.matte.models.segmentation import SegmentationModel

    model = SegmentationModel(model_id, threads=1, provider="cpu")
    for frame in frames:
        h, w = frame.shape[:2]
        _, _, cw, ch = model.content_rect(w, h)
        small = cv2.resize(frame, (cw, ch), interpolation=cv2.INTER_AREA)
        yield model.tensor(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)).copy()


def calibration_frames(count: int = 24, size: tuple[int, int] = (1280, 720)) -> list[np.ndarray]:
    """BGR frames from the evaluation composites, every brightness level, spread evenly.

    The even-numbered cut-outs only: ``compare`` measures on the odd ones, so the
    quality figures are not measured on the data the ranges were fitted to.
    """
    from jump.lab.matte import synth

    samples = [s for s in synth.still_set(size) if _subject_index(s.name) % 2 == 0]
    step = max(1, len(samples) // count)
    return [s.frame for s in samples[::step][:count]]


def _subject_index(name: str) -> int:
    """Index of a composite's cut-out (names start with the cut-out's file stem)."""
    return _subject_stems().index(name.split("/")[0])


@functools.cache
def _subject_stems() -> list[str]:
    from jump.lab.matte import synth

    return [p.stem for p in synth.foreground_paths()]


def to_int8(
    src: Path,
    dst: Path,
    inputs: Sequence[np.ndarray],
    method: str = "minmax",
    per_channel: bool = True,
) -> Path:
    """Statically quantised (QDQ) copy of ``src``, activation ranges fitted on ``inputs``."""
    import tempfile

    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = clean_model(onnx.load(os.fspath(src)), QUANT_OPSET)
    input_name = model.graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter([{input_name: x} for x in inputs])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        clean, pre = Path(tmp) / "clean.onnx", Path(tmp) / "pre.onnx"
        onnx.save(model, os.fspath(clean))
        # Fixed shapes: ONNX shape inference suffices (the symbolic one needs sympy).
        quant_pre_process(os.fspath(clean), os.fspath(pre), skip_symbolic_shape=True)
        quantize_static(
            os.fspath(pre),
            os.fspath(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=methods[method],
        )
    return dst


# -- manifest of variants --------------------------------------------------------------


def variant_entry(entry: catalogue.ModelEntry, precision: str) -> dict[str, Any]:
    """Manifest entry of a variant: its recipe and its own file, no download; every other
    field is inherited from the base entry when the manifest loads.

    ``sha256`` is empty: a variant is built on the user's machine and its bytes depend on
    the onnx/onnxruntime versions, so the recipe (``variant_of``, ``precision``) is what
    is recorded, and ``python -m jump models optimize`` rebuilds it.
    """
    return {
        "id": variant_id(entry.id, precision),
        "file": variant_file(entry, precision),
        "sha256": "",
        "url": "",
        "variant_of": entry.id,
        "precision": precision,
    }


def record_variants(entries: Sequence[dict[str, Any]], path: Path | None = None) -> None:
    """Add or refresh entries in ``models/variants.json`` (sorted by id, stable diff)."""
    path = path or VARIANTS_FILE
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    by_id = {e["id"]: e for e in current}
    by_id.update({e["id"]: e for e in entries})
    ordered = [by_id[k] for k in sorted(by_id)]
    path.write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def refresh_variants(path: Path | None = None) -> list[str]:
    """Re-derive every recorded variant entry from its base's current manifest entry.

    Run after editing a base model's engine fields; returns the refreshed ids.
    """
    path = path or VARIANTS_FILE
    manifest = {k: v for k, v in catalogue.load_manifest().items() if not is_variant(v)}
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    fresh = [variant_entry(manifest[e["variant_of"]], e["precision"]) for e in current]
    record_variants(fresh, path)
    return [e["id"] for e in fresh]


def is_variant(entry: catalogue.ModelEntry) -> bool:
    return bool(entry.spec.get("variant_of"))


def build_variant(
    model_id: str,
    precision: str,
    out_dir: Path = catalogue.PROJECT_MODELS,
    models_dir: str | os.PathLike[str] | None = None,
    calibration: int = 24,
) -> Path:
    """Build one variant of a manifest model into ``out_dir`` and return its path."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    entry = catalogue.get_entry(model_id)
    if is_variant(entry):
        raise catalogue.ModelError(
            f"{model_id!r} is already a variant of {entry.spec['variant_of']}"
        )
    src = catalogue.find_model(model_id, models_dir)
    dst = Path(out_dir) / variant_file(entry, precision)
    if precision == "fp16":
        to_fp16(src, dst)
    else:
        inputs = list(model_inputs(model_id, calibration_frames(calibration)))
        to_int8(src, dst, inputs)
    return dst


# -- quality against FP32 -------------------------------------------------------------


@dataclass
class Agreement:
    model: str
    variant: str
    provider: str
    frames: int
    iou_vs_fp32: float  # masks (p > 0.5) of the variant vs FP32, mean over frames
    mad_vs_fp32: float  # mean |p_variant − p_fp32|
    iou_fp32: float  # FP32 mask vs the true alpha (> 0.5)
    iou_variant: float
    mad_fp32: float  # |p − α| vs the true alpha, at model resolution
    mad_variant: float

    def row(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def compare(
    model_id: str,
    variant: str | os.PathLike[str],
    provider: str = "cpu",
    limit: int | None = None,
    size: tuple[int, int] = (1280, 720),
) -> Agreement:
    """Variant vs FP32 on the held-out evaluation composites (odd-numbered cut-outs).

    ``variant`` is a manifest id (``mediapipe-int8``) or a path to an ONNX file. Both
    models go through the engine's pre- and post-processing; the probability maps are
    compared at model resolution against each other and against the true alpha.
    """
    import cv2

    from jump.lab.matte import synth
    from jump.matte.models.segmentation import SegmentationModel

    ref = SegmentationModel(model_id, threads=2, provider=provider)
    var = SegmentationModel(model_id, threads=2, provider=provider)
    if Path(os.fspath(variant)).suffix == ".onnx":
        from jump import sessions

        var.session = sessions.create_session(variant, 2, provider)
        name = Path(os.fspath(variant)).stem
    else:
        var = SegmentationModel(str(variant), threads=2, provider=provider)
        name = str(variant)
    held_out = (s for s in synth.still_set(size) if _subject_index(s.name) % 2 == 1)
    samples = itertools.islice(held_out, limit)
    rows = []
    for s in samples:
        h, w = s.frame.shape[:2]
        probs = []
        for m in (ref, var):
            _, _, cw, ch = m.content_rect(w, h)
            small = cv2.resize(s.frame, (cw, ch), interpolation=cv2.INTER_AREA)
            probs.append(m.probability(m.run(m.tensor(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))))
        p32, pv = probs
        truth = cv2.resize(s.alpha, (p32.shape[1], p32.shape[0]), interpolation=cv2.INTER_AREA)
        t = truth > 0.5
        rows.append(
            (
                _iou(pv > 0.5, p32 > 0.5),
                float(np.abs(pv - p32).mean()),
                _iou(p32 > 0.5, t),
                _iou(pv > 0.5, t),
                float(np.abs(p32 - truth).mean()),
                float(np.abs(pv - truth).mean()),
            )
        )
    means = np.asarray(rows, np.float64).mean(axis=0)
    return Agreement(
        model_id,
        name,
        provider,
        len(rows),
        *(float(v) for v in means),  # type: ignore[arg-type]
    )
