"""End-to-end: Jump Matte in a real, headless OBS, checked against exact ground-truth alpha."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import media
from tests.helpers.obs_harness import REPO, image_source, jump_filter, read_stats, scene_collection

pytestmark = pytest.mark.e2e

JUMP = REPO / "jump_obs.py"
HOOKS = REPO / "tests" / "helpers" / "obs_scripts" / "jump_test_hooks.py"
SIZE = (1280, 720)


def matte(settings: dict | None = None) -> list[dict]:
    # these tests measure MediaPipe; the filter's own default (Auto) is tested on its own
    return [jump_filter("jump_matte", "Jump Matte", {"model": "mediapipe", **(settings or {})})]


@pytest.fixture
def webcam(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A head-and-shoulders composite (a webcam's framing) and its exact alpha."""
    rgb, alpha = media.composite("person-2.png", "plants-1.jpg", SIZE, crop=0.6)
    path = tmp_path / "webcam.png"
    media.write_png(path, rgb)
    return path, rgb, alpha


def wait_for_mask(obs, source: str, timeout: float = 20.0) -> np.ndarray:
    """Screenshots until the filter draws a mask (before the first one it draws nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shot = obs.screenshot(source)
        if shot[:, :, 3].min() < 255 and shot[:, :, 3].max() == 255:
            return shot
        time.sleep(0.3)
    raise AssertionError(f"no mask within {timeout}s:\n{obs.log_text()[-3000:]}")


def set_matte(obs, source: str, settings: dict) -> np.ndarray:
    obs.set_filter(source, "Jump Matte", settings)
    time.sleep(1.5)
    return obs.screenshot(source)


def core(alpha: np.ndarray, inside: bool, margin: int = 15) -> np.ndarray:
    """Pixels well inside (or well outside) the true silhouette."""
    import cv2

    mask = (alpha > 127) if inside else (alpha < 128)
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    return cv2.erode(mask.astype(np.uint8), kernel).astype(bool)


def test_cutout_alpha_matches_ground_truth_and_game_shows_through(obs_factory, webcam, tmp_path):
    png, rgb, truth = webcam
    game = media.background("car-1.jpg", SIZE)
    game_png = tmp_path / "game.png"
    media.write_png(game_png, game)
    obs = obs_factory(
        scene_collection(
            [image_source("Game", game_png), image_source("Cam", png, matte())], [JUMP]
        )
    )
    shot = wait_for_mask(obs, "Cam")
    time.sleep(1.0)  # let temporal smoothing settle on the still picture
    shot = obs.screenshot("Cam")
    assert shot.shape == (SIZE[1], SIZE[0], 4)
    assert media.iou(shot[:, :, 3], truth) >= 0.9

    scene = obs.screenshot("Scene").astype(int)
    person, backdrop = core(truth, True), core(truth, False)
    # The game shows through where the webcam's background was; the person stays on top.
    assert np.abs(scene[backdrop][:, :3] - game[backdrop]).mean() < 6
    assert np.abs(scene[person][:, :3] - rgb[person]).mean() < 6
    assert np.abs(game[backdrop].astype(int) - rgb[backdrop]).mean() > 30  # the test can fail


def test_background_modes(obs_factory, webcam, tmp_path):
    png, rgb, truth = webcam
    picture = media.background("animal-1.jpg", SIZE)
    picture_png = tmp_path / "picture.png"
    media.write_png(picture_png, picture)
    obs = obs_factory(scene_collection([image_source("Cam", png, matte())], [JUMP]))
    wait_for_mask(obs, "Cam")
    person, backdrop = core(truth, True), core(truth, False)

    color = set_matte(obs, "Cam", {"background": "color", "bg_color": 0xFF0000FF}).astype(int)
    assert color[:, :, 3].min() == 255
    # (a few model false positives in the backdrop are allowed: percentile, not max)
    assert np.percentile(np.abs(color[backdrop][:, :3] - [255, 0, 0]).max(axis=1), 98) <= 2
    assert np.abs(color[person][:, :3] - rgb[person]).mean() < 6

    image = set_matte(obs, "Cam", {"background": "image", "bg_image": str(picture_png)})
    assert np.abs(image[backdrop][:, :3].astype(int) - picture[backdrop]).mean() < 6

    blur = set_matte(obs, "Cam", {"background": "blur", "blur_strength": 6.0}).astype(int)
    assert blur[:, :, 3].min() == 255
    assert np.abs(blur[person][:, :3] - rgb[person]).mean() < 6

    # The background is blurred: much less high-frequency detail than the original.
    def detail(img):
        return np.abs(np.diff(img[..., 1].astype(int), axis=1))[backdrop[:, 1:]].mean()

    assert detail(blur) < 0.5 * detail(rgb)

    # No halo: the blur never samples the person. Just outside the silhouette, Jump's blur
    # is closer to a blur of the background alone than a plain blur of the frame is.
    import cv2

    plain_bg = media.background("plants-1.jpg", SIZE).astype(np.float32)
    reference = cv2.GaussianBlur(plain_bg, (0, 0), 22)
    naive = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 22)
    near = core(truth, False, margin=8) & ~core(truth, False, margin=30)
    ours_err = np.abs(blur[near][:, :3] - reference[near]).mean()
    naive_err = np.abs(naive[near] - reference[near]).mean()
    assert ours_err < naive_err


def test_odd_resolution_and_resolution_change(obs_factory, tmp_path):
    rgb, truth = media.composite("person-2.png", "car-2.jpg", (333, 217), crop=0.6)
    png = tmp_path / "odd.png"
    media.write_png(png, rgb)
    obs = obs_factory(scene_collection([image_source("Cam", png, matte())], [JUMP]))
    shot = wait_for_mask(obs, "Cam")
    assert shot.shape == (217, 333, 4)
    assert media.iou(shot[:, :, 3], truth) >= 0.8
    big, big_truth = media.composite("person-2.png", "car-2.jpg", (1920, 1080), crop=0.6)
    media.write_png(png.with_name("big.png"), big)
    obs.request(
        "SetInputSettings",
        {"inputName": "Cam", "inputSettings": {"file": str(png.with_name("big.png"))}},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        shot = obs.screenshot("Cam")
        if shot.shape[:2] == (1080, 1920) and media.iou(shot[:, :, 3], big_truth) >= 0.9:
            break
        time.sleep(0.5)
    assert shot.shape[:2] == (1080, 1920)
    assert media.iou(shot[:, :, 3], big_truth) >= 0.9


def test_missing_model_passes_video_through(obs_factory, webcam, tmp_path):
    png, rgb, _ = webcam
    empty = tmp_path / "no-models"
    empty.mkdir()
    obs = obs_factory(
        # selfie is fetchable, not shipped: absent from the empty folders and from models/
        scene_collection(
            [image_source("Cam", png, matte({"models_dir": str(empty), "model": "selfie"}))],
            [JUMP],
        ),
        env={"JUMP_MODELS": str(empty)},
    )
    time.sleep(2.0)
    shot = obs.screenshot("Cam")
    assert shot[:, :, 3].min() == 255
    assert np.abs(shot[:, :, :3].astype(int) - rgb).max() <= 1
    text = obs.log_text()
    assert text.count("not found") >= 1 and "models fetch" in text
    assert obs.alive()


def test_render_cost_mask_lag_and_delayed_video(obs_factory, webcam, tmp_path):
    """The filter reports its render-thread time and mask lag (numbers go to benchmarks);
    "delay video to match mask" draws the frame from the delay ago with its own mask."""
    png, _, truth = webcam
    stats_file = tmp_path / "stats.jsonl"
    obs = obs_factory(
        scene_collection([image_source("Cam", png, matte())], [JUMP, HOOKS]),
        env={"JUMP_TEST_ACTIONS": "stats", "JUMP_TEST_STATS": str(stats_file)},
    )
    wait_for_mask(obs, "Cam")
    time.sleep(2.5)
    stats = read_stats(stats_file, "jump_matte")
    assert stats["masks"] > 10
    assert stats["frames_captured"] > stats["masks"] / 2
    assert 0 < stats["render_ms"] < 1000
    assert 0 <= stats["mask_lag_frames"] < 30
    assert stats["drawn_lag_frames"] >= 1  # read back a frame late: the mask trails the picture
    assert stats["frames_from"] == "staged"  # an image source is not async

    # a delay longer than the mask lag of a loaded test machine
    delayed = set_matte(obs, "Cam", {"delay_video": True, "delay_ms": 250})
    time.sleep(1.5)
    stats = read_stats(stats_file, "jump_matte")
    assert stats["delay_ms"] == 250, stats
    # the picture drawn is 250 ms old to the nearest frame on OBS's clock (or a frame more,
    # where its mask was late), and drawn with its own mask unless the mask lag is longer
    # (a loaded machine's masks can come later than the delay: the newest masked frame is
    # then older, never younger)
    # (or, with no masked frame left in the history, the newest frame is drawn: age −1)
    if stats["mask_lag_ms"] > 250 - 2e3 / 30:
        assert stats["held_age_ms"] == -1 or stats["held_age_ms"] >= 250 - 2e3 / 30, stats
    else:
        assert abs(stats["held_age_ms"] - 250) <= 2e3 / 30, stats
        assert stats["drawn_lag_frames"] == 0, stats
    assert media.iou(delayed[:, :, 3], truth) >= 0.9
