"""The device path (jump.matte.device_graph / device_path / device_engine) on the CPU
provider, against the numpy engine it replaces, on the shipped portraits."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from jump.catalogue import find_model
from jump.matte import device_graph as dg
from jump.matte.decontaminate import encode_delta_bgra
from jump.matte.device_engine import DeviceMatteEngine
from jump.matte.device_graph_segmentation import build_segmentation, layout_for
from jump.matte.engine import MatteEngine
from jump.matte.settings import MatteSettings
from tests.helpers import matte_data as md

# Operators of ONNX Runtime's DirectML provider (transcribed from
# onnxruntime/core/providers/dml/DmlExecutionProvider/src/Operators/OperatorRegistration.cpp,
# the table ORT's docs/OperatorKernels.md lists under DmlExecutionProvider), as far as a
# mask graph could use them.
DML_OPS = frozenset(
    {
        "Abs", "Add", "AveragePool", "Cast", "Ceil", "Clip", "Concat", "Conv", "Div",
        "Exp", "Floor", "Gather", "Identity", "Max", "MaxPool", "Min", "Mul", "Pad",
        "ReduceMean", "Reshape", "Resize", "Round", "Sigmoid", "Slice", "Softmax", "Sub",
        "Transpose", "Where",
    }
)  # fmt: skip

# CPU-only settings both paths share: what the graphs do not do is switched off
COMMON = dict(provider="cpu", threads=2, auto_frame=False, min_blob=0.0, low_light="off")


def coreml_ops() -> set[str]:
    """The CoreML ML Program table that ships inside the onnxruntime package."""
    import onnxruntime

    table = (
        Path(onnxruntime.__file__).parent
        / "tools"
        / "mobile_helpers"
        / "coreml_supported_mlprogram_ops.md"
    )
    if not table.exists():
        pytest.skip("this onnxruntime build ships no CoreML operator table")
    ops = set()
    for line in table.read_text().splitlines():
        if line.startswith("|ai.onnx:"):
            ops.add(line.split("|")[1].split(":", 1)[1])
    return ops


def work_frame(size: tuple[int, int], k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    _name, frame, truth = md.handful((1280, 720))[k]
    w, h = size
    work = cv2.resize(md.bgra(frame), (w, h), interpolation=cv2.INTER_AREA)
    return work, cv2.resize(truth, (w, h), interpolation=cv2.INTER_AREA)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0.5) & (b > 0.5)).sum() / max(1, ((a > 0.5) | (b > 0.5)).sum()))


def both(settings: MatteSettings, frames: list[np.ndarray]):
    """(numpy engine results, device engine results), frame by frame."""
    e, d = MatteEngine(settings), DeviceMatteEngine(settings)
    return (
        [e.process_detailed(f, "bgra", want_raw=False) for f in frames],
        [d.process_detailed(f, "bgra", want_raw=False) for f in frames],
        d,
    )


@pytest.mark.parametrize("model", ["rvm", "mediapipe"])
def test_graph_ops_run_on_directml_and_coreml(model: str) -> None:
    proto = onnx.load(str(find_model(model)))
    full = dg.PostSettings(feather_px=3.0, decontaminate_px=6.0, refine="colour")
    if model == "rvm":
        graphs = [dg.build_rvm(proto, (640, 360), 0.5, full)]
    else:
        d = DeviceMatteEngine(MatteSettings(model=model, **COMMON))
        lay = layout_for(proto, d.spec, (512, 288))
        graphs = [
            build_segmentation(proto, (512, 288), lay, full),
            build_segmentation(proto, (500, 290), lay, dg.PostSettings(refine="grey")),
        ]
    coreml = coreml_ops()
    for graph in graphs:
        onnx.checker.check_model(graph)
        ops = dg.ops_added(graph, proto)
        assert ops <= dg.OPS_USED, ops - dg.OPS_USED
        assert ops <= DML_OPS, f"not in DirectML's table: {ops - DML_OPS}"
        assert ops <= coreml, f"not in CoreML's ML Program table: {ops - coreml}"


def test_rvm_graph_matches_the_numpy_engine() -> None:
    work, truth = work_frame((640, 360))
    s = MatteSettings(model="rvm", feather_px=2.0, **COMMON)
    eng, dev, d = both(s, [work, work])
    assert d.path is not None and d.path.provider == "cpu" and d.path.last_passes == 1
    for a, b in zip(eng, dev, strict=True):
        fa, fb = a.alpha / 255.0, b.alpha / 255.0
        assert np.abs(fa - fb).mean() < 1e-3
        assert abs(iou(fa, truth) - iou(fb, truth)) < 0.002
        assert iou(fb, truth) > 0.9
        # the shader's edge colour, as the worker would have encoded it
        ce = encode_delta_bgra(a.delta).astype(np.int16)
        assert np.abs(ce - b.edge_colour.astype(np.int16)).mean() < 0.5
        assert (b.edge_colour[..., 3] == 255).all()


@pytest.mark.parametrize("refine_colour", [True, False])
def test_mediapipe_graph_matches_the_numpy_engine(refine_colour: bool) -> None:
    frames, truth = md.still_noisy_frames(4, (1280, 720))
    s = MatteSettings(model="mediapipe", refine_colour=refine_colour, **COMMON)
    size = MatteEngine(s).work_size(1280, 720)
    work = [cv2.resize(md.bgra(f), size, interpolation=cv2.INTER_AREA) for f in frames]
    t = cv2.resize(truth, size, interpolation=cv2.INTER_AREA)
    eng, dev, _ = both(s, work)  # four frames: the temporal smoothing runs in both
    for a, b in zip(eng, dev, strict=True):
        fa, fb = a.alpha / 255.0, b.alpha / 255.0
        assert np.abs(fa - fb).mean() < 2e-3
        assert abs(iou(fa, t) - iou(fb, t)) < 0.005
        ce = encode_delta_bgra(a.delta).astype(np.int16)
        assert np.abs(ce - b.edge_colour.astype(np.int16)).mean() < 1.0


def test_letterboxed_model_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 4:3 picture into the 16:9 model: the black bars are part of the graph."""
    from jump.matte import model as model_mod

    real = model_mod.ModelSpec.from_entry

    def letterbox(entry):
        spec = real(entry)
        return spec.__class__(**{**spec.__dict__, "resize": "letterbox"})

    monkeypatch.setattr(model_mod.ModelSpec, "from_entry", letterbox)
    _name, frame, _truth = md.handful((960, 720))[1]
    s = MatteSettings(model="mediapipe", **COMMON)
    size = MatteEngine(s).work_size(960, 720)
    work = cv2.resize(md.bgra(frame), size, interpolation=cv2.INTER_AREA)
    (a,), (b,), _ = both(s, [work])
    assert np.abs(a.alpha / 255.0 - b.alpha / 255.0).mean() < 2e-3


