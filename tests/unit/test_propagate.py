"""RVM's matte carried by motion (jump.matte.propagate) on moving clips with exact alpha."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from jump.lab.matte import metrics, moving_clips
from jump.matte.auto import CPU_LADDER, AutoModel
from jump.matte.carry import Carrier, Key
from jump.matte.engine import MatteEngine
from jump.matte.propagate import PropagatingEngine
from jump.matte.settings import MatteSettings
from jump.matte.worker import open_engine
from tests.helpers import matte_data as md

WORK = (896, 504)  # RVM's work size for a 16:9 source


def _work(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(frame, WORK, interpolation=cv2.INTER_AREA)


def _alpha(a: np.ndarray) -> np.ndarray:
    return cv2.resize(np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8), WORK, cv2.INTER_AREA)


@pytest.fixture(scope="module")
def sway() -> list[tuple[np.ndarray, np.ndarray]]:
    """The first 24 frames of a clip (the person swaying), and the frames around its cut."""
    frames = moving_clips.frames("sway-person")
    head = list(itertools.islice(frames, 24))
    return head


def test_flow_carries_the_matte_where_holding_it_would_lag(sway) -> None:
    carrier = Carrier()
    key_alpha = sway[0][1]
    grey = lambda f: carrier.grey(_work(f), cv2.COLOR_BGR2GRAY)  # noqa: E731
    greys = [grey(f) for f, _ in sway[:9]]
    key = Key(_alpha(key_alpha), greys[0], 0, 0, 0.0)
    for t, g in enumerate(greys):
        carrier.observe(g, t)  # the motion frame to frame, chained back to the key
    for t, least in ((4, 0.96), (8, 0.94)):  # 4 and 8 frames on: ~20 and ~40 px of sway
        truth = sway[t][1]
        # frame 8: the better of the chained flows and one flow straight to the key;
        # frame 4 (the history runs past it): straight to the key only
        carried, _, residual, _ = carrier.carry(key, greys[t], t if t == 8 else -1)
        held = metrics.iou(key.alpha, _alpha(truth))
        moved = metrics.iou(carried, _alpha(truth))
        assert moved > least and moved > held + 0.1, (t, moved, held)
        assert residual < 6.0  # the flow explains the picture: no hurry, no fallback


def _shift(alpha: np.ndarray, truth: np.ndarray) -> int:
    """The horizontal shift (px) of the truth that best matches ``alpha``."""
    a, t = alpha > 127, truth > 127
    ious = {
        dx: (a & np.roll(t, dx, 1)).sum() / (a | np.roll(t, dx, 1)).sum() for dx in range(-9, 10)
    }
    return max(ious, key=ious.get)


def test_the_carried_edge_follows_the_person(sway, monkeypatch) -> None:
    """Dense flow is smooth across the outline (the person's motion mixed with the still
    background's): the edge moved less than the person. ``follow_person`` gives the edge
    the person's own motion; measured here against the same carry without it."""
    carrier = Carrier()
    greys = [carrier.grey(_work(f), cv2.COLOR_BGR2GRAY) for f, _ in sway[:8]]
    key = Key(_alpha(sway[0][1]), greys[0], 0, 0, 0.0)
    for t, g in enumerate(greys):
        carrier.observe(g, t)
    truth = _alpha(sway[7][1])  # ~25 px of sway since the key
    followed = carrier.carry(key, greys[7], 7)[0]
    monkeypatch.setattr(Carrier, "follow_person", lambda _self, disp, _alpha: disp)
    plain = carrier.carry(key, greys[7], 7)[0]
    assert abs(_shift(followed, truth)) < abs(_shift(plain, truth)), (
        _shift(followed, truth),
        _shift(plain, truth),
    )
    assert metrics.iou(followed, truth) > metrics.iou(plain, truth) + 0.02  # 0.959 → 0.993


def test_carried_rvm_matches_the_truth_on_every_frame(sway) -> None:
    matter = PropagatingEngine(
        MatteSettings(model="rvm", rvm_inner=256, threads=2), md.MODELS, every=3, inline=True
    )
    ious = [metrics.iou(matter.process_detailed(f, "bgr").alpha, a) for f, a in sway]
    every = MatteEngine(MatteSettings(model="rvm", rvm_inner=256, threads=2), md.MODELS)
    rvm = [metrics.iou(every.process(f, "bgr"), a) for f, a in sway]
    light = MatteEngine(MatteSettings(model="mediapipe", threads=2), md.MODELS)
    mp = [metrics.iou(light.process(f, "bgr"), a) for f, a in sway]
    # the first frames show MediaPipe until the first key is back (3 frames)
    assert np.mean(ious[4:]) > np.mean(rvm[4:]) - 0.02, (ious, rvm)
    assert np.mean(ious[4:]) > np.mean(mp[4:]) + 0.02, (ious, mp)
    assert matter.keys.engine.model.state.resets <= 1  # one coherent recurrent sequence


def test_scene_cut_shows_the_light_model_not_the_old_key() -> None:
    frames = moving_clips.frames("sway-person")
    clip = list(itertools.islice(frames, moving_clips.CUT - 8, moving_clips.CUT + 5))
    matter = PropagatingEngine(
        MatteSettings(model="rvm", rvm_inner=256, threads=2), md.MODELS, every=3, inline=True
    )
    out = [matter.process_detailed(f, "bgr").alpha for f, _ in clip]
    cut = 8
    before = matter.fallbacks
    assert before >= 1
    truth_cut = clip[cut][1]
    old_key_iou = metrics.iou(clip[cut - 1][1], truth_cut)  # what carrying the old key shows
    assert metrics.iou(out[cut], truth_cut) > old_key_iou + 0.2  # the new scene's mask
    assert metrics.iou(out[-1], clip[-1][1]) > metrics.iou(out[cut], truth_cut) - 0.05


def test_cpu_auto_starts_on_a_carried_rung_and_the_worker_builds_it() -> None:
    auto = AutoModel(CPU_LADDER, 30.0, start_low=True)
    assert auto.rung.every == 3 and auto.rung.label == "rvm 256 px every 3rd frame + motion"
    assert "carried" in auto.reason
    settings = MatteSettings(model="rvm", rvm_inner=256, key_every=3, threads=1)
    matter = open_engine(settings, md.MODELS)
    try:
        assert isinstance(matter, PropagatingEngine) and matter.every == 3
    finally:
        matter.close()
    assert not isinstance(open_engine(settings.with_(key_every=1), md.MODELS), PropagatingEngine)


def test_lead_moves_the_matte_on_to_the_picture_it_is_drawn_on(sway) -> None:
    # without "delay video" the filter draws a mask on the picture 2 frames after its own
    # (jump.matte.worker.FILTER_HANDOVER_FRAMES): leading by the last frame's speed must
    # match that later picture better than the matte of its own frame does
    carrier = Carrier()
    greys = [carrier.grey(_work(f), cv2.COLOR_BGR2GRAY) for f, _ in sway[:12]]
    key = Key(_alpha(sway[0][1]), greys[0], 0, 0, 0.0)
    gains = []
    for t, g in enumerate(greys[:10]):
        carrier.observe(g, t)
        if t < 4:
            continue
        later = _alpha(sway[t + 2][1])
        own = carrier.carry(key, g, t)[0]
        led = carrier.carry(key, g, t, lead=2)[0]
        gains.append(metrics.iou(led, later) - metrics.iou(own, later))
    assert np.mean(gains) > 0.01, gains


def test_live_stand_in_draws_what_the_filter_would() -> None:
    from jump.lab.matte import live_sim
    from jump.matte.worker import display_lead

    # staged (a GPU readback): no delay, the mask of 2 frames before, none at first
    drawn, mask_of = live_sim.shown(6, handover=2, hold=0)
    assert drawn == [0, 1, 2, 3, 4, 5] and mask_of == [None, None, 0, 1, 2, 3]
    drawn, mask_of = live_sim.shown(6, delay_frames=3, handover=2)  # each picture its own
    assert drawn == [0, 1, 0, 0, 1, 2] and mask_of == [None, None, 0, 0, 1, 2]
    assert (display_lead(0), display_lead(1), display_lead(3)) == (2, 1, 0)
    # async (a webcam's frame at the tick, the stand-in's default): a frame sooner, and
    # the picture held a tick (jump.obs.frame_hold): each frame with its own mask
    drawn, mask_of = live_sim.shown(6)
    assert drawn == [0, 0, 1, 2, 3, 4] and mask_of == [None, 0, 1, 2, 3, 4]
    drawn, mask_of = live_sim.shown(6, hold=0)  # not held: the mask of the frame before
    assert drawn == [0, 1, 2, 3, 4, 5] and mask_of == [None, 0, 1, 2, 3, 4]
    drawn, mask_of = live_sim.shown(6, delay_frames=3)
    assert drawn == [0, 0, 0, 0, 1, 2] and mask_of == [None, 0, 0, 0, 1, 2]
    assert [display_lead(d, "async") for d in (0, 1, 3)] == [1, 0, 0]


def test_keys_wait_so_the_worker_stays_within_one_core() -> None:
    from jump.matte import propagate

    matter = PropagatingEngine(MatteSettings(model="rvm", rvm_inner=256, threads=1), md.MODELS)
    try:
        # a key costs 90 ms of CPU, the carry 8 ms of every 33 ms frame: the key thread may
        # use 1 − 0.24 of a core, so the next key waits 90 / 0.76 ≈ 118 ms after the last
        matter.keys.last_cpu_s, matter._frame_wall_s, matter._carry_cpu_s = 0.090, 0.033, 0.008
        matter._submit_wall = 10.0
        assert propagate.WORKER_CORES == 1.0
        assert not matter._key_fits(10.100, 3)
        assert matter._key_fits(10.125, 3)
        assert matter._key_fits(10.001, 0)  # no key at all (start, cut): at once
    finally:
        matter.close()
