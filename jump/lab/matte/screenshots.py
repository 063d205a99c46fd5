"""`python -m jump.lab.matte.screenshots [OUT_DIR]`: Jump Matte's Filters dialog, from the
headless OBS of the e2e harness, for README/docs/matte.md.

Opens the Filters dialog over obs-websocket (`OpenInputFiltersDialog`) and grabs the Xvfb
screen with `xwd` + ImageMagick's `convert`, cropped to the dialog (`xwininfo`). Under
Xvfb Qt maps the dialog but paints only its GL preview until the window is resized:
`xdotool windowsize` makes it paint its widgets. (`jump.lab.screenshots.grab` is not
reused: it reads the window's geometry before the resize lands and judges "painted" by
dark pixels, which the dark theme's dialog is full of.) Needs obs-studio, Xvfb, x11-apps,
x11-utils, xdotool and ImageMagick.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANVAS = (640, 360)
DIALOG = (980, 1075)  # tall enough for the Tuning and Room groups under the preview


def _dialog_geometry(display: str) -> tuple[int, int, int, int] | None:
    tree = subprocess.run(
        ["xwininfo", "-display", display, "-root", "-tree"], capture_output=True, text=True
    ).stdout
    m = re.search(r'"Filters for [^"]*":.*?\s(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)', tree)
    return None if m is None else tuple(map(int, m.groups()))  # type: ignore[return-value]


def shoot(display: str, out: Path, settle: float = 12.0, size: tuple[int, int] = DIALOG) -> Path:
    env = {"DISPLAY": display}
    deadline = time.monotonic() + 30
    while _dialog_geometry(display) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    subprocess.run(
        ["xdotool", "search", "--name", "Filters for", "windowmove", "%@", "0", "0"], env=env
    )
    subprocess.run(["xdotool", "search", "--name", "Filters for", "windowsize", "%@",
                    str(size[0]), str(size[1])], env=env)  # fmt: skip
    time.sleep(settle)  # software GL on a loaded machine paints slowly
    w, h, x, y = _dialog_geometry(display) or (*size, 0, 0)
    xwd = subprocess.run(
        ["xwd", "-root", "-silent", "-display", display], capture_output=True
    ).stdout
    subprocess.run(["convert", "xwd:-", "-crop", f"{w}x{h}+{max(0, x)}+{max(0, y)}", "+repage",
                    str(out)], input=xwd, check=True)  # fmt: skip
    return out


def run(out_dir: Path) -> list[Path]:
    from tests.helpers import media
    from tests.helpers.obs_harness import (
        REPO,
        ObsProcess,
        image_source,
        jump_filter,
        scene_collection,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="jump-matte-shots-"))
    rgb, _ = media.composite("person-2.png", "plants-1.jpg", CANVAS, crop=0.6)
    png = folder / "cam.png"
    media.write_png(png, rgb)
    matte = jump_filter("jump_matte", "Jump Matte", {"view": "overlay"})
    collection = scene_collection([image_source("Cam", png, [matte])], [REPO / "jump_obs.py"])
    with ObsProcess(folder / "home", collection, canvas=CANVAS) as obs:
        display = obs.display
        time.sleep(4.0)  # the first masks
        obs.request("OpenInputFiltersDialog", {"inputName": "Cam"})
        shots = [shoot(display, out_dir / "matte-properties-tuning.png")]
        # scroll the properties (the wheel over the label column, never over a slider)
        env = {"DISPLAY": display}
        subprocess.run(["xdotool", "mousemove", "300", "900"], env=env)
        subprocess.run(["xdotool", "click", "--repeat", "5", "--delay", "80", "5"], env=env)
        shots.append(shoot(display, out_dir / "matte-properties-room.png", settle=8.0))
        return shots


if __name__ == "__main__":
    for path in run(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")):
        print(path)
