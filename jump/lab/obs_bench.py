"""`python -m jump bench obs`: what Jump Matte costs OBS, measured inside a headless OBS.

One OBS run on a 1920×1080 canvas with a 1080p picture as the camera: OBS's own
`averageFrameRenderTime` (GetStats) without the filter, then with Jump Matte in each
background mode, beside the filter's own render-thread time, mask rate and mask lag
(from the filter's `stats()`). Needs the repository checkout (it uses the e2e test
harness), obs-studio, Xvfb and the shared evaluation data.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def register(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("obs", help="Jump Matte's cost inside a headless OBS (1080p)")
    p.add_argument("--seconds", type=float, default=8.0, help="measuring time per mode")
    p.set_defaults(func=run)


def _render_ms(obs, seconds: float) -> tuple[float, float]:
    """(mean of OBS's averageFrameRenderTime, fps) sampled over `seconds`."""
    samples, start = [], obs.request("GetStats")
    for _ in range(int(seconds)):
        time.sleep(1.0)
        samples.append(obs.request("GetStats")["averageFrameRenderTime"])
    end = obs.request("GetStats")
    frames = end["renderTotalFrames"] - start["renderTotalFrames"]
    return sum(samples) / len(samples), frames / seconds


def run(args: argparse.Namespace) -> int:
    from tests.helpers import media
    from tests.helpers.obs_harness import (
        REPO,
        ObsProcess,
        image_source,
        read_stats,
        scene_collection,
    )

    home = Path(tempfile.mkdtemp(prefix="jump-bench-obs-"))
    rgb, _ = media.composite("person-2.png", "plants-1.jpg", (1920, 1080), crop=0.6)
    png = home / "cam1080.png"
    media.write_png(png, rgb)
    stats_file = home / "stats.jsonl"
    cam = image_source("Cam", png)
    hooks = REPO / "tests" / "helpers" / "obs_scripts" / "jump_test_hooks.py"
    obs = ObsProcess(
        home,
        scene_collection([cam], [REPO / "jump_obs.py", hooks]),
        env={"JUMP_TEST_ACTIONS": "stats", "JUMP_TEST_STATS": str(stats_file)},
        canvas=(1920, 1080),
    )
    rows = []
    with obs:
        time.sleep(3.0)
        rows.append(("no filter", *_render_ms(obs, args.seconds), None))
        obs.add_filter("Cam", "Jump Matte", "jump_matte")
        for mode in ("transparent", "blur", "color"):
            obs.set_filter("Cam", "Jump Matte", {"background": mode})
            time.sleep(3.0)
            before = read_stats(stats_file, "jump_matte")
            render, fps = _render_ms(obs, args.seconds)
            after = read_stats(stats_file, "jump_matte")
            after["masks_per_s"] = (after["masks"] - before["masks"]) / args.seconds
            rows.append((f"Jump Matte, {mode}", render, fps, after))
    print(
        f"{'OBS 1920x1080 canvas, 1080p camera':<28} {'OBS render ms':>13} {'fps':>6} "
        f"{'filter ms':>9} {'masks/s':>8} {'lag fr':>6} {'infer ms':>8}"
    )
    for name, render, fps, s in rows:
        extra = (
            (
                f"{s['render_ms']:9.2f} {s['masks_per_s']:8.1f} {s['mask_lag_frames']:6d} "
                f"{s['inference_ms']:8.1f}"
            )
            if s
            else f"{'':9} {'':8} {'':6} {'':8}"
        )
        print(f"{name:<28} {render:13.2f} {fps:6.1f} {extra}")
    return 0
