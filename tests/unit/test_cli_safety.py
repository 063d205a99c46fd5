"""The command line as a careless user meets it (issue 20): every bad case exits with one
line and the right code, leaves its input unchanged (hash) and no partial output; the
recordings and videos it writes hold what they should (codecs, alpha, audio, untouched
video)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.media import DATA, MATTE, SPEECH

REPO = Path(__file__).resolve().parents[2]
PORTRAIT = MATTE / "foregrounds" / "p3m-bac3c1ff.png"
ffmpeg_only = pytest.mark.skipif(
    subprocess.run(["which", "ffmpeg"], capture_output=True).returncode != 0,
    reason="needs ffmpeg",
)


def jump(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "jump", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its hash: inputs unchanged, nothing partial added."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def error_line(r: subprocess.CompletedProcess) -> str:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1, r.stderr  # one line, nothing else
    return lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A wav, a picture and a short video with sound, as a user would have them."""
    d = tmp_path_factory.mktemp("cli")
    (d / "a.wav").write_bytes((SPEECH / "spk1_snt1.wav").read_bytes())
    (d / "p.png").write_bytes(PORTRAIT.read_bytes())
    (d / "sub").mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", str(PORTRAIT),
                    "-i", str(d / "a.wav"), "-t", "1", "-r", "8", "-vf",
                    "scale=192:-2,format=yuv420p", "-c:v", "libx264", "-c:a", "aac",
                    "-shortest", str(d / "clip.mp4")], check=True)  # fmt: skip
    os.symlink("a.wav", d / "link.wav")
    os.link(d / "a.wav", d / "hard.wav")
    return d


# (arguments, expected words in the one-line message); every case exits 2 and changes nothing
BAD = [
    (["matte", "clip.mp4", "clip.mp4", "--background", "blur"], "is the input"),
    (["denoise", "a.wav", "a.wav"], "is the input"),
    (["denoise", "a.wav", "sub/../a.wav"], "is the input"),
    (["denoise", "a.wav", "link.wav"], "is the input"),
    (["denoise", "a.wav", "hard.wav"], "is the input"),
    (["denoise", "link.wav", "a.wav"], "is the input"),
    (["matte", "p.png", "p.png"], "is the input"),
    (["matte", "p.png", "./sub/../p.png"], "is the input"),
    (["denoise", "a.wav", "o.xyz"], ".wav"),
    (["denoise", "a.wav", "sub"], "is a folder"),
    (["matte", "p.png", "sub"], "is a folder"),
    (["matte", "p.png", "out"], "no extension"),
    (["matte", "clip.mp4", "out_%%05d.png"], "e.g. out_%05d.png"),
    (["matte", "p.png", "out.jpg"], ".png"),
    (["matte", "clip.mp4", "out.mp4"], ".webm"),
    (["matte", "clip.mp4", "out.avi", "--background", "blur"], ".mp4"),
    (["matte", "clip.mp4", "out.mp4", "--background", "blur", "--codec", "prores"], ".mov"),
    (["matte", "clip.mp4", "out.mp4", "--background", "blur", "--crf", "60"], "0..51"),
    (["matte", "p.png", "o.png", "--grow", "nan"], "-100..100"),
    (["denoise", "a.wav", "o.wav", "--strength", "nan"], "0..80"),
    (["denoise", "a.wav", "o.wav", "--mix", "5"], "0..1"),
    (["denoise", "a.wav", "o.wav", "--vad-threshold", "-1"], "0..1"),
    (["matte", "p.png", "o.png", "--keep-zones", "a.wav"], "cannot read keep-zones"),
    (["matte", "p.png", "o.png", "--keep-zones", "missing.png"], "no such keep-zones"),
    (["matte", "p.png", "o.png", "--background", "nothing.png"], "#RRGGBB"),
    (["denoise", "missing.wav", "o.wav"], "no such file"),
    (["denoise", "p.png", "o.wav"], "cannot read"),
    (["denoise", "a.wav", "o.mkv"], "sound file"),
    (["denoise", "clip.mp4", "o.wav"], "recording"),
    (["matte", "a.wav", "o.mp4", "--background", "blur"], "no video stream"),
]