def test_run_failure_falls_back_to_the_cpu_engine(caplog: pytest.LogCaptureFixture) -> None:
    work, truth = work_frame((512, 288))
    s = MatteSettings(model="mediapipe", **COMMON)
    d = DeviceMatteEngine(s)
    first = d.process_detailed(work, "bgra", want_raw=False)
    assert d.path is not None

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA failure 999: unspecified launch failure")

    d.path.session.run_with_iobinding = broken  # the provider dies mid-stream
    with caplog.at_level(logging.WARNING, logger="jump.matte"):
        masks = [d.process_detailed(work, "bgra", want_raw=False) for _ in range(3)]
    lines = [r for r in caplog.records if "takes over" in r.getMessage()]
    assert len(lines) == 1 and "CUDA failure" in lines[0].getMessage()
    assert d.fallback is not None and d.fallback.settings.provider == "cpu"
    for m in masks:  # every frame still got a mask, as good as before
        assert m.alpha.shape == (288, 512)
        assert iou(m.alpha / 255.0, truth) > iou(first.alpha / 255.0, truth) - 0.02


def test_resolution_change_rebuilds_the_graph() -> None:
    s = MatteSettings(model="mediapipe", **COMMON)
    d = DeviceMatteEngine(s)
    a, _truth_a = work_frame((512, 288))
    b, truth_b = work_frame((384, 216))
    ra = d.process_detailed(a, "bgra", want_raw=False)
    first = d.path
    rb = d.process_detailed(b, "bgra", want_raw=False)
    assert d.path is not first and d.path.work == (384, 216)
    assert ra.alpha.shape == (288, 512) and rb.alpha.shape == (216, 384)
    assert iou(rb.alpha / 255.0, truth_b) > 0.85
    # a full-size frame (the CLI's case) is brought to the work size and back
    big = cv2.resize(a, (1280, 720), interpolation=cv2.INTER_LINEAR)
    assert d.process_detailed(big, "bgra", want_raw=False).alpha.shape == (720, 1280)


def test_settings_the_graph_lacks_go_to_the_numpy_engine() -> None:
    work, _ = work_frame((512, 288))
    d = DeviceMatteEngine(MatteSettings(model="mediapipe", grow_px=10.0, **COMMON))
    grown = d.process_detailed(work, "bgra", want_raw=False)
    assert d.path is None and d._engine is not None
    d.update(d.settings.with_(grow_px=0.0))
    plain = d.process_detailed(work, "bgra", want_raw=False)
    assert d.path is not None
    assert int(grown.alpha.astype(np.int32).sum()) > int(plain.alpha.astype(np.int32).sum())


def test_worker_runs_the_device_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from jump.matte.worker import MatteWorker

    monkeypatch.setenv("JUMP_MATTE_PATH", "device")
    work, truth = work_frame((512, 288))
    with MatteWorker(MatteSettings(model="mediapipe", **COMMON)) as worker:
        assert worker.wait_ready(30)
        for i in range(3):
            worker.submit(work, i)
            deadline = time.time() + 20
            while (worker.newest() is None or worker.newest()[1] != i) and time.time() < deadline:
                time.sleep(0.01)
        alpha, frame_id = worker.newest()  # the shader decontaminates: no colour rides along
    assert frame_id == 2 and alpha.shape == (288, 512)
    assert iou(alpha / 255.0, truth) > 0.85


def test_auto_on_the_accelerator_starts_at_448_with_room_above(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jump.matte import auto as auto_mod
    from jump.matte.worker import MatteWorker

    monkeypatch.setenv("JUMP_MATTE_PATH", "device")
    monkeypatch.setattr(auto_mod, "cpu_only", lambda provider: False)  # as with CUDA
    w = MatteWorker(MatteSettings(model="auto", **{**COMMON, "provider": "cpu"}))
    try:
        auto = w._chooser.auto
        labels = [r.label for r in auto.ladder]
        assert labels[:5] == [
            "rvm 768 px + 576 guard",
            "rvm 768 px",
            "rvm 576 px + 384 guard",
            "rvm 576 px",
            "rvm 448 px",
        ]
        assert auto.rung.label == "rvm 448 px" and w.running == "rvm 448 px (auto)"
    finally:
        w.close()
