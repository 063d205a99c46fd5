"""The inner-size guard (jump.matte.guard): RVM at two inner sizes in one device graph, on
the CPU provider, against each size alone, on the dim portrait whose jacket 448 loses."""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest

from jump.catalogue import find_model
from jump.lab.matte import device_quality, guard_eval, metrics, synth
from jump.lab.paths import REPO
from jump.matte import device_graph as dg
from jump.matte import guard
from jump.matte.device_engine import DeviceMatteEngine
from jump.matte.engine import MatteEngine
from jump.matte.settings import MatteSettings
from tests.helpers import matte_data as md
from tests.unit.test_matte_device_graph import DML_OPS, coreml_ops

COMMON = dict(model="rvm", provider="cpu", threads=2, low_light="off")


def _states(engine: DeviceMatteEngine) -> dict[str, np.ndarray]:
    """The recurrent states the next run will read, by input name."""
    path = engine.path
    assert path is not None
    return {
        i: pair[path._turn].numpy().copy()  # the buffer goes with the engine
        for (i, _, _), pair in zip(path._pairs, path._buffers, strict=True)
        if i[-2] in "1234"
    }


@pytest.fixture(scope="module")
def dim_runs() -> dict[str, tuple[float, dict[str, np.ndarray], np.ndarray]]:
    """IoU on the dim portrait, the states after it and the first alpha: 448 alone, 384
    alone, both guarded; two frames, so the states have carried one frame into the next."""
    s = guard_eval.dim_portrait()
    out = {}
    for label, inner, second in (("448", 448, 0), ("384", 384, 0), ("guard", 448, 384)):
        e = DeviceMatteEngine(MatteSettings(rvm_inner=inner, rvm_guard=second, **COMMON))
        first = e.process_detailed(s.frame, "bgr", want_raw=False).alpha.copy()
        alpha = e.process_detailed(s.frame, "bgr", want_raw=False).alpha
        out[label] = (metrics.iou(alpha, s.alpha), _states(e), first)
    return out


def test_the_guard_keeps_the_dim_portraits_jacket(dim_runs) -> None:
    single = dim_runs["448"][0]
    guarded = dim_runs["guard"][0]
    assert single < 0.5  # the failure this guards against: 448 loses the dark jacket
    assert guarded > 0.85 and guarded > single + 0.3
    assert guarded >= dim_runs["384"][0] - 0.005  # where they disagree, all 384 found


def test_the_graph_fuses_as_the_numpy_rule(dim_runs) -> None:
    a448, a384, fused = (dim_runs[k][2] / 255.0 for k in ("448", "384", "guard"))
    assert guard.agreement(a448, a384) < guard.AGREE  # this picture takes the fused branch
    want = guard.RULES[guard.RULE](a448.astype(np.float32), a384.astype(np.float32))
    assert np.abs(fused - want).max() <= 1.5 / 255


def test_each_size_keeps_its_own_recurrent_state(dim_runs) -> None:
    alone448 = dim_runs["448"][1]
    alone384 = dim_runs["384"][1]
    both = dim_runs["guard"][1]
    assert set(both) == {*alone448, *(guard.GUARD_PREFIX + n for n in alone384)}
    for name, value in alone448.items():  # the main copy's state is 448's alone ...
        assert both[name].shape == value.shape
        assert np.abs(both[name] - value).max() < 1e-4
    for name, value in alone384.items():  # ... and the guard copy's is 384's alone
        mine = both[guard.GUARD_PREFIX + name]
        assert mine.shape == value.shape and mine.shape != alone448[name].shape
        assert np.abs(mine - value).max() < 1e-4


@pytest.mark.parametrize("k", [2, 3])
def test_the_guard_does_not_lose_on_a_normal_portrait(k: int) -> None:
    """Auto's 576 + 384 guard on shipped portraits in normal light, where the two sizes
    agree: fusing by plain max lost 0.015 / 0.023 IoU on these two (the smaller size's
    background comes in); the rule leaves the main size's mask alone."""
    _name, frame, truth = md.handful((1280, 720))[k]
    scores = {}
    for label, second in (("576", 0), ("guard", 384)):
        e = DeviceMatteEngine(MatteSettings(rvm_inner=576, rvm_guard=second, **COMMON))
        scores[label] = metrics.iou(e.process_detailed(frame, "bgr", want_raw=False).alpha, truth)
    assert scores["576"] > 0.95
    assert scores["guard"] >= scores["576"] - 0.002, scores


def test_guard_graph_adds_only_the_portable_operators() -> None:
    proto = onnx.load(str(find_model("rvm")))
    post = dg.PostSettings(feather_px=3.0, decontaminate_px=6.0)
    graph = dg.build_rvm(proto, (640, 360), 0.5, post, guard_ratio=0.375)
    onnx.checker.check_model(graph)
    ops = dg.ops_added(graph, guard.with_second_copy(proto, 0.375))
    assert ops <= dg.OPS_USED, ops - dg.OPS_USED
    assert ops <= DML_OPS, f"not in DirectML's table: {ops - DML_OPS}"
    coreml = coreml_ops()
    assert ops <= coreml, f"not in CoreML's ML Program table: {ops - coreml}"
    inputs = {i.name for i in graph.graph.input}
    assert {f"{guard.GUARD_PREFIX}{n}i" for n in dg.RVM_STATES} <= inputs


def test_numpy_rules_match_their_description() -> None:
    a = np.array([[0.0, 1.0], [0.2, 0.9]], np.float32)
    b = np.array([[1.0, 0.0], [0.9, 0.1]], np.float32)
    assert (guard.RULES["max"](a, b) == np.maximum(a, b)).all()
    assert guard.RULES["larger"](a, a * 0.5) is a
    assert guard.RULE in guard.RULES


def test_device_quality_dim_column_is_a_number() -> None:
    levels = {"normal": synth.BRIGHTNESS["normal"], "dim": synth.BRIGHTNESS["dim"]}
    samples = list(synth.still_set((640, 360), quick=True, root=REPO / "tests", brightness=levels))
    assert any(s.name.endswith("/dim") for s in samples)
    dim = [s for s in samples if s.name.endswith("/dim")][:1]
    normal = [s for s in samples if s.name.endswith("/normal")][:1]
    engine = MatteEngine(MatteSettings(model="mediapipe", provider="cpu", low_light="off"))
    iou, _mad, dim_iou = device_quality.score(engine, normal + dim)
    assert math.isfinite(dim_iou) and 0.3 < dim_iou <= 1.0
    assert math.isfinite(iou)


def test_auto_guards_only_on_the_accelerator() -> None:
    from jump.matte import auto

    assert not any(r.guard for r in (*auto.CPU_LADDER, *auto.LADDER))
    guarded = [r for r in auto.GPU_LADDER if r.guard]
    assert guarded and all(r.inner > r.guard for r in guarded)
    s = guarded[0].settings(MatteSettings(model="auto"))
    assert (s.model, s.rvm_inner, s.rvm_guard) == ("rvm", guarded[0].inner, guarded[0].guard)
    # the rung below a guarded one is the same size alone, and costs less
    for i, r in enumerate(auto.GPU_LADDER[:-1]):
        if r.guard:
            below = auto.GPU_LADDER[i + 1]
            assert (below.inner, below.guard) == (r.inner, 0) and below.cost < r.cost
