"""End-to-end (issue 13): Jump Matte's tuning views, clean plate and keep zones in a real OBS."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from jump.filters import matte_settings as ms
from tests.e2e.test_obs_matte import core, set_matte, wait_for_mask
from tests.helpers import media
from tests.helpers.obs_harness import REPO, image_source, jump_filter, scene_collection

pytestmark = pytest.mark.e2e

JUMP = REPO / "jump_obs.py"
HOOKS = REPO / "tests" / "helpers" / "obs_scripts" / "jump_test_hooks.py"
SIZE = (1280, 720)


def hooks_env(tmp_path: Path, actions: str) -> dict[str, str]:
    return {
        "JUMP_TEST_ACTIONS": actions,
        "JUMP_TEST_PROPS": str(tmp_path / "props.json"),
        "JUMP_TEST_PROPS_SOURCES": "Cam/Jump Matte",
        "JUMP_TEST_PRESS": str(tmp_path / "press"),
    }


def test_properties_and_view_modes_draw_what_they_say(obs_factory, tmp_path):
    rgb, truth = media.composite("person-2.png", "plants-1.jpg", SIZE, crop=0.6)
    png = tmp_path / "webcam.png"
    media.write_png(png, rgb)
    obs = obs_factory(
        scene_collection(
            [image_source("Cam", png, [jump_filter("jump_matte", "Jump Matte")])], [JUMP, HOOKS]
        ),
        env=hooks_env(tmp_path, "props"),
    )
    wait_for_mask(obs, "Cam")
    time.sleep(1.0)
    result = obs.screenshot("Cam")

    written = tmp_path / "props.json"  # the hooks write it 2 s after they load
    deadline = time.monotonic() + 30
    while not written.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    props = dict(map(tuple, json.loads(written.read_text())["Jump Matte"]))
    for key in (ms.S_VIEW, ms.S_GROW, ms.S_MIN_BLOB, ms.B_CAPTURE_PLATE, ms.S_USE_PLATE,
                ms.S_PLATE_TOLERANCE, ms.S_KEEP_ZONES, "plate_status", "tuning", "room"):  # fmt: skip
        assert props.get(key), key  # exists and is visible

    mask = set_matte(obs, "Cam", {ms.S_VIEW: "mask"}).astype(int)
    assert mask[:, :, 3].min() == 255  # opaque: a picture of the matte, not a cut-out
    assert np.abs(mask[:, :, 0] - mask[:, :, 1]).max() <= 1  # grey
    # the grey level is the alpha the Result view applies, and the alpha is right
    assert np.abs(mask[:, :, 0] - result[:, :, 3]).mean() < 3
    assert media.iou(mask[:, :, 0].astype(np.uint8), truth) >= 0.9

    overlay = set_matte(obs, "Cam", {ms.S_VIEW: "overlay"}).astype(int)
    person, backdrop = core(truth, True), core(truth, False)
    assert overlay[:, :, 3].min() == 255
    assert np.abs(overlay[person][:, :3] - rgb[person]).mean() < 4  # the person untouched
    redder = (overlay[..., 0] - overlay[..., 1:3].mean(axis=2)) - (
        rgb[..., 0].astype(int) - rgb[..., 1:3].mean(axis=2)
    )
    assert redder[backdrop].mean() > 60  # what is cut away is tinted
    assert np.abs(redder[person]).mean() < 4

    back = set_matte(obs, "Cam", {ms.S_VIEW: "result"})
    assert np.abs(back[:, :, 3].astype(int) - result[:, :, 3]).mean() < 3
    assert "failed" not in obs.log_text().split("Jump loaded", 1)[1]


def press(obs, tmp_path: Path, key: str) -> str:
    trigger = tmp_path / "press"
    trigger.write_text(f"Cam/Jump Matte/{key}")
    done = Path(f"{trigger}.done")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not done.exists():
        time.sleep(0.1)
    assert done.exists(), obs.diagnostics()[-3000:]
    return done.read_text()


def test_clean_plate_button_and_keep_zones(obs_factory, tmp_path):
    """The room has a framed portrait the model takes for a second person: the captured
    empty room removes it; so does a keep-zones image painted black there."""
    from jump.lab.matte import plate_eval, synth
    from tests.helpers.matte_data import _bg, _fg

    w, h = SIZE
    room = plate_eval.poster_room(_bg("car-2"), _fg("p3m-d684dae3"), w, h)
    colour, truth = synth.place(_fg("person-1"), w, h, 0.95, 0.62, 1.0)
    room_png, live_png = tmp_path / "room.png", tmp_path / "live.png"
    cv2.imwrite(str(room_png), synth.compose(colour * 0, truth * 0, room))
    cv2.imwrite(str(live_png), synth.compose(colour, truth, room))
    poster = np.zeros((h, w), bool)
    poster[int(0.12 * h) : int(0.74 * h), int(0.05 * w) : int(0.31 * w)] = True

    obs = obs_factory(
        scene_collection(
            # the portrait is MediaPipe's mistake; Auto may pick RVM, which errs less
            [
                image_source(
                    "Cam",
                    room_png,
                    [jump_filter("jump_matte", "Jump Matte", {"model": "mediapipe"})],
                )
            ],
            [JUMP, HOOKS],
        ),
        env=hooks_env(tmp_path, "press"),
    )
    time.sleep(3.0)  # the filter runs on the empty room
    assert "capture_plate found True" in press(obs, tmp_path, ms.B_CAPTURE_PLATE)
    obs.wait_for_log("clean plate captured", timeout=30)
    obs.request("SetInputSettings", {"inputName": "Cam", "inputSettings": {"file": str(live_png)}})
    time.sleep(2.5)
    without = obs.screenshot("Cam")[:, :, 3]
    assert without[poster].mean() > 60  # the model cuts the portrait out: the test can fail

    set_matte(obs, "Cam", {ms.S_USE_PLATE: True})
    time.sleep(1.0)
    with_plate = obs.screenshot("Cam")[:, :, 3]
    assert with_plate[poster].mean() < 5
    truth8 = (truth * 255).astype(np.uint8)
    assert media.iou(with_plate, truth8) >= 0.9 > media.iou(without, truth8)

    zones = np.full((h // 4, w // 4), 128, np.uint8)
    zones[poster[::4, ::4]] = 0
    zones_png = tmp_path / "zones.png"
    cv2.imwrite(str(zones_png), zones)
    set_matte(obs, "Cam", {ms.S_USE_PLATE: False, ms.S_KEEP_ZONES: str(zones_png)})
    time.sleep(1.0)
    zoned = obs.screenshot("Cam")[:, :, 3]
    assert zoned[poster].mean() < 5
    # the zone fixes the portrait only (the model's other mistakes stay: grey = model)
    outside = ~poster
    assert np.abs(zoned[outside].astype(int) - without[outside]).mean() < 3
    assert media.iou(zoned, truth8) > media.iou(without, truth8) + 0.1

    # a zones file that vanishes is ignored with a log line, never a crash
    set_matte(obs, "Cam", {ms.S_KEEP_ZONES: str(tmp_path / "gone.png")})
    assert obs.alive()
    obs.wait_for_log("missing or unreadable", timeout=10)
    obs.assert_clean_shutdown()
