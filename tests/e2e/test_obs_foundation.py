"""End-to-end: Jump's filters registered from Python inside a real, headless OBS."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import media
from tests.helpers.obs_harness import (
    REPO,
    image_source,
    jump_filter,
    media_source,
    scene_collection,
)

pytestmark = pytest.mark.e2e

JUMP = REPO / "jump_obs.py"
HOOKS = REPO / "tests" / "helpers" / "obs_scripts" / "jump_test_hooks.py"


@pytest.fixture
def speech_wav(tmp_path: Path) -> tuple[Path, np.ndarray]:
    path = tmp_path / "speech48k.wav"  # longer than any recording here: the file never loops
    return path, media.write_stereo_wav(path, media.speech_48k(16.0))


@pytest.fixture
def portrait_png(tmp_path: Path) -> Path:
    rgb, _ = media.composite("person-1.png", "plants-1.jpg", (480, 270))
    path = tmp_path / "portrait.png"
    media.write_png(path, rgb)
    return path


def assert_audio_unchanged(recording: np.ndarray, reference: np.ndarray) -> None:
    """The middle 2 s of the recording equal the input sample for sample (±2e-6).

    Checked as eight 0.25 s windows, each located in the input on its own. Windows in a
    pause between words are skipped (too quiet to locate), and a few may fail: OBS's own
    audio pipeline sometimes slips a 1024-frame packet under load (seen in runs where no
    Jump code touched the audio at all), spoiling a window or two. A filter that changed
    the audio in any way fails every window.
    """
    assert recording.shape[1] > 48000 * 3, f"recording too short: {recording.shape}"
    start = recording.shape[1] // 2 - 48000
    results = []
    for k in range(8):
        chunk = recording[:, start + k * 12000 : start + (k + 1) * 12000]
        if np.sqrt(np.mean(chunk**2)) < 0.01:
            continue
        offset = media.locate(chunk[0], reference[0])
        expected = np.stack([media.loop_slice(ch, offset, chunk.shape[1]) for ch in reference])
        results.append(bool(np.abs(chunk - expected).max() <= 2e-6))
    assert len(results) >= 4, "recording is (nearly) silent"
    assert sum(results) >= max(3, 0.6 * len(results)), f"sample-exact windows: {results}"


def filtered_and_plain(wav: Path, png: Path) -> list[dict]:
    """ "Mic" with Jump Denoise, "Cam" with Jump Matte, and "Plain": Cam without the filter."""
    return [
        media_source("Mic", wav, [jump_filter("jump_denoise", "Jump Denoise")]),
        image_source("Cam", png, [jump_filter("jump_matte", "Jump Matte")]),
        image_source("Plain", png),
    ]


def assert_media_unchanged(obs, reference: np.ndarray) -> None:
    """Cam looks exactly like Plain (±1) and the recorded audio is the input's."""
    filtered, plain = obs.screenshot("Cam"), obs.screenshot("Plain")
    assert filtered.shape == plain.shape
    assert np.abs(filtered.astype(int) - plain.astype(int)).max() <= 1
    assert_audio_unchanged(media.read_recording(obs.record(4.0)), reference)


def test_filters_attach_through_websocket(obs_factory, speech_wav, portrait_png):
    wav, _ = speech_wav
    obs = obs_factory(
        scene_collection([media_source("Mic", wav), image_source("Cam", portrait_png)], [JUMP])
    )
    obs.add_filter("Cam", "Jump Matte", "jump_matte")
    obs.add_filter("Mic", "Jump Denoise", "jump_denoise")
    cam = obs.request("GetSourceFilterList", {"sourceName": "Cam"})["filters"]
    mic = obs.request("GetSourceFilterList", {"sourceName": "Mic"})["filters"]
    assert [f["filterKind"] for f in cam] == ["jump_matte"]
    assert [f["filterKind"] for f in mic] == ["jump_denoise"]
    defaults = obs.request("GetSourceFilterDefaultSettings", {"filterKind": "jump_denoise"})
    assert defaults["defaultFilterSettings"]["method"] == "neural"  # the engine's default
    time.sleep(1.0)
    assert obs.alive()
    text = obs.log_text()
    assert "registered filter 'Jump Matte' (jump_matte)" in text
    assert "registered filter 'Jump Denoise' (jump_denoise)" in text


