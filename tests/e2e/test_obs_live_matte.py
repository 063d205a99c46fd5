"""End-to-end: the CPU path (RVM on every 3rd frame carried by motion, Auto's CPU start) in
a real headless OBS at 30 fps, on a moving clip with exact alpha per frame. The clip plays
in a media source, an async source as a webcam is: the filter takes its frames from
``filter_video`` (frames_from "async"), not from a GPU readback."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from jump.lab.matte import moving_clips
from tests.helpers import media
from tests.helpers.obs_harness import (
    REPO,
    jump_filter,
    media_source,
    read_stats,
    scene_collection,
)

pytestmark = pytest.mark.e2e

JUMP = REPO / "jump_obs.py"
HOOKS = REPO / "tests" / "helpers" / "obs_scripts" / "jump_test_hooks.py"


def skipped(obs) -> tuple[int, int]:
    stats = obs.request("GetStats")
    return int(stats["renderSkippedFrames"]), int(stats["renderTotalFrames"])


def phase(obs, seconds: float) -> tuple[int, int]:
    """(renders skipped, renders) during ``seconds``."""
    s0, t0 = skipped(obs)
    time.sleep(seconds)
    s1, t1 = skipped(obs)
    return s1 - s0, t1 - t0


def small(picture: np.ndarray) -> np.ndarray:
    return cv2.resize(picture, (320, 180), interpolation=cv2.INTER_AREA)


def cut_out_ious(obs, video: Path, truth: np.ndarray, cuts: list[int]):
    """IoU of ~20 screenshots against the truth of the frame drawn, while the person moves.
    Which frame OBS drew is read from the picture itself: the clip frame that matches the
    screenshot's opaque pixels (every frame has its own sensor noise and pose); frames next
    to a cut are left out. (IoUs, frames drawn)."""
    n = len(truth)
    thumbs = np.stack([small(f) for f in moving_clips.read_video(video)]).astype(np.float32)
    ious, drawn = [], []
    deadline = time.monotonic() + 20.0
    while len(ious) < 20 and time.monotonic() < deadline:
        shot = obs.screenshot("Cam")
        alpha = shot[:, :, 3]
        inside = small(alpha) > 250
        if inside.sum() < 100:
            continue
        rgb = small(cv2.cvtColor(shot[:, :, :3], cv2.COLOR_RGB2BGR)).astype(np.float32)
        err = np.abs(thumbs - rgb).mean(axis=3)[:, inside].mean(axis=1)
        i = int(np.argmin(err))
        if any(abs(i - c) <= 2 for c in (0, *cuts)) or i >= n - 2:
            continue
        drawn.append(i)
        ious.append(media.iou(alpha, truth[i]))
        time.sleep(0.2)
    return ious, drawn


def test_carried_rvm_cuts_out_a_moving_person_in_obs(obs_factory, tmp_path: Path) -> None:
    video = moving_clips.build("sway-person", tmp_path)
    truth, cuts = moving_clips.load_truth(video)
    cam = media_source("Cam", video, [jump_filter("jump_matte", "Jump Matte", {})])
    cam["settings"]["looping"] = True  # the loop point is one more scene cut
    stats_file = tmp_path / "stats.jsonl"
    obs = obs_factory(  # 30 fps, the filter's defaults
        scene_collection([cam], [JUMP, HOOKS]),
        env={"JUMP_TEST_ACTIONS": "stats", "JUMP_TEST_STATS": str(stats_file)},
    )
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
    stats = read_stats(stats_file, "jump_matte")
    print(
        f"render thread {stats['render_ms']:.2f} ms/frame + {stats['copy_ms']:.2f} ms/frame in "
        f"filter_video, frames from {stats['frames_from']}, "
        f"mask lag {stats['mask_lag_frames']} frames, drawn lag {stats['drawn_lag_frames']}"
    )
    # a media source is async: frames come from filter_video at the tick, nothing is read
    # back; masks are never of a frame the filter has not been given
    assert stats["frames_from"] == "async", stats
    # each frame goes back to OBS a tick late (jump.obs.frame_hold), drawn with its own mask
    assert abs(stats["held_ms"] - 1000 / 30) < 1, stats
    # frames are counted in filter_video, which OBS skips while the filter is disabled
    # (5 s above); a loaded box's media source also drops frames: at least 1 s of them
    assert stats["frames_captured"] >= 30 and stats["masks"] >= 10, stats
    assert 0 <= stats["drawn_lag_frames"] < 30 and 0 <= stats["mask_lag_frames"] < 30, stats

    ious, drawn = cut_out_ious(obs, video, truth, cuts)
    text = obs.log_text()
    print("\n".join(line for line in text.splitlines() if "Auto" in line))
    print(f"IoU on moving frames (Auto) {drawn}: {np.round(ious, 3).tolist()}")
    assert len(ious) >= 8, text[-3000:]
    # Measured on a quiet 2-core box: median 0.80-0.92, mostly MediaPipe (Auto leaves the
    # carried rung beside OBS's software rendering, docs/benchmarks.md); a cut-out that
    # failed (no mask, a mask of another frame, MediaPipe's misses on this person) scores
    # far below 0.75. Single screenshots can pair a frame with a mask from across a key
    # (0.2-0.3 seen), so no bound on the min.
    assert np.median(ious) >= 0.75, ious

    # the carried path itself, held whatever Auto would measure here ("rvm-carried")
    obs.set_filter("Cam", "Jump Matte", {"model": "rvm-carried"})
    time.sleep(2.0)
    print(f"renders skipped with the carried rung held: {phase(obs, 5.0)}")
    ious, drawn = cut_out_ious(obs, video, truth, cuts)
    stats = read_stats(stats_file, "jump_matte")
    print(f"IoU on moving frames (rvm-carried) {drawn}: {np.round(ious, 3).tolist()}")
    print(f"carried: mask lag {stats['mask_lag_frames']}, drawn lag {stats['drawn_lag_frames']}")
    assert stats["running"] == "rvm 256 px every 3rd frame + motion", stats
    assert len(ious) >= 8 and np.median(ious) >= 0.75, ious

    # what a stream meets on the async path: "delay video" on and another model, then off,
    # then the filter removed mid-stream while it holds a frame; the clip plays on (OBS got
    # every frame back)
    obs.set_filter(
        "Cam", "Jump Matte", {"delay_video": True, "delay_ms": 100, "model": "mediapipe"}
    )
    time.sleep(2.5)
    stats = read_stats(stats_file, "jump_matte")
    assert stats["frames_from"] == "async" and stats["delay_ms"] == 100, stats
    assert stats["running"] == "mediapipe" and stats["held_age_ms"] > 0, stats
    assert obs.screenshot("Cam")[:, :, 3].min() < 255  # still cut out
    obs.set_filter("Cam", "Jump Matte", {"delay_video": False})  # holding a frame again
    time.sleep(1.5)
    stats = read_stats(stats_file, "jump_matte")
    assert stats["held_ms"] > 0 and stats["delay_ms"] == 0, stats
    obs.request("RemoveSourceFilter", {"sourceName": "Cam", "filterName": "Jump Matte"})
    time.sleep(1.0)
    first = obs.screenshot("Cam")
    time.sleep(0.5)
    later = obs.screenshot("Cam")
    assert first[:, :, 3].min() == 255  # unfiltered
    assert np.abs(first[:, :, :3].astype(int) - later[:, :, :3]).mean() > 0.5  # still playing
    text = obs.log_text()
    assert obs.alive() and "Traceback" not in text and "filter_video" not in text
