"""Recordings through the system's ``ffmpeg``/``ffprobe`` binaries, over subprocess pipes.

Why the binary and not a Python binding: it adds no wheel to the OBS venv (PyAV ships its
own FFmpeg build, tens of MB, per Python version OBS embeds), a streamer has it (OBS's
own packages pull FFmpeg's libraries in, and `apt/brew/winget install ffmpeg` is one
line), the CI installs it already for the e2e tests, and its container code is the
reference — no hand-written muxing. Only the recording commands need it; sound files and
pictures work without it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from jump.commands.errors import CommandError, UsageError

RECORDING_EXTS = (".mp4", ".mkv", ".flv", ".mov")  # what OBS records into


def binary(name: str = "ffmpeg") -> str:
    path = shutil.which(name)
    if not path:
        raise CommandError(
            f"recordings need {name} on PATH (Debian/Ubuntu: sudo apt-get install ffmpeg; "
            "macOS: brew install ffmpeg; Windows: winget install ffmpeg)"
        )
    return path


@dataclass(frozen=True)
class Stream:
    index: int  # the stream's index in the file
    kind: str  # "video" | "audio" | …
    codec: str
    rate: int = 0  # audio sample rate
    channels: int = 0
    bit_rate: int = 0
    start: float = 0.0
    width: int = 0
    height: int = 0
    fps: str = "30"  # video frame rate as ffmpeg writes it ("30000/1001")
    frames: int = 0  # video frames, 0 = unknown


@dataclass(frozen=True)
class Media:
    path: Path
    streams: tuple[Stream, ...]
    duration: float
    start: float

    def of(self, kind: str) -> list[Stream]:
        return [s for s in self.streams if s.kind == kind]


def _num(value: object, kind: type = float, default: float = 0):
    try:
        return kind(value)  # type: ignore[operator]
    except (TypeError, ValueError):
        return default


def probe(path: Path) -> Media:
    """The file's streams, or exit 2 with ffprobe's reason."""
    cmd = [binary("ffprobe"), "-v", "error", "-show_streams", "-show_format", "-of", "json",
           str(path)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["not a recording ffmpeg reads"])[-1]
        raise UsageError(f"cannot read {path}: {reason}")
    info = json.loads(done.stdout or "{}")
    streams = []
    for s in info.get("streams", []):
        fps = s.get("avg_frame_rate") or s.get("r_frame_rate") or "30"
        if _num(Fraction(fps) if "/" in fps and not fps.endswith("/0") else fps, float) <= 0:
            fps = s.get("r_frame_rate") or "30"
        streams.append(
            Stream(
                index=int(s.get("index", len(streams))),
                kind=str(s.get("codec_type", "")),
                codec=str(s.get("codec_name", "")),
                rate=_num(s.get("sample_rate"), int),
                channels=_num(s.get("channels"), int),
                bit_rate=_num(s.get("bit_rate"), int),
                start=_num(s.get("start_time"), float),
                width=_num(s.get("width"), int),
                height=_num(s.get("height"), int),
                fps=fps,
                frames=_num(s.get("nb_frames"), int),
            )
        )
    fmt = info.get("format", {})
    return Media(path, tuple(streams), _num(fmt.get("duration")), _num(fmt.get("start_time")))


def fps_value(fps: str) -> float:
    try:
        return float(Fraction(fps))
    except (ValueError, ZeroDivisionError):
        return 30.0


def run(cmd: list[str], what: str) -> None:
    """Run ffmpeg; a failure is one line with its last message."""
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CommandError(f"{what} failed: {_last_line(done.stderr)}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg gave no reason"


def read_audio(path: Path, stream: Stream) -> np.ndarray:
    """One audio stream decoded to float32 ``[channels, n]`` at its own rate."""
    cmd = [binary(), "-v", "error", "-nostdin", "-i", str(path), "-map", f"0:{stream.index}",
           "-f", "f32le", "-acodec", "pcm_f32le", "-ar", str(stream.rate),
           "-ac", str(stream.channels), "-"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode != 0:
        raise CommandError(f"decoding audio stream {stream.index} of {path} failed: "
                           + _last_line(done.stderr.decode(errors="replace")))  # fmt: skip
    data = np.frombuffer(done.stdout, dtype="<f4")
    n = data.size // stream.channels
    return data[: n * stream.channels].reshape(n, stream.channels).T.copy()


# Audio codecs each container takes as they are; anything else is re-encoded to the first.
AUDIO_KEEP = {
    ".mp4": ("aac", "mp3", "opus", "alac", "flac", "ac3"),
    ".mov": ("aac", "mp3", "alac", "pcm_s16le", "pcm_s24le", "pcm_f32le", "ac3"),
    ".mkv": ("aac", "opus", "flac", "mp3", "vorbis", "pcm_s16le", "pcm_s24le", "pcm_f32le",
             "ac3", "alac"),
    ".flv": ("aac", "mp3"),
    ".webm": ("opus", "vorbis"),
}  # fmt: skip
ENCODERS = {"opus": "libopus", "vorbis": "libvorbis", "mp3": "libmp3lame"}


AAC_PRIMING = 1024  # samples ffmpeg's AAC encoder puts before the first real one


def reencodes(ext: str, source_codec: str) -> bool:
    """Whether ``audio_codec_args`` writes AAC (re-encoded) for this container."""
    keep = AUDIO_KEEP.get(ext, ("aac",))
    return (source_codec if source_codec in keep else keep[0]) == "aac"


def audio_codec_args(ext: str, source_codec: str, bit_rate: int, out_index: int) -> list[str]:
    """Encoder arguments for output audio stream ``out_index``: the source's codec where the
    container takes it (and ffmpeg can encode it), else the container's usual one."""
    keep = AUDIO_KEEP.get(ext, ("aac",))
    codec = source_codec if source_codec in keep else keep[0]
    args = [f"-c:a:{out_index}", ENCODERS.get(codec, codec)]
    if codec in ("aac", "opus", "mp3", "vorbis", "ac3"):
        rate = max(128_000, bit_rate) if bit_rate else 192_000
        args += [f"-b:a:{out_index}", str(rate)]
    return args


