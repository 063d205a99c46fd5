"""End-to-end: Jump Matte in libobs hosted by a plain Python process (no OBS application),
the way `jump.lab.libobs_render` runs it on a GPU machine (scripts/gpu/obs_run.sh).

One run of the harness: the scene renders without and with the filter (frames counted by
libobs), and the composited output's cut-out is checked against the clip's known alpha:
the game must show where the webcam's room was, the person where the person was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.obs_harness import REPO, XVFB_BIN

pytestmark = pytest.mark.e2e

LIBOBS = Path("/usr/lib/x86_64-linux-gnu/libobs.so.0")
CANVAS, FPS, SECONDS = (480, 270), 30, 2.0


def test_libobs_harness_cuts_the_person_out_over_the_game(tmp_path: Path) -> None:
    if not (LIBOBS.exists() and XVFB_BIN):
        if os.environ.get("CI"):
            pytest.fail("obs-studio and Xvfb must be installed in CI")
        pytest.skip("libobs (obs-studio) or Xvfb is not installed")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["LIBGL_ALWAYS_SOFTWARE"] = "1"
    cmd = [sys.executable, "-m", "jump.lab.libobs_render", "--xvfb"]
    cmd += ["--canvas", f"{CANVAS[0]}x{CANVAS[1]}", "--fps", str(FPS), "--seconds", str(SECONDS)]
    cmd += ["--settle", "1", "--model", "mediapipe", "--provider", "cpu"]
    cmd += ["--out", str(out), "--json", str(out / "result.json")]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())

    # libobs rendered the scene in both phases (2 s at 30 fps; a loaded box skips some)
    for phase in ("without_jump", "with_jump"):
        assert result[phase]["frames_rendered"] >= 0.3 * FPS * SECONDS, result[phase]
    jump = result["jump"]
    assert jump["masks_per_s"] > 0 and jump["running"] == "mediapipe" and jump["held"]
    assert jump["render_ms"] > 0

    # the composited program output: the game through the room, the person kept
    cut = result["cutout"]
    assert cut["cutout_iou"] >= 0.85, cut
    assert cut["game_error"] < 8.0, cut  # the webcam's room shows here if nothing is cut
    assert cut["person_error"] < 20.0, cut
    import cv2

    shot = cv2.imread(result["screenshot"])
    assert shot is not None and shot.shape == (CANVAS[1], CANVAS[0], 3)
    assert any("mediapipe.onnx runs on cpu" in line for line in result["log"]), result["log"]
    assert not [line for line in result["log"] if "failed" in line or "Traceback" in line]