@pytest.mark.parametrize(("args", "words"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_command_one_line_exit_2_nothing_changed(work: Path, args, words) -> None:
    before = digest(work)
    r = jump(*args, cwd=work)
    line = error_line(r)
    assert r.returncode == 2, line
    assert words in line, line
    assert digest(work) == before  # input unchanged, no partial or new file


def test_model_errors_list_only_models_of_the_right_kind(work: Path) -> None:
    line = error_line(jump("matte", "p.png", "o.png", "--model", "foo", cwd=work))
    assert "rvm" in line and "mediapipe" in line and "auto" in line
    for other in ("deepfilternet3", "silero-vad", "zero_dce"):
        assert other not in line
    line = error_line(jump("denoise", "a.wav", "o.wav", "--model", "rvm", cwd=work))
    assert "deepfilternet3" in line and "mediapipe" not in line and "silero-vad" not in line


def test_verbose_shows_the_traceback(work: Path) -> None:
    r = jump("-v", "matte", "p.png", "out.jpg", cwd=work)
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_missing_folders_created_and_progress_plain_in_a_log(work: Path) -> None:
    r = jump("denoise", "a.wav", "new/dir/o.wav", "--model", "nsnet2", cwd=work)
    assert r.returncode == 0, r.stderr
    assert (work / "new" / "dir" / "o.wav").stat().st_size > 1000
    assert "\r" not in r.stderr  # stderr is a pipe here: plain lines, no bar redraws
    assert not [p for p in (work / "new" / "dir").iterdir() if "partial" in p.name]


def test_matte_auto_and_picture_with_alpha(work: Path) -> None:
    import cv2

    r = jump("matte", "p.png", "pic/auto.png", "--model", "auto", cwd=work)
    assert r.returncode == 0, r.stderr
    assert "--model auto:" in r.stderr  # says what Auto chose and why
    out = cv2.imread(str(work / "pic" / "auto.png"), cv2.IMREAD_UNCHANGED)
    truth = cv2.imread(str(PORTRAIT), cv2.IMREAD_UNCHANGED)[:, :, 3] > 127
    got = out[:, :, 3] > 127
    assert (truth & got).sum() / (truth | got).sum() > 0.85


def _streams(path: Path) -> list[dict]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return json.loads(out)["streams"]


def _alpha(path: Path, decoder: list[str]) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", *decoder, "-i", str(path), "-frames:v", "1",
                          "-vf", "alphaextract", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8)


@ffmpeg_only
@pytest.mark.parametrize(
    ("out", "extra", "codec", "alpha"),
    [
        ("v.mp4", ["--background", "blur", "--crf", "23"], "h264", False),
        ("v.mkv", ["--background", "#00ff00", "--codec", "vp9"], "vp9", False),
        ("v.webm", [], "vp9", True),
        ("v.mov", [], "prores", True),
    ],
)
def test_matte_video_codecs_alpha_and_audio_kept(work: Path, out, extra, codec, alpha) -> None:
    r = jump("matte", "clip.mp4", f"vid/{out}", "--model", "mediapipe", *extra, cwd=work)
    assert r.returncode == 0, r.stderr
    streams = _streams(work / "vid" / out)
    video = [s for s in streams if s["codec_type"] == "video"]
    audio = [s for s in streams if s["codec_type"] == "audio"]
    assert [s["codec_name"] for s in video] == [codec]
    assert len(audio) == 1  # the input's sound is kept
    frames = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                             "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                             str(work / "vid" / out)], capture_output=True, text=True).stdout  # fmt: skip
    assert int(frames.strip()) == 8
    if alpha:
        a = _alpha(work / "vid" / out, ["-c:v", "libvpx-vp9"] if codec == "vp9" else [])
        assert a.min() < 20 and a.max() > 235  # a real matte: background out, person in


@ffmpeg_only
def test_interrupted_matte_leaves_the_old_output_and_no_partial(work: Path) -> None:
    # a clip long enough that the work is still running when Ctrl-C comes
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=30:duration=20", "-pix_fmt", "yuv420p",
                    str(work / "long.mp4")], check=True)  # fmt: skip
    target = work / "old.mp4"
    target.write_bytes(b"the user's earlier file")
    before = digest(work)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # rvm on the CPU is slow enough to be interrupted mid-video
    proc = subprocess.Popen([sys.executable, "-m", "jump", "matte", "long.mp4", "old.mp4",
                             "--background", "blur", "--model", "rvm"], cwd=work, env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(work.glob(".old.*partial.mp4")):
        time.sleep(0.05)
    assert list(work.glob(".old.*partial.mp4")), "never started writing"
    time.sleep(0.3)
    assert proc.poll() is None, "finished before the interrupt"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert digest(work) == before  # the old output untouched, no partial file left


def _noisy_speech(seconds: float = 4.0):
    from jump.lab.denoise import mixtures

    spec = mixtures.MixtureSpec("fan", ("speech/spk1_snt1.wav", "speech/spk1_snt2.wav"),
                                "noise/fan.wav")  # fmt: skip
    mix = mixtures.build(spec, 5.0, DATA / "audio")
    n = int(seconds * 48000)
    return mix.clean[:n], mix.noisy[:n]


def decode_audio(path: Path, track: int) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", f"0:a:{track}",
                          "-af", "aresample=async=1:first_pts=0", "-ac", "1", "-ar", "48000",
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout  # fmt: skip
    return np.frombuffer(raw, np.float32)


def video_start(path: Path) -> float:
    """The first video timestamp: muxers shift streams to keep audio priming non-negative,
    so sync is audio time relative to this."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=start_time", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return float(out.strip() or 0)


def video_md5(path: Path) -> str:
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy",
                           "-f", "md5", "-"], capture_output=True, text=True, check=True).stdout  # fmt: skip


def _aligned_si_sdr(clean: np.ndarray, test: np.ndarray) -> tuple[float, int]:
    """SI-SDR after lining ``test`` up with ``clean`` (container start offsets, codec delay)."""
    from jump.lab.denoise.metrics import si_sdr

    n = min(len(clean), len(test))
    c = np.fft.irfft(np.fft.rfft(test[:n], 2 * n) * np.conj(np.fft.rfft(clean[:n], 2 * n)))
    lag = int(np.argmax(c[: 2 * n]))
    lag = lag - 2 * n if lag > n else lag
    assert abs(lag) < 0.2 * 48000, lag
    test = test[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), test])
    m = min(len(clean), len(test))
    return si_sdr(clean[:m], test[:m]), lag


@ffmpeg_only
@pytest.mark.parametrize("ext", [".mkv", ".mp4", ".mov", ".flv"])
def test_denoise_recording_every_track_video_untouched(work: Path, tmp_path: Path, ext) -> None:
    import soundfile as sf

    clean, noisy = _noisy_speech()
    sf.write(tmp_path / "noisy.wav", noisy, 48000, subtype="FLOAT")
    sf.write(tmp_path / "noisy2.wav", noisy[::-1].copy(), 48000, subtype="FLOAT")
    rec = tmp_path / f"rec{ext}"
    tracks = 1 if ext == ".flv" else 2  # FLV holds one audio track
    inputs = ["-i", str(tmp_path / "noisy.wav")] + (
        ["-i", str(tmp_path / "noisy2.wav")] if tracks == 2 else []
    )
    maps = ["-map", "0:v", "-map", "1:a"] + (["-map", "2:a"] if tracks == 2 else [])
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=30:duration=4", *inputs, *maps,
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k",
                    "-shortest", str(rec)], check=True)  # fmt: skip
    before = digest(tmp_path)
    # the default model (dfn3) on one container, the 20 ms one on the others (CI time)
    model = [] if ext == ".mkv" else ["--model", "nsnet2"]
    r = jump("denoise", rec.name, f"out/den{ext}", *model, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out" / f"den{ext}"
    assert digest(tmp_path) == {**before, **{f"out/den{ext}": digest(tmp_path)[f"out/den{ext}"]}}
    assert video_md5(out) == video_md5(rec)  # video stream bit-identical
    assert sum(s["codec_type"] == "audio" for s in _streams(out)) == tracks
    for track, reference in [(0, clean), (1, clean[::-1].copy())][:tracks]:
        before_db, lag_in = _aligned_si_sdr(reference, decode_audio(rec, track))
        after_db, lag_out = _aligned_si_sdr(reference, decode_audio(out, track))
        print(f"{ext} track {track + 1}: SI-SDR {before_db:.2f} -> {after_db:.2f} dB")
        assert after_db > before_db + 5.0, (track, before_db, after_db)
        shift = round(48000 * (video_start(out) - video_start(rec)))
        assert abs(lag_out - lag_in - shift) <= 48, (lag_in, lag_out, shift)  # still in sync


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_in_a_log(monkeypatch) -> None:
    import io

    from jump.commands import progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = iter(range(0, 1000, 1))
    monkeypatch.setattr(progress.time, "monotonic", lambda: float(next(clock)))
    log, tty = io.StringIO(), Tty()
    for stream in (log, tty):
        bar = progress.Progress("clip", 100, stream=stream)
        for done in range(0, 101, 10):
            bar.update(done)
        bar.close(100)
    assert "\r" not in log.getvalue()  # a log gets whole lines
    lines = log.getvalue().splitlines()
    assert 1 <= len(lines) <= 3 and lines[-1].startswith("clip [") and "100/100" in lines[-1]
    assert tty.getvalue().count("\r") >= 10  # a terminal gets the bar redrawn in place


def test_report_formatter_prints_rows_as_markdown() -> None:
    from jump.lab.report import Table, render

    t = Table(["method", "SI-SDR dB"], [["a", "1.00"], ["b", "2.50"]], "caption:", [False, True])
    assert render(["intro", t]) == (
        "intro\n\ncaption:\n\n| method | SI-SDR dB |\n|---|---:|\n| a | 1.00 |\n| b | 2.50 |\n"
    )