class VideoReader:
    """The first video stream decoded to BGR frames through a pipe."""

    def __init__(self, path: Path, stream: Stream) -> None:
        self.w, self.h = stream.width, stream.height
        if self.w <= 0 or self.h <= 0:
            raise UsageError(f"{path}: its video stream has no picture size")
        cmd = [binary(), "-v", "error", "-nostdin", "-noautorotate", "-i", str(path),
               "-map", f"0:{stream.index}", "-f", "rawvideo", "-pix_fmt", "bgr24",
               "-fps_mode", "passthrough", "-"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.size = self.w * self.h * 3

    def __iter__(self):
        assert self.proc.stdout is not None
        while True:
            data = self.proc.stdout.read(self.size)
            if len(data) < self.size:
                return
            yield np.frombuffer(data, np.uint8).reshape(self.h, self.w, 3)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class VideoWriter:
    """Raw frames into ffmpeg's encoder; the audio of ``audio_from`` copied alongside."""

    def __init__(self, out: Path, w: int, h: int, fps: str, alpha: bool, encode: list[str],
                 audio_from: Path | None, audio: list[Stream], ext: str) -> None:  # fmt: skip
        cmd = [binary(), "-v", "error", "-nostdin", "-y", "-f", "rawvideo",
               "-pix_fmt", "bgra" if alpha else "bgr24", "-s", f"{w}x{h}", "-framerate", fps,
               "-i", "-"]  # fmt: skip
        if audio_from is not None and audio:
            cmd += ["-i", str(audio_from), "-map", "0:v"]
            for i, s in enumerate(audio):
                cmd += ["-map", f"1:{s.index}"]
                keep = s.codec in AUDIO_KEEP.get(ext, ())
                cmd += (
                    [f"-c:a:{i}", "copy"] if keep else audio_codec_args(ext, s.codec, s.bit_rate, i)
                )
        cmd += [*encode, str(out)]
        self.channels = 4 if alpha else 3
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=self._err)

    def write(self, frame: np.ndarray) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(np.ascontiguousarray(frame[..., : self.channels]).tobytes())
        except BrokenPipeError:
            self.close()  # raises with ffmpeg's reason

    def close(self, abort: bool = False) -> None:
        try:
            if self.proc.stdin and not self.proc.stdin.closed:
                with contextlib.suppress(BrokenPipeError):
                    self.proc.stdin.close()
            if abort:
                self.proc.kill()
            code = self.proc.wait()
            self._err.seek(0)
            text = self._err.read().decode(errors="replace")
        finally:
            self._err.close()
        if code != 0 and not abort:
            raise CommandError(f"encoding failed: {_last_line(text)}")
