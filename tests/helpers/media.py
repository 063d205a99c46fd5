"""Real test media for the OBS end-to-end tests, built from tests/data (ships with Jump)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data"
SPEECH = DATA / "audio" / "speech"
NOISE = DATA / "audio" / "noise"
MATTE = DATA / "matte"


def read_mono(path: Path, rate: int = 48000) -> np.ndarray:
    import soundfile as sf
    from scipy.signal import resample_poly

    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if sr != rate:
        g = np.gcd(sr, rate)
        mono = resample_poly(mono, rate // g, sr // g).astype(np.float32)
    return mono


def speech_48k(seconds: float = 6.0) -> np.ndarray:
    """Real read speech at 48 kHz, sentences concatenated, [n] float32. Past 16 s the
    sentences repeat, which makes a position in the signal ambiguous: keep tests below."""
    n = int(seconds * 48000)
    parts, total, i = [], 0, 0
    while total < n:
        x = read_mono(SPEECH / f"spk1_snt{i % 6 + 1}.wav")
        parts.append(x)
        total += len(x)
        i += 1
    return np.concatenate(parts)[:n]


def write_stereo_wav(path: Path, left: np.ndarray, right: np.ndarray | None = None) -> np.ndarray:
    """Float32 48 kHz stereo WAV, so OBS neither resamples nor requantises it."""
    import soundfile as sf

    right = left if right is None else right
    stereo = np.stack([left, right], axis=1).astype(np.float32)
    sf.write(path, stereo, 48000, subtype="FLOAT")
    return stereo.T.copy()


def read_recording(path: Path, channels: int = 2) -> np.ndarray:
    """The audio track of an OBS recording as float32 [channels, n] (via ffmpeg)."""
    import subprocess

    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return np.frombuffer(raw, np.float32).reshape(-1, channels).T.copy()


def locate(chunk: np.ndarray, reference: np.ndarray) -> int:
    """Offset of `chunk` inside the looping `reference` (circular cross-correlation)."""
    n = len(reference)
    spec = np.fft.rfft(reference, 2 * n) * np.conj(np.fft.rfft(chunk, 2 * n))
    corr = np.fft.irfft(spec, 2 * n)[:n]
    return int(np.argmax(corr))


def loop_slice(reference: np.ndarray, offset: int, length: int) -> np.ndarray:
    idx = (offset + np.arange(length)) % len(reference)
    return reference[idx]


def composite(
    fg_name: str, bg_name: str, size: tuple[int, int], crop: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """An RGB picture of a person over a real background, and its exact alpha (uint8).

    `crop` keeps that fraction of the cut-out from the top of the person (0.6 ≈ a webcam's
    head-and-shoulders framing); the person stands on the bottom edge, centred.
    """
    import cv2

    w, h = size
    fg = cv2.imread(str(MATTE / "foregrounds" / fg_name), cv2.IMREAD_UNCHANGED)
    ys, xs = np.nonzero(fg[:, :, 3])
    top, bottom = ys.min(), ys.min() + int((ys.max() - ys.min()) * crop)
    fg = fg[top : bottom + 1, xs.min() : xs.max() + 1]
    bg = cv2.resize(
        cv2.imread(str(MATTE / "backgrounds" / bg_name)), (w, h), interpolation=cv2.INTER_AREA
    )
    scale = min(w / fg.shape[1], 0.9 * h / fg.shape[0])
    fw, fh = int(fg.shape[1] * scale), int(fg.shape[0] * scale)
    fg = cv2.resize(fg, (fw, fh), interpolation=cv2.INTER_AREA)
    x0, y0 = (w - fw) // 2, h - fh
    alpha = np.zeros((h, w), np.float32)
    alpha[y0 : y0 + fh, x0 : x0 + fw] = fg[:, :, 3] / 255.0
    fg_full = np.zeros((h, w, 3), np.float32)
    fg_full[y0 : y0 + fh, x0 : x0 + fw] = fg[:, :, :3]
    image = alpha[..., None] * fg_full + (1 - alpha[..., None]) * bg.astype(np.float32)
    rgb = cv2.cvtColor(np.clip(image + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)
    return rgb, np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)


def background(bg_name: str, size: tuple[int, int]) -> np.ndarray:
    """A background photo resized to `size`, RGB uint8 (the "game" under the webcam)."""
    import cv2

    bgr = cv2.resize(
        cv2.imread(str(MATTE / "backgrounds" / bg_name)), size, interpolation=cv2.INTER_AREA
    )
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    a, t = alpha > 127, truth > 127
    return float((a & t).sum() / max(1, (a | t).sum()))


def write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