def test_properties_dialogs_list_every_setting(obs_factory, speech_wav, portrait_png, tmp_path):
    """obs_source_properties on both filters (what the Filters dialog shows), groups included."""
    import json

    wav, _ = speech_wav
    props_file = tmp_path / "props.json"
    obs = obs_factory(
        scene_collection(filtered_and_plain(wav, portrait_png), [JUMP, HOOKS]),
        env={
            "JUMP_TEST_ACTIONS": "props",
            "JUMP_TEST_PROPS": str(props_file),
            "JUMP_TEST_PROPS_SOURCES": "Mic/Jump Denoise,Cam/Jump Matte",
        },
    )
    deadline = time.monotonic() + 20
    while not props_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    props = json.loads(props_file.read_text())
    from jump.filters import denoise
    from jump.filters import matte_settings as matte

    expected = {
        "Jump Denoise": {
            denoise.S_METHOD,
            denoise.S_STRENGTH,
            denoise.S_MIX,
            denoise.S_VAD_THRESHOLD,
            denoise.S_GRACE,
            denoise.S_MODEL,
            "status",
        },
        "Jump Matte": {
            matte.S_BACKGROUND,
            matte.S_BLUR,
            matte.S_COLOR,
            matte.S_IMAGE,
            matte.S_THRESHOLD,
            matte.S_MODEL,
            matte.S_PROVIDER,
            matte.S_DELAY_VIDEO,
            "stats",
        },
    }
    for name, keys in expected.items():
        assert keys <= {key for key, _ in props[name]}, (name, props[name])
    # Only the chosen background mode's settings show (default: transparent, so none).
    visible = dict(map(tuple, props["Jump Matte"]))
    assert not any(visible[k] for k in (matte.S_BLUR, matte.S_COLOR, matte.S_IMAGE))
    assert visible[matte.S_BACKGROUND] and visible[matte.S_THRESHOLD]
    assert "get_properties failed" not in obs.log_text()
    assert "properties callback failed" not in obs.log_text()


def test_passthrough_video_and_audio_when_callbacks_raise(obs_factory, speech_wav, portrait_png):
    """An exception inside a filter callback is logged once; picture and audio pass through."""
    wav, reference = speech_wav
    obs = obs_factory(
        scene_collection(
            filtered_and_plain(wav, portrait_png),
            [JUMP, HOOKS],
        ),
        env={"JUMP_TEST_ACTIONS": "raise"},
    )
    time.sleep(1.5)
    assert obs.screenshot("Plain").shape == (270, 480, 4)
    assert_media_unchanged(obs, reference)
    text = obs.log_text()
    assert text.count("jump_denoise.filter_audio failed (RuntimeError: injected") == 1
    assert text.count("jump_matte.video_render failed (RuntimeError: injected") == 1
    assert obs.alive()


def test_saved_collection_restores_filters_after_restart(
    obs_factory, speech_wav, portrait_png, tmp_path
):
    wav, _ = speech_wav
    home = tmp_path / "home"
    collection = scene_collection(
        [media_source("Mic", wav), image_source("Cam", portrait_png)], [JUMP]
    )
    first = obs_factory(collection, home=home)
    first.add_filter("Mic", "Quiet room", "jump_denoise", {"strength_db": 18.0})
    first.add_filter("Cam", "Cut out", "jump_matte")
    first.assert_clean_shutdown()
    saved = (home / ".config/obs-studio/basic/scenes/Jump.json").read_text()
    assert "jump_denoise" in saved and "jump_matte" in saved

    second = obs_factory(collection, home=home, write_collection=False)
    mic = second.request("GetSourceFilter", {"sourceName": "Mic", "filterName": "Quiet room"})
    cam = second.request("GetSourceFilter", {"sourceName": "Cam", "filterName": "Cut out"})
    assert mic["filterKind"] == "jump_denoise"
    assert mic["filterSettings"]["strength_db"] == 18.0
    assert cam["filterKind"] == "jump_matte"
    text = second.log_text()
    # The type existed before the sources loaded: no placeholder for an unknown id.
    assert "Source ID 'jump_" not in text


