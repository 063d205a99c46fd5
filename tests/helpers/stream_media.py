"""Media for the streaming scenario: a barcoded "game", a webcam clip with a known alpha and
a known A/V marker, and the analysis of what an RTMP receiver got.

The game carries its frame number as a 16-bit barcode in its top rows, so the receiving
side counts lost and repeated frames exactly. The webcam clip is a real portrait swaying
over a real room, composited here, so its alpha is known for every frame; a magenta patch
appears on the person's chest at the same media time as the first speech sample of its
(noisy) audio track, which is how A/V sync is read at the receiver.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.helpers.media import read_mono

DATA = Path(__file__).resolve().parents[1] / "data"  # in the repository: a fresh clone has it
FPS = 30
BITS = 16
BAR_ROWS = 16  # the barcode's height in canvas pixels: big enough to survive H.264
GAME_PHOTO = "car-2.jpg"
ROOM_PHOTO = "plants-1.jpg"
PERSON = "person-2.png"
NOISE = "fan.wav"  # a PC fan: what a streamer's mic hears
MARKER_RGB = (255, 0, 255)
RATE = 48000
RAW_VIDEO = ("-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")


# --- encoding ---------------------------------------------------------------------------
def _encode(path: Path, frames, size: tuple[int, int], audio: Path | None = None) -> None:
    """H.264 (near-lossless) from an iterable of RGB frames, with an optional WAV track."""
    w, h = size
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    cmd += ["-s", f"{w}x{h}", "-r", str(FPS), "-i", "-"]
    if audio is not None:
        cmd += ["-i", str(audio), "-c:a", "pcm_f32le"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-g", str(FPS)]
    cmd += ["-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for frame in frames:
        proc.stdin.write(np.ascontiguousarray(frame, np.uint8).tobytes())
    proc.stdin.close()
    if proc.wait(timeout=300) != 0:
        raise RuntimeError(f"ffmpeg failed to write {path}")


# --- the game: a panning photo with a frame-number barcode ------------------------------
def _photo(name: str, size: tuple[int, int]) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(DATA / "matte" / "backgrounds" / name))
    return cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


class Game:
    """The game clip's frames, reproducible at any index (the receiver compares against them)."""

    def __init__(self, size: tuple[int, int], seconds: float):
        self.size = size
        self.frames = int(seconds * FPS)
        w, h = size
        self.pan = w // 4
        self.photo = _photo(GAME_PHOTO, (w + self.pan, h))

    def frame(self, index: int) -> np.ndarray:
        w = self.size[0]
        # back and forth, so the loop point is no jump in the picture
        phase = index % self.frames
        x = round(self.pan * (1 - abs(2 * phase / self.frames - 1)))
        image = self.photo[:, x : x + w].copy()
        image[:BAR_ROWS] = barcode(index % self.frames, w)[None, :, None]
        return image

    def write(self, path: Path) -> Path:
        _encode(path, (self.frame(i) for i in range(self.frames)), self.size)
        return path


