"""End-to-end: a recording OBS wrote itself (.mkv, x264 + AAC, as a streamer records)
cleaned by `python -m jump denoise`: cleaner against its known speech, the video stream
bit-identical, in sync."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import media
from tests.helpers.obs_harness import REPO, ObsProcess, media_source, scene_collection
from tests.helpers.stream_media import locate, si_sdr
from tests.unit.test_cli_safety import decode_audio, jump, video_md5, video_start

pytestmark = pytest.mark.e2e


class RecordingObs(ObsProcess):
    """OBS set up as a streamer records: Simple output, x264 and AAC into Matroska."""

    def write_config(self, write_collection: bool = True) -> None:
        super().write_config(write_collection)
        profile = self.home / ".config" / "obs-studio" / "basic" / "profiles" / "Jump"
        ini = (profile / "basic.ini").read_text()
        ini = ini.replace("[Output]\nMode=Advanced\n", "[Output]\nMode=Simple\n")
        ini += (
            f"[SimpleOutput]\nFilePath={self.record_dir}\nRecFormat=mkv\nRecQuality=Stream\n"
            "StreamEncoder=x264\nVBitrate=1500\nABitrate=160\nPreset=veryfast\n"
        )
        (profile / "basic.ini").write_text(ini)


def test_obs_recording_cleaned_by_jump_denoise(tmp_path: Path) -> None:
    clean = media.speech_48k(16.0)  # unique speech, longer than the recording
    noise = np.resize(media.read_mono(media.NOISE / "fan.wav"), clean.shape)
    gain = np.sqrt((clean**2).mean() / (noise**2).mean() / 10 ** (3 / 10))
    noisy = clean + gain * noise
    scale = 0.5 / np.abs(noisy).max()
    clean, noisy = clean * scale, (noisy * scale).astype(np.float32)
    wav = tmp_path / "mic.wav"
    media.write_stereo_wav(wav, noisy)
    clip = tmp_path / "cam.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=30:duration=16", "-i", str(wav),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "flac", "-shortest",
                    str(clip)], check=True)  # fmt: skip
    collection = scene_collection([media_source("Cam", clip)], [REPO / "jump_obs.py"])
    with RecordingObs(tmp_path / "home", collection, canvas=(320, 180), preview=False) as obs:
        time.sleep(1.5)
        rec = obs.record(5.0)
    assert rec.suffix == ".mkv"
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name",
                              "-of", "csv=p=0", str(rec)], capture_output=True, text=True).stdout  # fmt: skip
    assert streams.split() == ["h264", "aac"], streams

    r = jump("denoise", rec.name, "clean/rec.mkv", "--model", "nsnet2", cwd=rec.parent)
    assert r.returncode == 0, r.stderr
    out = rec.parent / "clean" / "rec.mkv"
    assert video_md5(out) == video_md5(rec)  # the video stream untouched, bit for bit

    recorded, cleaned = decode_audio(rec, 0), decode_audio(out, 0)
    skip = 48000 // 2  # past the recording's first half second (the tracker settles)
    chunk = recorded[skip : skip + 3 * 48000]
    at = locate(chunk, noisy)
    at_clean = locate(cleaned[skip : skip + 3 * 48000], noisy)
    # in sync: audio and video moved by the same time (a muxer may shift both)
    shift = round(48000 * (video_start(out) - video_start(rec)))
    assert abs((at - at_clean) - shift) <= 48, (at, at_clean, shift)
    ref = clean[at : at + len(chunk)]
    before = si_sdr(chunk, ref)
    after = si_sdr(cleaned[skip : skip + len(chunk)], clean[at_clean : at_clean + len(chunk)])
    print(f"OBS recording SI-SDR: {before:.2f} dB recorded -> {after:.2f} dB after jump denoise")
    assert after > before + 5.0, (before, after)