def test_script_reload_while_filters_run(obs_factory, speech_wav, portrait_png, tmp_path):
    """Reload jump_obs.py (obs_script_reload, as the Scripts dialog does) three times."""
    wav, _ = speech_wav
    trigger = tmp_path / "reload-trigger"
    obs = obs_factory(
        scene_collection(
            [
                media_source(
                    "Mic", wav, [jump_filter("jump_denoise", "Jump Denoise", {"mix": 0.0})]
                ),
                image_source("Cam", portrait_png, [jump_filter("jump_matte", "Jump Matte")]),
            ],
            [JUMP, HOOKS],
        ),
        env={
            "JUMP_TEST_ACTIONS": "reload",
            "JUMP_TEST_TRIGGER": str(trigger),
            "JUMP_TEST_SCRIPT": str(JUMP),
        },
    )
    done = Path(f"{trigger}.done")
    for i in range(1, 4):
        trigger.touch()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            not done.exists() or done.read_text().count("reload") < i
        ):
            time.sleep(0.1)
        assert done.exists() and done.read_text().count("reload") == i, obs.log_text()[-3000:]
        obs.screenshot("Cam")  # the graphics thread still renders through the filter
    assert obs.alive()
    # Filters created before the reloads still process audio, and new ones can be added.
    recording = media.read_recording(obs.record(3.0))
    assert np.abs(recording).max() > 0.01
    obs.add_filter("Cam", "After reload", "jump_matte")
    assert obs.request("GetSourceFilter", {"sourceName": "Cam", "filterName": "After reload"})
    text = obs.log_text()
    assert text.count("Jump loaded from") >= 4  # the first load, a second handle, 3 reloads
    obs.assert_clean_shutdown()


def test_missing_dependencies_pass_media_through_and_say_why(
    obs_factory, speech_wav, portrait_png, tmp_path
):
    """Jump installed without its .venv: filters still register, pass media through, and
    the log says exactly what is missing and how to install it."""
    import shutil

    bare = tmp_path / "jump-no-venv"
    shutil.copytree(REPO / "jump", bare / "jump", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(JUMP, bare / "jump_obs.py")
    wav, reference = speech_wav
    obs = obs_factory(
        scene_collection(
            filtered_and_plain(wav, portrait_png),
            [bare / "jump_obs.py"],
        ),
        env={"JUMP_SITE_PACKAGES": ""},
    )
    time.sleep(1.0)
    text = obs.log_text()
    assert "missing Python packages: numpy (ModuleNotFoundError" in text
    assert "filters pass media through" in text
    assert "registered filter 'Jump Denoise' (jump_denoise)" in text
    assert_media_unchanged(obs, reference)
    assert obs.alive()


def test_filters_removed_mid_stream(obs_factory, speech_wav, portrait_png):
    """Both filters working, then removed while media plays: OBS keeps going, media is
    back to the source's own, and nothing is logged as failed."""
    wav, reference = speech_wav
    obs = obs_factory(
        scene_collection(
            filtered_and_plain(wav, portrait_png),
            [JUMP],
        )
    )
    deadline = time.monotonic() + 20
    alpha = obs.screenshot("Cam")[:, :, 3]
    while not (alpha.min() < 255 and alpha.max() == 255) and time.monotonic() < deadline:
        time.sleep(0.3)  # until the matte is on (nothing is drawn before the first mask)
        alpha = obs.screenshot("Cam")[:, :, 3]
    assert alpha.min() < 255 and alpha.max() == 255
    obs.request("RemoveSourceFilter", {"sourceName": "Cam", "filterName": "Jump Matte"})
    obs.request("RemoveSourceFilter", {"sourceName": "Mic", "filterName": "Jump Denoise"})
    time.sleep(0.5)
    assert_media_unchanged(obs, reference)
    assert obs.alive()
    obs.assert_clean_shutdown()