def barcode(number: int, width: int) -> np.ndarray:
    """One row of the barcode: BITS cells, most significant first, white = 1."""
    bits = (number >> np.arange(BITS - 1, -1, -1)) & 1
    cells = np.repeat(bits, -(-width // BITS))[:width]
    return np.where(cells, 235, 16).astype(np.uint8)


def read_barcodes(frames: np.ndarray) -> np.ndarray:
    """Frame numbers from [n, h, w, 3] frames (centre of each cell, rows 3..BAR_ROWS-3)."""
    w = frames.shape[2]
    band = frames[:, 3 : BAR_ROWS - 3].mean(axis=(1, 3))  # [n, w]
    cell = w / BITS
    centres = ((np.arange(BITS) + 0.5) * cell).astype(int)
    half = max(1, int(cell / 4))
    levels = np.stack([band[:, c - half : c + half].mean(axis=1) for c in centres], axis=1)
    bits = (levels > 125).astype(np.int64)
    return bits @ (1 << np.arange(BITS - 1, -1, -1))


# --- the webcam: a person swaying over a room, a marker and a speech onset --------------
@dataclass
class Webcam:
    """The webcam clip: frames, exact alpha per frame, the clean and noisy audio."""

    size: tuple[int, int]
    seconds: float = 12.0
    onset_s: float = 2.0  # marker and first speech sample, on a frame boundary
    snr_db: float = 5.0
    sway_px: int = 40

    def __post_init__(self) -> None:
        import cv2

        w, h = self.size
        self.frames = int(self.seconds * FPS)
        self.room = _photo(ROOM_PHOTO, self.size)
        fg = cv2.imread(str(DATA / "matte" / "foregrounds" / PERSON), cv2.IMREAD_UNCHANGED)
        ys, xs = np.nonzero(fg[:, :, 3])
        top = ys.min()
        fg = fg[top : top + int((ys.max() - top) * 0.6) + 1, xs.min() : xs.max() + 1]
        scale = min((w - 2 * self.sway_px) / fg.shape[1], 0.9 * h / fg.shape[0])
        size = (int(fg.shape[1] * scale), int(fg.shape[0] * scale))
        fg = cv2.resize(fg, size, interpolation=cv2.INTER_AREA)
        self.person = cv2.cvtColor(fg[:, :, :3], cv2.COLOR_BGR2RGB).astype(np.float32)
        self.person_alpha = fg[:, :, 3].astype(np.float32) / 255.0
        self.marker_box = self._chest_box()
        self.clean, self.noisy = self._audio()

    def _chest_box(self) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) in the person's own pixels: fully opaque, low and central."""
        fh, fw = self.person_alpha.shape
        side = max(8, fw // 7)
        cx, y1 = fw // 2, fh - 4
        box = (y1 - side, y1, cx - side // 2, cx + side // 2)
        assert (self.person_alpha[box[0] : box[1], box[2] : box[3]] > 0.99).all()
        return box

    def offset(self, index: int) -> tuple[int, int]:
        w, h = self.size
        fh, fw = self.person_alpha.shape
        dx = round(self.sway_px * np.sin(2 * np.pi * index / (6 * FPS)))
        return (w - fw) // 2 + dx, h - fh

    def alpha(self, index: int) -> np.ndarray:
        w, h = self.size
        x0, y0 = self.offset(index)
        fh, fw = self.person_alpha.shape
        full = np.zeros((h, w), np.float32)
        full[y0 : y0 + fh, x0 : x0 + fw] = self.person_alpha
        return full

    def marked(self, index: int) -> bool:
        return index >= round(self.onset_s * FPS)

    def frame(self, index: int) -> np.ndarray:
        x0, y0 = self.offset(index)
        fh, fw = self.person_alpha.shape
        person = self.person.copy()
        if self.marked(index):
            y_0, y_1, x_0, x_1 = self.marker_box
            person[y_0:y_1, x_0:x_1] = MARKER_RGB
        image = self.room.astype(np.float32)
        region = image[y0 : y0 + fh, x0 : x0 + fw]
        a = self.person_alpha[..., None]
        image[y0 : y0 + fh, x0 : x0 + fw] = a * person + (1 - a) * region
        return np.clip(image + 0.5, 0, 255).astype(np.uint8)

    def _audio(self) -> tuple[np.ndarray, np.ndarray]:
        """(clean, noisy) mono at 48 kHz: noise throughout, speech from `onset_s` on."""
        n = int(self.seconds * RATE)
        speech = _speech(n)
        clean = np.zeros(n, np.float32)
        start = int(self.onset_s * RATE)
        clean[start:] = speech[: n - start]
        noise = np.resize(read_mono(DATA / "audio" / "noise" / NOISE), n)
        voiced = clean[start:]
        gain = np.sqrt((voiced**2).mean() / (noise**2).mean() / 10 ** (self.snr_db / 10))
        noisy = clean + gain * noise
        scale = 0.5 / np.abs(noisy).max()
        return (clean * scale).astype(np.float32), (noisy * scale).astype(np.float32)

    def write(self, path: Path) -> Path:
        import soundfile as sf

        wav = path.with_suffix(".wav")
        sf.write(wav, np.stack([self.noisy, self.noisy], axis=1), RATE, subtype="FLOAT")
        _encode(path, (self.frame(i) for i in range(self.frames)), self.size, audio=wav)
        return path


def _speech(n: int) -> np.ndarray:
    """Real read speech, sentences back to back, starting at the first voiced sample."""
    parts, total, i = [], 0, 0
    while total < n:
        x = read_mono(DATA / "audio" / "speech" / f"spk1_snt{i % 6 + 1}.wav")
        if i == 0:
            envelope = np.convolve(np.abs(x), np.ones(240) / 240, mode="same")
            x = x[int(np.argmax(envelope > 0.1 * envelope.max())) :]
        parts.append(x)
        total += len(x)
        i += 1
    return np.concatenate(parts)[:n]


# --- what arrived ------------------------------------------------------------------------
@dataclass
class Received:
    codecs: dict[str, str]
    duration: float
    frames: np.ndarray  # [n, h, w, 3] RGB
    frame_times: np.ndarray  # seconds, stream time
    audio: np.ndarray  # [channels, samples]
    audio_start: float  # stream time of audio sample 0


def _probe(path: Path, *args: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        capture_output=True,
        check=True,
        timeout=120,
        text=True,
    ).stdout
    return json.loads(out)


def read_received(path: Path, size: tuple[int, int]) -> Received:
    """Decode the whole received file: every video frame with its time, the audio."""
    info = _probe(path, "-show_streams", "-show_format")
    codecs = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
    times = _probe(path, "-select_streams", "v:0", "-show_entries", "frame=pts_time")
    frame_times = np.array([float(f["pts_time"]) for f in times["frames"]])
    first_audio = _probe(
        path, "-select_streams", "a:0", "-show_entries", "frame=pts_time", "-read_intervals", "%+#1"
    )
    w, h = size
    video = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", *RAW_VIDEO],
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    frames = np.frombuffer(video, np.uint8).reshape(-1, h, w, 3)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-ac", "2", "-"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    audio = np.frombuffer(raw, np.float32).reshape(-1, 2).T.copy()
    return Received(
        codecs=codecs,
        duration=float(info["format"]["duration"]),
        frames=frames,
        frame_times=frame_times[: len(frames)],
        audio=audio,
        audio_start=float(first_audio["frames"][0]["pts_time"]),
    )


def frame_steps(numbers: np.ndarray, period: int) -> np.ndarray:
    """Barcode step between consecutive received frames (1 = the next frame, modulo the loop)."""
    return np.diff(numbers) % period


def marker_pixels(frames: np.ndarray) -> np.ndarray:
    """How many strongly magenta pixels each frame has (only the marker is that colour)."""
    f = frames.astype(np.int16)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    return ((r > 170) & (b > 170) & (g < 90)).sum(axis=(1, 2))


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    reference = reference - reference.mean()
    estimate = estimate - estimate.mean()
    target = reference * (estimate @ reference) / (reference @ reference)
    return float(10 * np.log10((target @ target) / ((estimate - target) @ (estimate - target))))


def locate(chunk: np.ndarray, reference: np.ndarray) -> int:
    """Offset of `chunk` inside `reference` (cross-correlation; reference longer than chunk)."""
    n = len(reference) + len(chunk)
    spec = np.fft.rfft(reference, n) * np.conj(np.fft.rfft(chunk, n))
    corr = np.fft.irfft(spec, n)[: len(reference) - len(chunk) + 1]
    return int(np.argmax(corr))
