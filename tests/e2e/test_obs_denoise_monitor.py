"""End-to-end: issue 13's denoise settings in a real, headless OBS.

The Voice gate and Monitor groups are in the filter's properties, and a recording made in
"Removed only" mode with a 30 ms onset look-ahead is what the engine gives offline: the
noisy input minus the denoised voice (the latency reported to OBS includes the look-ahead).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import pytest

from jump.commands.audio import denoise_array
from jump.denoise import DenoiseSettings
from jump.filters import denoise as f
from tests.e2e.test_obs_denoise import noisy_speech  # noqa: F401  (a fixture)
from tests.helpers import media
from tests.helpers.obs_harness import REPO, jump_filter, media_source, read_stats, scene_collection

pytestmark = pytest.mark.e2e

JUMP = REPO / "jump_obs.py"
HOOKS = REPO / "tests" / "helpers" / "obs_scripts" / "jump_test_hooks.py"


def test_removed_only_recording_matches_the_engine(obs_factory, noisy_speech, tmp_path):  # noqa: F811
    wav, clean, noisy = noisy_speech
    stats_file, props_file = tmp_path / "stats.jsonl", tmp_path / "props.json"
    # NSNet2 named, not "auto": the offline comparison needs the model OBS runs
    settings = {f.S_MONITOR: "removed", f.S_LOOKAHEAD: 30.0, f.S_MODEL: "nsnet2-48k-int8"}
    source = media_source("Mic", wav, [jump_filter("jump_denoise", "Jump Denoise", settings)])
    obs = obs_factory(
        scene_collection([source], [JUMP, HOOKS]),
        env={
            "JUMP_TEST_ACTIONS": "stats,props",
            "JUMP_TEST_STATS": str(stats_file),
            "JUMP_TEST_PROPS": str(props_file),
            "JUMP_TEST_PROPS_SOURCES": "Mic/Jump Denoise",
        },
    )
    time.sleep(2.0)
    recording = media.read_recording(obs.record(5.0))
    time.sleep(1.2)
    stats = read_stats(stats_file, "jump_denoise")
    props = dict(map(tuple, json.loads(props_file.read_text())["Jump Denoise"]))

    for key in (f.S_VAD_THRESHOLD, f.S_GRACE, f.S_RELEASE, f.S_LOOKAHEAD, f.S_MONITOR):
        assert props.get(key), (key, props)  # listed and visible
    assert {"gate", "monitor_group"} <= set(props)
    # OBS is told the look-ahead: 20 ms of STFT + 30 ms
    assert stats["latency_ms"] == pytest.approx(49.98, abs=0.05)
    assert stats["frames_out"] == stats["frames_in"]

    # Offline, the same engine on the same file: input minus output, aligned.
    s = replace(DenoiseSettings(), lookahead_ms=30.0, neural_model="nsnet2-48k-int8")
    removed = noisy - denoise_array(noisy, 48000, s)
    noise = noisy - clean
    matches, noise_share, speech_share = [], [], []
    w = 12000  # 0.25 s windows, each located on its own: OBS under load can drop audio
    for start in range(0, recording.shape[1] - w, w):
        chunk = recording[0, start : start + w]
        if (np.abs(chunk.reshape(-1, 480)).max(axis=1) == 0).any():
            continue  # a gap OBS left (no packet from the source): nothing to compare
        offset = media.locate(chunk, noisy)
        expected = media.loop_slice(removed, offset, w)
        err = np.sum((chunk - expected) ** 2)
        matches.append(10 * np.log10(np.sum(expected**2) / max(err, 1e-30)))
        for share, part in ((noise_share, noise), (speech_share, clean)):
            ref = media.loop_slice(part, offset, w)
            share.append(np.dot(chunk, ref) / np.dot(ref, ref))
    assert len(matches) >= 2, "the recording has no gap-free 0.25 s window"
    # measured: 135 dB (the same samples as offline, up to float rounding)
    assert np.median(matches) > 40.0, matches
    # what is removed is the noise (measured shares 0.88-0.90), little of the voice (0.24-0.29)
    assert np.median(noise_share) > 0.7, noise_share
    assert np.median(speech_share) < 0.4, speech_share
    assert np.allclose(recording[0], recording[1], atol=1e-6)
