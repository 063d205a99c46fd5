"""`python -m jump.lab.screenshots OUT_DIR` (`scripts/screenshots`): docs/streaming.md's pictures.

Starts the headless OBS of the e2e harness with a streamer's scene ("Game", "Webcam" with
Jump Matte scaled into a corner, "Mic" with Jump Denoise), waits for the matte, then grabs
the Xvfb screen (`xwd` + ImageMagick's `convert`, both found on any X11 desktop) and crops
OBS's main window by its geometry (`xwininfo`): the scene, then the same window streaming
to a local RTMP receiver. (The Filters dialog, opened over obs-websocket with
`OpenInputFiltersDialog`, maps under Xvfb but Qt never paints its widgets there — only its
GL preview — so it is not captured.)
Needs the repository checkout, obs-studio, Xvfb, x11-apps/x11-utils and ImageMagick.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANVAS = (640, 360)  # light enough for software GL to keep the dialogs painting


def windows(display: str) -> dict[str, tuple[int, int, int, int]]:
    """Mapped top-level windows by title: (x, y, width, height)."""
    tree = subprocess.run(
        ["xwininfo", "-display", display, "-root", "-tree"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    found = {}
    for m in re.finditer(
        r'0x[0-9a-f]+ "([^"]+)": \(.*?\)\s+(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)', tree
    ):
        title, w, h, x, y = m.group(1), *map(int, m.groups()[1:])
        if w > 200 and h > 150:
            found.setdefault(title, (x, y, w, h))
    return found


def grab(display: str, title_part: str, out: Path) -> Path:
    """Crop the screen to the first window whose title contains `title_part`."""
    deadline = time.monotonic() + 20
    while True:
        match = [g for t, g in windows(display).items() if title_part in t]
        if match or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not match:
        raise RuntimeError(f"no window titled *{title_part}*: {list(windows(display))}")
    x, y, w, h = match[0]
    # a new dialog maps black and paints later (software GL, a loaded machine): wait for it
    while True:
        xwd = subprocess.run(
            ["xwd", "-root", "-silent", "-display", display], capture_output=True, timeout=30
        ).stdout
        subprocess.run(
            ["convert", "xwd:-", "-crop", f"{w}x{h}+{max(0, x)}+{max(0, y)}", "+repage", str(out)],
            input=xwd,
            check=True,
            timeout=60,
        )
        if _painted(out) or time.monotonic() > deadline + 150:
            return out
        time.sleep(1.0)


def _painted(png: Path) -> bool:
    """Whether most of the window has been drawn (an unpainted window is all black)."""
    import cv2

    image = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    return image is not None and (image > 10).mean() > 0.5


def scene(folder: Path) -> dict:
    from tests.helpers import stream_media as sm
    from tests.helpers.obs_harness import jump_filter, scene_collection
    from tests.helpers.stream_session import JUMP, build_clips, looping_media

    game, webcam = build_clips(folder, CANVAS)
    mic = folder / "mic.wav"
    import soundfile as sf

    noisy = sm.Webcam(CANVAS).noisy
    sf.write(mic, noisy, sm.RATE, subtype="FLOAT")
    sources = [
        looping_media("Game", game),
        looping_media(
            "Webcam",
            webcam,
            [jump_filter("jump_matte", "Jump Matte", {"background": "transparent"})],
        ),
        looping_media("Mic", mic, [jump_filter("jump_denoise", "Jump Denoise")]),
    ]
    return scene_collection(sources, [JUMP])


def run(out_dir: Path) -> list[Path]:
    from tests.helpers.obs_harness import ObsProcess
    from tests.helpers.stream_session import (
        Receiver,
        place_webcam,
        start_stream,
        stop_stream,
        write_stream_encoder,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="jump-screenshots-"))
    obs = ObsProcess(folder / "home", scene(folder), canvas=CANVAS)
    shots = []
    with obs:
        place_webcam(obs, CANVAS)
        deadline = time.monotonic() + 60
        while obs.screenshot("Webcam", 320, 180)[:, :, 3].min() == 255:
            if time.monotonic() > deadline:
                raise RuntimeError("Jump Matte drew no mask within 60 s")
            time.sleep(0.5)
        time.sleep(3.0)  # the preview repaints
        shots.append(grab(obs.display, "Profile: Jump", out_dir / "streaming-main-window.png"))
        # The same window while it streams to a local receiver: LIVE timer, CPU and fps in
        # the status bar, and the Stream button now "Stop Streaming".
        with Receiver(folder / "recv.flv", ["-c", "copy", "-f", "null", "-"]) as receiver:
            write_stream_encoder(folder / "home")
            start_stream(obs, receiver)
            time.sleep(8.0)
            shots.append(grab(obs.display, "Profile: Jump", out_dir / "streaming-live.png"))
            stop_stream(obs, receiver)
    return shots


if __name__ == "__main__":
    for path in run(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")):
        print(path)
