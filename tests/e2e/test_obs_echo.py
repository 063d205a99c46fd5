"""End-to-end: Jump Denoise removes a game's echo from the mic, with the game's own OBS
source as the reference ("Remove the sound of"), in a real headless OBS.

One OBS: a media source "Game" plays the game's sound (in the scene, so it plays, but on
no mixer track, so the recording holds only the mic); a media source "Mic" plays what a
microphone next to the speakers heard (the streamer's voice + the game through a speaker
and a room, 120 ms late). The recording is scored against the known voice and echo;
then "Game" is renamed (the canceller goes on, one log line) and deleted mid-stream (the
filter goes on without it).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from jump.lab.denoise.echo_mixtures import EchoSpec, build
from jump.lab.denoise.metrics import si_sdr
from tests.helpers import media
from tests.helpers.obs_harness import REPO, jump_filter, media_source, read_stats, scene_collection

pytestmark = pytest.mark.e2e

JUMP = REPO / "jump_obs.py"
HOOKS = REPO / "tests" / "helpers" / "obs_scripts" / "jump_test_hooks.py"
RATE = 48000
# game only | double talk | voice only | game only, in seconds of the files
SEGMENTS = (
    6.0,
    5.0,
    3.0,
    14.0,
)  # the last part outlasts the recording: the mic still plays when "Game" is deleted
WIN = RATE // 2


@pytest.fixture
def echo_files(tmp_path: Path, monkeypatch):
    from jump.lab.denoise import echo_mixtures

    monkeypatch.setattr(echo_mixtures, "SEGMENTS_S", SEGMENTS)
    m = build(EchoSpec("obs", 120.0, 0.0, None, seed=3), media.DATA / "audio")
    game, mic = tmp_path / "game.wav", tmp_path / "mic.wav"
    media.write_stereo_wav(game, m.reference)
    media.write_stereo_wav(mic, m.mic)
    return game, mic, m


def _file_offset(recording: np.ndarray, voice: np.ndarray) -> int:
    """File index minus recording index, from the 0.5 s windows where the voice is clear
    (located each on its own; the median ignores a window OBS shifted)."""
    found = []
    for start in range(0, recording.size - WIN, WIN):
        chunk = recording[start : start + WIN]
        pos = media.locate(chunk, voice)
        target = voice[pos : pos + WIN]
        if target.size == WIN and si_sdr(target, chunk) > 10.0:
            found.append(pos - start)
    assert len(found) >= 3, "the voice is not in the recording"
    return int(np.median(found))


def _located(recording: np.ndarray, m, offset: int, a: int, b: int) -> tuple[float, float]:
    """Median SI-SDR of the voice in the 0.5 s windows of file span [a, b), each window
    located on its own against the voice (OBS may have shifted the mic a little when a
    slow machine made it restart the source's audio), and the mic's at the same places."""
    out, mic = [], []
    for f in range(a, b - WIN, WIN):
        r = f - offset
        if r < 0 or r + WIN > recording.size:
            continue
        chunk = recording[r : r + WIN]
        pos = media.locate(chunk, m.voice)
        if abs(pos - f) > RATE // 2:
            pos = f  # not found nearby: score it where it should be
        out.append(si_sdr(m.voice[pos : pos + WIN], chunk))
        mic.append(si_sdr(m.voice[pos : pos + WIN], m.mic[pos : pos + WIN]))
    assert len(out) >= 3, (a, b, offset)
    return float(np.median(out)), float(np.median(mic))


def test_game_echo_removed_voice_kept_and_reference_removal_falls_back(
    obs_factory, echo_files, tmp_path
):
    game_wav, mic_wav, m = echo_files
    stats_file = tmp_path / "stats.jsonl"
    settings = {"neural_model": "nsnet2-48k-int8", "echo_reference": "Game"}
    game = media_source("Game", game_wav)
    game["mixers"] = 0  # plays (it is in the scene) but is not recorded: the track is the mic's
    mic = media_source("Mic", mic_wav, [jump_filter("jump_denoise", "Jump Denoise", settings)])
    mic["settings"]["looping"] = True  # still playing when "Game" is deleted, after the recording
    obs = obs_factory(
        scene_collection([game, mic], [JUMP, HOOKS]),
        env={"JUMP_TEST_ACTIONS": "stats", "JUMP_TEST_STATS": str(stats_file)},
    )
    obs.wait_for_log("removing the sound of 'Game'", timeout=20)
    recording = media.read_recording(obs.record(20.0))[0]
    time.sleep(1.2)
    stats = read_stats(stats_file, "jump_denoise")
    assert stats["frames_out"] == stats["frames_in"] > RATE * 14
    assert stats["echo"].startswith("echo canceller: delay"), stats["echo"]

    offset = _file_offset(recording, m.voice)
    seg = [round(float(x) * RATE) for x in np.cumsum([0, *SEGMENTS])]
    lo, hi = max(0, offset), offset + recording.size  # the file span recorded

    def span(a: float, b: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(recording, mic, voice) over file samples [a, b), inside what was recorded."""
        a, b = int(max(a, lo)), int(min(b, hi))
        assert b - a > RATE, (a / RATE, b / RATE, lo / RATE, hi / RATE)
        return recording[a - offset : b - offset], m.mic[a:b], m.voice[a:b]

    rec, mic_part, _ = span(seg[3] + RATE // 2, seg[3] + 5 * RATE)  # game only, after the voice
    erle = 10 * np.log10(np.mean(mic_part**2) / np.mean(rec**2))
    dt, dt_in = _located(recording, m, offset, seg[1] + RATE, seg[2])  # double talk
    near, _ = _located(recording, m, offset, seg[2] + RATE // 4, seg[3])  # voice only
    print(f"OBS echo: ERLE {erle:.1f} dB, DT {dt:.1f} dB (mic {dt_in:.1f} dB), NEAR {near:.1f} dB")
    print(
        stats["echo"],
        stats["reference_ahead_ms"],
        [x for x in obs.log_text().splitlines() if "echo delay" in x or "lagging" in x],
    )
    assert erle > 30.0
    assert dt > dt_in + 6.0
    assert near > 20.0

    # the game's source renamed while attached: one log line, the canceller goes on
    obs.request("SetInputName", {"inputName": "Game", "newInputName": "Game 2"})
    obs.wait_for_log("'Game' is now 'Game 2': still removing its sound", timeout=10)
    time.sleep(1.2)
    stats = read_stats(stats_file, "jump_denoise")
    assert stats["reference"] == "on"
    assert stats["echo"].startswith("echo canceller: delay"), stats["echo"]
    assert obs.log_text().count("is now 'Game 2'") == 1

    # the game's source deleted mid-stream: one log line, plain denoise, no sample lost
    obs.request("RemoveInput", {"inputName": "Game 2"})
    obs.wait_for_log("'Game 2' was removed: plain denoise", timeout=10)
    time.sleep(2.5)
    stats = read_stats(stats_file, "jump_denoise")
    assert stats["frames_out"] == stats["frames_in"]
    assert stats["echo"] == "" and stats["reference"] == "off"
    assert obs.log_text().count("'Game 2' was removed") == 1
