"""End-to-end: Jump Denoise on a media source in a real, headless OBS, recorded and scored."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from jump.lab.denoise.metrics import si_sdr
from tests.helpers import media
from tests.helpers.obs_harness import REPO, jump_filter, media_source, read_stats, scene_collection

pytestmark = pytest.mark.e2e

JUMP = REPO / "jump_obs.py"
HOOKS = REPO / "tests" / "helpers" / "obs_scripts" / "jump_test_hooks.py"


@pytest.fixture
def noisy_speech(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Real speech + fan noise (tests/data) at 2 dB SNR, 48 kHz stereo float WAV; (path, clean, noisy)."""
    clean = media.speech_48k(16.0)  # unique speech, longer than the test: never loops
    noise = np.resize(media.read_mono(media.NOISE / "fan.wav"), clean.shape)
    gain = np.sqrt((clean**2).mean() / (noise**2).mean() / 10 ** (2 / 10))
    noisy = (clean + gain * noise).astype(np.float32)
    scale = 0.5 / np.abs(noisy).max()
    path = tmp_path / "noisy.wav"
    media.write_stereo_wav(path, noisy * scale)
    return path, clean * scale, noisy * scale


def test_recording_is_cleaner_than_input_and_no_sample_is_lost(obs_factory, noisy_speech, tmp_path):
    wav, clean, noisy = noisy_speech
    stats_file = tmp_path / "stats.jsonl"
    # NSNet2 pinned: this test is about the 20 ms path (DeepFilterNet3: test_obs_dfn3.py)
    nsnet2 = {"neural_model": "nsnet2-48k-int8"}
    source = media_source("Mic", wav, [jump_filter("jump_denoise", "Jump Denoise", nsnet2)])
    obs = obs_factory(
        scene_collection([source], [JUMP, HOOKS]),
        env={"JUMP_TEST_ACTIONS": "stats", "JUMP_TEST_STATS": str(stats_file)},
    )
    time.sleep(2.0)  # past the noise tracker's first second
    recording = media.read_recording(obs.record(5.0))
    time.sleep(1.2)
    stats = read_stats(stats_file, "jump_denoise")

    # Samples out == samples in, packet by packet (the filter never swallows a packet).
    assert stats["frames_in"] > 48000 * 5
    assert stats["frames_out"] == stats["frames_in"]
    assert 0 < stats["latency_ms"] <= 20.0

    # Score four 0.5 s windows from the middle of the recording, each against the clean
    # speech at the place it is located (cross-correlation with the clean signal): OBS
    # itself sometimes slips a packet, which would misalign one long window.
    start = recording.shape[1] // 2 - 48000
    gains, noisy_scores = [], []
    for k in range(4):
        chunk = recording[0, start + k * 24000 : start + (k + 1) * 24000]
        offset = media.locate(chunk, clean)
        reference = media.loop_slice(clean, offset, chunk.size)
        noisy_same = media.loop_slice(noisy, offset, chunk.size)
        noisy_scores.append(si_sdr(reference, noisy_same))
        gains.append(si_sdr(reference, chunk) - noisy_scores[-1])
    assert np.median(noisy_scores) < 6  # the input really is noisy
    # measured: median gain +8.3 to +9.2 dB over three runs (single windows -6 to +11.6)
    assert np.median(gains) > 5, gains
    assert np.allclose(recording[0], recording[1], atol=1e-6)  # linked stereo stays linked
    # The default int8 model ships prebuilt: OBS's fresh HOME got no model copy written.
    assert not list((tmp_path / "home").rglob("*.onnx"))


@pytest.mark.parametrize(("rate", "layout", "channels"), [(44100, "5.1", 6), (48000, "Mono", 1)])
def test_other_obs_audio_formats(obs_factory, noisy_speech, tmp_path, rate, layout, channels):
    """OBS set to 44.1 kHz 5.1 or 48 kHz mono: the filter follows OBS's format, keeps every
    sample, and the recording still carries the (denoised) voice on every channel."""
    wav, _, _ = noisy_speech
    stats_file = tmp_path / "stats.jsonl"
    obs = obs_factory(
        scene_collection(
            [media_source("Mic", wav, [jump_filter("jump_denoise", "Jump Denoise")])],
            [JUMP, HOOKS],
        ),
        env={"JUMP_TEST_ACTIONS": "stats", "JUMP_TEST_STATS": str(stats_file)},
        audio=(rate, layout),
    )
    time.sleep(1.0)
    recording = media.read_recording(obs.record(3.0), channels)
    time.sleep(1.2)
    stats = read_stats(stats_file, "jump_denoise")
    assert stats["frames_out"] == stats["frames_in"] > rate * 2
    assert f"{rate} Hz, {channels} ch, latency" in obs.log_text()
    assert recording.shape[0] == channels
    assert np.isfinite(recording).all()
    # front left (and the mono channel) carry the voice
    assert np.sqrt(np.mean(recording[0] ** 2)) > 0.01
