"""Matte engine on real composites with exact truth: quality floors, temporal behaviour,
odd input, the worker's hand-over, error paths, and the CLI's RGBA-PNG contract.

Floors are set a margin under what was measured (docs/matte.md has the measurements).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from jump import catalogue
from jump.lab.matte import composite, metrics, synth
from jump.matte import MatteEngine, MatteSettings, MatteWorker, refine
from jump.matte.model import MatteModelError
from tests.helpers import matte_data as md

MODELS = md.MODELS


@pytest.fixture(scope="module")
def matter() -> MatteEngine:
    return MatteEngine(MatteSettings(), MODELS)


@pytest.fixture(scope="module")
def handful() -> list:
    return md.handful()


@pytest.fixture(scope="module")
def scores(matter: MatteEngine, handful: list) -> dict[str, np.ndarray]:
    """Per composite: IoU, MAD, edge MAD, edge gradient error — raw and refined."""
    raw, ref = [], []
    for _, frame, truth in handful:
        matter.reset()
        r = matter.process_detailed(frame, "bgr")
        raw.append(
            [
                metrics.iou(r.raw, truth),
                metrics.mad(r.raw, truth),
                *metrics.edge_errors(r.raw, truth),
            ]
        )
        ref.append([metrics.iou(r.alpha, truth), metrics.mad(r.alpha, truth), *metrics.edge_errors(r.alpha, truth)])  # fmt: skip
    return {"raw": np.array(raw), "refined": np.array(ref)}


# -- quality ----------------------------------------------------------------------------


def test_default_model_quality_floors(scores: dict[str, np.ndarray]) -> None:
    # measured on the in-repo handful: raw IoU 0.862 / MAD 0.026, refined 0.873 / 0.020
    raw, ref = scores["raw"].mean(axis=0), scores["refined"].mean(axis=0)
    assert raw[0] >= 0.80 and ref[0] >= 0.80
    assert raw[1] <= 0.045 and ref[1] <= 0.036
    assert scores["refined"][:, 0].min() >= 0.68  # worst composite: 0.720 (person-1)


def test_refined_not_worse_than_raw(scores: dict[str, np.ndarray]) -> None:
    raw, ref = scores["raw"].mean(axis=0), scores["refined"].mean(axis=0)
    assert ref[0] >= raw[0] - 0.005  # IoU
    assert ref[1] < raw[1]  # MAD: 0.020 vs 0.026
    assert ref[2] < raw[2]  # edge MAD: 0.217 vs 0.249
    assert ref[3] < raw[3]  # edge gradient error: 0.316 vs 0.378


def test_every_manifest_model_gives_a_sane_mask() -> None:
    from jump.matte.model import available_matte_models
    from tests.conftest import HAVE_SHARED

    frame, truth = md.composite("p3m-d684dae3", "car-2")
    present = available_matte_models(MODELS)
    # mediapipe and selfie-landscape ship with Jump; selfie and sinet are fetched (CI has
    # them in ../shared)
    expected = {"mediapipe", "selfie-landscape"} | ({"selfie", "sinet"} if HAVE_SHARED else set())
    assert expected <= set(present)
    for model_id in present:
        m = MatteEngine(MatteSettings(model=model_id), MODELS)
        alpha = m.process(md.bgra(frame))
        assert alpha.shape == truth.shape and alpha.dtype == np.uint8
        # measured 0.94–0.96 for mediapipe, selfie and sinet, 0.986 for selfie-landscape;
        # other entries (user models, fp16/int8 variants when generated) must at least
        # give a sane person mask
        known = ("mediapipe", "selfie-landscape", "selfie", "sinet")
        floor = 0.85 if model_id in known else 0.5
        assert metrics.iou(alpha, truth) >= floor, model_id


def test_low_light_assist_helps_on_dark_frames(matter: MatteEngine) -> None:
    dark = [md.composite(f, b, p, brightness=0.18) for f, b, p in md.HANDFUL]

    def mean_iou(settings: MatteSettings) -> float:
        m = MatteEngine(settings, MODELS)
        return float(np.mean([metrics.iou(m.process(f, "bgr"), t) for f, t in dark]))

    off = mean_iou(MatteSettings(low_light="off"))
    on = mean_iou(MatteSettings(low_light="auto", low_light_model="gamma"))
    # measured: 0.666 without, 0.838 with the adaptive gamma
    assert on >= off + 0.1


def test_input_format_and_rgb_agree(matter: MatteEngine, handful: list) -> None:
    _, frame, _ = handful[1]
    matter.reset()
    a = matter.process(md.bgra(frame), "bgra")
    matter.reset()
    b = matter.process(np.ascontiguousarray(frame[..., ::-1]), "rgb")
    diff = np.abs(a.astype(int) - b)
    assert diff.max() <= 2 and diff.mean() < 0.01  # float rounding of the colour guide only


# -- temporal ---------------------------------------------------------------------------


def test_refined_flickers_less_than_raw_on_a_still_stretch() -> None:
    frames, _ = md.still_noisy_frames(10)
    m = MatteEngine(MatteSettings(), MODELS)
    prev, raw, ref = None, [], []
    for f in frames:
        r = m.process_detailed(f, "bgr")
        if prev is not None:
            raw.append(metrics.flicker(prev.raw, r.raw))
            ref.append(metrics.flicker(prev.alpha, r.alpha))
        prev = r
    # measured: raw 0.23e-3, refined 0.16e-3 (and 1.3e-3 before blob removal was made soft)
    assert np.mean(ref) < 0.85 * np.mean(raw)


def test_smoothing_leaves_no_ghost_when_the_subject_moves() -> None:
    fg, bg = synth.load_rgba(md.FOREGROUNDS / "person-2.png"), md._bg("car-2")
    on, off = MatteEngine(MatteSettings(), MODELS), MatteEngine(MatteSettings(temporal=0.0), MODELS)
    ious_on, ious_off = [], []
    for f in synth.moving_clip(fg, bg, (640, 360), frames=56):
        a_on, a_off = on.process(f.frame, "bgr"), off.process(f.frame, "bgr")
        if 30 <= f.index < 55:  # the subject walks right
            ious_on.append(metrics.iou(a_on, f.alpha))
            ious_off.append(metrics.iou(a_off, f.alpha))
    assert np.mean(ious_on) >= np.mean(ious_off) - 0.01


def test_motion_gating_reuses_the_mask_on_still_frames() -> None:
    frames, _ = md.still_noisy_frames(4)
    m = MatteEngine(MatteSettings(motion_gating=True, gate_db=30.0), MODELS)
    inferred = [m.process_detailed(f, "bgr").inferred for f in frames]
    assert inferred == [True, False, False, False]
    moved = np.roll(frames[0], 80, axis=1)
    assert m.process_detailed(moved, "bgr").inferred


# -- post-processing pieces -------------------------------------------------------------


def test_feather_grows_outward_only() -> None:
    alpha = np.zeros((100, 100), np.float32)
    alpha[30:70, 30:70] = 1.0
    out = refine.feather_outward(alpha, 6.0)
    assert np.all(out >= alpha)  # the body never thins
    assert out[30:70, 30:70].min() == 1.0
    assert 0.0 < out[50, 25] < 1.0 and out[50, 10] == 0.0


def test_small_blobs_fade_and_small_holes_fill() -> None:
    p = np.zeros((144, 256), np.float32)
    p[20:120, 60:160] = 0.9  # the person
    p[60:64, 100:104] = 0.1  # a tiny hole in it
    p[10:13, 220:223] = 0.9  # a speck far away
    out = refine.clean_blobs(p, 0.5, 0.002, 0.002)
    assert out[11, 221] == 0.0 and out[61, 101] > 0.5 and out[70, 70] == pytest.approx(0.9)


def test_blur_background_has_no_halo() -> None:
    """A red person on a blue wall: the blurred wall next to the person must stay blue."""
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[...] = (255, 0, 0)  # BGR blue
    alpha = np.zeros((200, 300), np.uint8)
    alpha[40:200, 120:180] = 255
    frame[alpha > 0] = (0, 0, 255)
    out = composite.background_blur(frame, alpha, 0.05)
    wall = out[100, 100:117].astype(int)  # just left of the person
    assert wall[:, 2].max() <= 10 and wall[:, 0].min() >= 240


def test_premultiplied_output() -> None:
    frame = np.full((4, 4, 3), 200, np.uint8)
    alpha = np.array([[0, 64, 128, 255]] * 4, np.uint8)
    out = composite.premultiplied_bgra(frame, alpha)
    assert out[0, :, 0].tolist() == [0, 50, 100, 200] and out[0, :, 3].tolist() == [0, 64, 128, 255]


# -- odd input --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (5, 3), (361, 641), (2160, 3840), (0, 0)])
def test_odd_sizes(matter: MatteEngine, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (*shape, 4), dtype=np.uint8)
    alpha = matter.process(frame)
    assert alpha.shape == shape and alpha.dtype == np.uint8


def test_nan_and_float_frames_are_sanitised(matter: MatteEngine, handful: list) -> None:
    _, frame, truth = handful[1]
    f = frame.astype(np.float32) / 255.0
    f[::17, ::13] = np.nan  # dead pixels
    f[1, 1] = np.inf
    matter.reset()
    alpha = matter.process(f, "bgr")
    assert alpha.shape == truth.shape and metrics.iou(alpha, truth) >= 0.8


def test_work_size_keeps_aspect_and_never_upscales(matter: MatteEngine) -> None:
    assert matter.input_size == (256, 144)
    assert matter.work_size(1920, 1080) == (512, 288)
    assert matter.work_size(3840, 2160) == (512, 288)
    assert matter.work_size(1080, 1920) == (162, 288)
    assert matter.work_size(320, 180) == (320, 180)


def test_worker_knows_the_work_size_before_the_model_loads(tmp_path: Path) -> None:
    w = MatteWorker(MatteSettings(), _garbage_model_dir(tmp_path))
    assert w.input_size == (256, 144) and w.work_size(1920, 1080) == (512, 288)
    w.update(MatteSettings(model="selfie"))
    assert w.work_size(1280, 720) == (512, 288) and w.input_size == (256, 256)
    w.close()


def test_settings_are_clamped() -> None:
    s = MatteSettings(threshold=float("nan"), temporal=7, threads=0, low_light="bogus")
    assert 0 < s.threshold < 1 and s.temporal == 1.0 and s.threads == 1 and s.low_light == "off"


# -- worker -----------------------------------------------------------------------------


def test_worker_latest_frame_wins_without_backlog(handful: list) -> None:
    _, frame, _ = handful[0]
    work = cv2.resize(md.bgra(frame), (512, 288), interpolation=cv2.INTER_AREA)
    with MatteWorker(MatteSettings(), MODELS) as w:
        assert w.wait_ready(30) and w.error is None
        t0 = time.perf_counter()
        for i in range(60):
            w.submit(work, i)
        submit_s = time.perf_counter() - t0
        deadline = time.time() + 20
        while (w.newest() is None or w.newest()[1] != 59) and time.time() < deadline:
            time.sleep(0.01)
        alpha, frame_id = w.newest()
        assert frame_id == 59 and alpha.shape == (288, 512)
        assert w.stats.masks < 60 and w.stats.dropped > 0  # older frames were replaced
        time.sleep(0.1)
        assert w.newest()[1] == 59  # nothing queued behind the newest
        assert submit_s < 2.0  # 60 submits are copies, not inference (generous for CI)


def test_worker_close_joins_and_is_idempotent() -> None:
    w = MatteWorker(MatteSettings(), MODELS)
    w.wait_ready(30)
    w.submit(np.zeros((288, 512, 4), np.uint8), 1)
    w.close()
    assert not w._thread.is_alive()
    w.close()
    w.submit(np.zeros((288, 512, 4), np.uint8), 2)  # after close: ignored, no raise
    assert not any(t.name == "jump-matte" and t is w._thread for t in threading.enumerate())


def test_worker_applies_settings_updates(handful: list) -> None:
    _, frame, _ = handful[1]
    with MatteWorker(MatteSettings(), MODELS) as w:
        w.wait_ready(30)
        w.update(MatteSettings(threads=2))  # a new session, like a model change
        w.submit(md.bgra(frame), 7)
        deadline = time.time() + 20
        while w.newest() is None and time.time() < deadline:
            time.sleep(0.01)
        assert w.newest()[1] == 7 and w.error is None


# -- errors -----------------------------------------------------------------------------


def _garbage_model_dir(tmp_path: Path) -> Path:
    (tmp_path / "matte").mkdir()
    (tmp_path / "matte" / "mediapipe.onnx").write_bytes(b"\x08\x01garbage, not a model" * 50)
    return tmp_path


def test_corrupt_model_raises_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MatteModelError, match=r"mediapipe.*corrupt"):
        MatteEngine(MatteSettings(), _garbage_model_dir(tmp_path))


def test_unknown_model_raises_one_clear_error() -> None:
    with pytest.raises(MatteModelError, match="unknown model"):
        MatteEngine(MatteSettings(model="no-such-model"), MODELS)


def test_missing_model_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_MODELS", str(tmp_path))
    monkeypatch.setattr(catalogue, "PROJECT_MODELS", tmp_path)
    with pytest.raises(MatteModelError, match="not found"):
        MatteEngine(MatteSettings(), tmp_path)


def test_manifest_entry_must_match_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user entry that lies about the input size is refused with a message, not a crash."""

    manifest = tmp_path / "manifest"
    manifest.mkdir()
    entries = json.loads((catalogue.PROJECT_MODELS / "matte.json").read_text())
    entries[0]["input_size"] = [320, 320]
    (manifest / "matte.json").write_text(json.dumps(entries))
    real = catalogue.load_manifest
    monkeypatch.setattr(catalogue, "load_manifest", lambda folder=manifest: real(manifest))
    with pytest.raises(MatteModelError, match="does not match"):
        MatteEngine(MatteSettings(), MODELS)


