"""End-to-end: the CPU path (RVM on every 3rd frame carried by motion, Auto's CPU start) in
a real headless OBS at 30 fps, on a moving clip with exact alpha per frame."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from jump.lab.matte import moving_clips
from tests import media
from tests.obs_harness import REPO, jump_filter, media_source, scene_collection

pytestmark = pytest.mark.e2e

JUMP = REPO / "jump_obs.py"
FRAME_MS = 1000.0 / moving_clips.FPS


def skipped(obs) -> tuple[int, int]:
    stats = obs.request("GetStats")
    return int(stats["renderSkippedFrames"]), int(stats["renderTotalFrames"])


def phase(obs, seconds: float) -> tuple[int, int]:
    """(renders skipped, renders) during ``seconds``."""
    s0, t0 = skipped(obs)
    time.sleep(seconds)
    s1, t1 = skipped(obs)
    return s1 - s0, t1 - t0


def cursor_frame(obs, source: str) -> float:
    status = obs.request("GetMediaInputStatus", {"inputName": source})
    return float(status.get("mediaCursor") or 0.0) / FRAME_MS


def test_carried_rvm_cuts_out_a_moving_person_in_obs(obs_factory, tmp_path: Path) -> None:
    video = moving_clips.build("sway-person", tmp_path)
    truth, cuts = moving_clips.load_truth(video)
    n = len(truth)
    cam = media_source("Cam", video, [jump_filter("jump_matte", "Jump Matte", {})])
    cam["settings"]["looping"] = True  # the loop point is one more scene cut
    obs = obs_factory(scene_collection([cam], [JUMP]))  # 30 fps, the filter's defaults
    obs.wait_for_log("Auto starts on rvm 256 px every 3rd frame + motion", timeout=60)

    # renders skipped with and without Jump, same run
    obs.request(
        "SetSourceFilterEnabled",
        {"sourceName": "Cam", "filterName": "Jump Matte", "filterEnabled": False},
    )
    without = phase(obs, 5.0)
    obs.request(
        "SetSourceFilterEnabled",
        {"sourceName": "Cam", "filterName": "Jump Matte", "filterEnabled": True},
    )
    time.sleep(2.0)  # the first keys after the filter is back
    with_jump = phase(obs, 5.0)
    print(f"renders skipped: without Jump {without}, with Jump {with_jump}")

    # the cut-out against the truth while the person moves. The frame OBS draws is known
    # only to within the screenshot's round trip (media cursor before and after it): the
    # best match in that window counts, and windows touching a cut are left out.
    ious = []
    deadline = time.monotonic() + 25.0
    while len(ious) < 24 and time.monotonic() < deadline:
        before = cursor_frame(obs, "Cam")
        shot = obs.screenshot("Cam")
        after = cursor_frame(obs, "Cam")
        lo, hi = math.floor(before) - 1, math.ceil(after) + 1
        if hi - lo > 12 or hi >= n or any(lo <= c <= hi for c in (0, *cuts)):
            continue
        alpha = shot[:, :, 3]
        ious.append(max(media.iou(alpha, truth[i]) for i in range(max(0, lo), hi + 1)))
        time.sleep(0.15)
    text = obs.log_text()
    print(f"IoU on moving frames: {np.round(ious, 3).tolist()}")
    assert len(ious) >= 8, text[-3000:]
    assert np.median(ious) >= 0.9, ious
    assert min(ious) >= 0.7, ious
    assert obs.alive() and "Traceback" not in text
