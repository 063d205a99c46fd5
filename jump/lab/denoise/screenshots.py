"""`python -m jump.lab.denoise.screenshots [OUT_DIR]`: Jump Denoise's Filters dialog, from
the headless OBS of the e2e harness, for docs/denoise.md and docs/streaming.md.

A "Mic" media source (a speech wav) carrying Jump Denoise; the dialog is opened, resized
and grabbed as `jump.lab.matte.screenshots.shoot` does (see its notes on Xvfb painting).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jump.lab.matte.screenshots import shoot

DIALOG = (980, 900)


def run(out_dir: Path) -> list[Path]:
    from tests.helpers.obs_harness import (
        REPO,
        ObsProcess,
        jump_filter,
        media_source,
        scene_collection,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="jump-denoise-shots-"))
    wav = REPO / "tests" / "data" / "audio" / "speech" / "spk1_snt1.wav"
    denoise = jump_filter("jump_denoise", "Jump Denoise")
    collection = scene_collection([media_source("Mic", wav, [denoise])], [REPO / "jump_obs.py"])
    with ObsProcess(folder / "home", collection) as obs:
        display = obs.display
        time.sleep(2.0)
        obs.request("OpenInputFiltersDialog", {"inputName": "Mic"})
        shoot(display, out_dir / "denoise-properties.png", settle=4.0, size=DIALOG)  # paints it
        # an audio source has no preview: drag the splitter under it up (to its minimum)
        env = {"DISPLAY": display}
        for step in (["mousemove", "622", "413"], ["mousedown", "1"], ["mousemove", "622", "150"],
                     ["mousemove", "622", "12"], ["mouseup", "1"]):  # fmt: skip
            subprocess.run(["xdotool", *step], env=env)
            time.sleep(0.3)
        shots = [shoot(display, out_dir / "denoise-properties.png", 8.0, DIALOG)]
        # scroll the properties to the Voice gate and Monitor groups (over the label column)
        subprocess.run(["xdotool", "mousemove", "300", "700"], env=env)
        subprocess.run(["xdotool", "click", "--repeat", "10", "--delay", "80", "5"], env=env)
        shots.append(shoot(display, out_dir / "denoise-properties-gate.png", 8.0, DIALOG))
        return shots


if __name__ == "__main__":
    for path in run(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")):
        print(path)