def test_worker_reports_a_broken_model_without_raising(tmp_path: Path) -> None:
    w = MatteWorker(MatteSettings(), _garbage_model_dir(tmp_path))
    assert w.wait_ready(30)
    assert w.error and "mediapipe" in w.error
    w.submit(np.zeros((8, 8, 4), np.uint8), 1)
    assert w.newest() is None
    w.close()
    w.close()


# -- CLI --------------------------------------------------------------------------------


def test_cli_image_to_rgba_png_contract(tmp_path: Path, handful: list) -> None:
    from jump.cli import main

    _, frame, truth = handful[1]
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(src), frame)
    assert main(["matte", str(src), str(out), "--models", str(MODELS)]) == 0
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (*frame.shape[:2], 4)
    # colour untouched except soft edges, where decontamination removes the old background
    assert (rgba[..., :3] == frame).all(axis=2).mean() > 0.97
    assert not np.array_equal(rgba[..., :3], frame)
    from jump.commands.matte import DEFAULT_MODEL

    expected = MatteEngine(MatteSettings(model=DEFAULT_MODEL), MODELS).process(frame, "bgr")
    assert np.array_equal(rgba[..., 3], expected)  # same engine, the files' default model
    assert metrics.iou(rgba[..., 3], truth) >= 0.9


def _write_clip(src: Path, frames: int) -> Path:
    """A 320×180 MJPG clip of a person moving over a car photo."""
    fg, bg = synth.load_rgba(md.FOREGROUNDS / "person-2.png"), md._bg("car-2")
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 180))
    for f in synth.moving_clip(fg, bg, (320, 180), frames=frames):
        writer.write(f.frame)
    writer.release()
    return src


def test_cli_video_to_png_sequence_and_composite(tmp_path: Path) -> None:
    from jump.cli import main

    src = _write_clip(tmp_path / "clip.avi", frames=5)
    assert main(["matte", str(src), str(tmp_path / "m.png"), "--models", str(MODELS)]) == 0
    pngs = sorted(tmp_path.glob("m_*.png"))
    assert len(pngs) == 5 and cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED).shape == (180, 320, 4)
    out = tmp_path / "c.mkv"
    args = ["matte", str(src), str(out), "--background", "#00ff00", "--models", str(MODELS)]
    assert main(args) == 0
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    # transparent video into a container without alpha is refused with a message
    assert main(["matte", str(src), str(tmp_path / "x.mp4"), "--models", str(MODELS)]) == 2


def test_bench_pieces_run(matter: MatteEngine) -> None:
    from jump.lab.matte import bench

    r = bench.bench_size(matter, "360p", frames=3, warmup=1)
    assert r.work == (512, 288) and r.bare_ms > 0 and r.process_ms > 0
    names = [name for name, ms in bench.stage_times(matter, "360p", runs=2) if ms > 0]
    assert "InferenceSession.run" in names and "whole MatteEngine.process" in names


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not on PATH")
def test_cli_video_to_webm_with_alpha(tmp_path: Path) -> None:
    from jump.cli import main

    src = _write_clip(tmp_path / "clip.avi", frames=4)
    out = tmp_path / "m.webm"
    assert main(["matte", str(src), str(out), "--models", str(MODELS)]) == 0
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream_tags=alpha_mode", "-of", "csv=p=0", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert probe.stdout.strip() == "1"  # VP9 carries an alpha plane
