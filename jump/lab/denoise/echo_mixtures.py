"""Echo mixtures: a streamer's voice plus a game's sound played by speakers into the mic.

Every mixture is deterministic (fixed seed) and at 48 kHz. The "game" is speech of other
speakers with effects (keys, street noise) under it; it goes through a speaker model
(high-pass, soft clipping) and a room impulse response, arrives ``delay_ms`` late (the
audio devices' latency) and is scaled to ``echo_db`` against the voice. The timeline:

    game only | double talk (voice over the game) | voice only (game paused) | game only

so ERLE (game-only parts), DT (voice SI-SDR in double talk) and NEAR (voice SI-SDR
with the game paused) come from one file. ``jump_at_s`` optionally moves the echo
``jump_ms`` later from that instant on (a device changing its latency mid-stream), for
the re-convergence figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jump.lab.denoise.mixtures import RATE, load

VOICE_RMS = 0.05  # about -26 dBFS while talking
GAME_RMS = 0.08  # what the game track carries (the reference; peaks stay below full scale)
SEGMENTS_S = (4.0, 6.0, 3.0, 3.0)  # game only, double talk, voice only, game only
VOICE = ("speech/spk1_snt1.wav", "speech/spk1_snt2.wav", "speech/spk1_snt3.wav")
GAME = ("speech/example1.wav", "speech/example5.wav", "speech/spk1_snt5.wav")
EFFECTS = ("noise/keys.wav", "noise/street.wav")


@dataclass(frozen=True)
class EchoSpec:
    name: str
    delay_ms: float
    echo_db: float  # echo level at the mic against the voice
    rir: str | None  # path under the audio folder, or None: synthetic room (seeded)
    seed: int = 0
    jump_at_s: float | None = None
    jump_ms: float = 100.0


@dataclass
class EchoMixture:
    spec: EchoSpec
    mic: np.ndarray  # what the microphone hears: voice + echo + a little self-noise
    reference: np.ndarray  # what the game plays (the OBS source), starting with the mic
    voice: np.ndarray  # the streamer alone (the target)
    echo: np.ndarray  # the game's echo alone, as it reaches the mic
    game_only: np.ndarray  # bool per sample
    double_talk: np.ndarray
    voice_only: np.ndarray


def synthetic_rir(seed: int, t60_s: float = 0.45, length_s: float = 0.6) -> np.ndarray:
    """An exponentially decaying noise tail after a direct path and a few early reflections."""
    rng = np.random.default_rng(seed)
    n = int(length_s * RATE)
    t = np.arange(n) / RATE
    h = rng.standard_normal(n) * np.exp(-6.9 * t / t60_s) * 0.08
    h[:200] = 0.0
    h[0] = 1.0
    for _ in range(6):
        h[int(rng.integers(100, int(0.03 * RATE)))] += float(rng.uniform(-0.5, 0.5))
    return h / np.sqrt(np.sum(h * h))


def speaker(x: np.ndarray) -> np.ndarray:
    """A small speaker: no bass below ~150 Hz and soft clipping on the peaks."""
    from scipy.signal import butter, sosfilt

    sos = butter(2, 150.0, "highpass", fs=RATE, output="sos")
    y = sosfilt(sos, x)
    drive = 2.0  # about 20 dB linear-to-distortion on the game: a small speaker pushed hard
    return np.tanh(drive * y) / drive


def _track(files: tuple[str, ...], audio_dir: Path, n: int) -> np.ndarray:
    parts = [load(audio_dir / f) for f in files]
    gap = np.zeros(int(0.25 * RATE))
    joined = np.concatenate([p for q in parts for p in (q, gap)])
    reps = -(-n // joined.size)
    return np.tile(joined, reps)[:n]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x) + 1e-20))


def build(spec: EchoSpec, audio_dir: Path, rir_dir: Path | None = None) -> EchoMixture:
    """Speech and effects from ``audio_dir`` (tests/data/audio ships them); a measured
    room from ``rir_dir`` (shared/data/audio) when the spec names one."""
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(spec.seed)
    seg = [int(s * RATE) for s in SEGMENTS_S]
    n = sum(seg)
    edges = np.cumsum([0, *seg])
    idx = np.arange(n)
    game_on = (idx < edges[2]) | (idx >= edges[3])
    voice_on = (idx >= edges[1]) & (idx < edges[3])

    game = _track(GAME, audio_dir, n)
    game *= 1.0 / _rms(game)
    effects = sum(load(audio_dir / f) for f in EFFECTS[:1]) if EFFECTS else 0.0
    fx = np.resize(effects, n)
    game += 0.5 * fx / _rms(fx)
    game *= GAME_RMS / _rms(game) * game_on
    ramp = np.minimum(1.0, np.abs(idx[:, None] - edges[None, 2:4]).min(axis=1) / (0.02 * RATE))
    game *= ramp  # the game pauses with 20 ms fades, no click

    voice = _track(VOICE, audio_dir, seg[1] + seg[2])
    voice = np.concatenate([np.zeros(edges[1]), voice, np.zeros(n - edges[3])])
    voice *= VOICE_RMS / _rms(voice[voice_on])

    rir = synthetic_rir(spec.seed) if spec.rir is None else load((rir_dir or audio_dir) / spec.rir)
    played = speaker(game)
    wet = fftconvolve(played, rir)[:n]
    d = int(spec.delay_ms * RATE / 1000.0)
    echo = np.concatenate([np.zeros(d), wet])[:n]
    if spec.jump_at_s is not None:
        j, dj = int(spec.jump_at_s * RATE), int(spec.jump_ms * RATE / 1000.0)
        late = np.concatenate([np.zeros(d + dj), wet])[:n]
        echo = np.where(idx < j, echo, late)
    echo_level = _rms(echo[game_on & (idx >= edges[0] + d)])
    echo *= VOICE_RMS * 10.0 ** (spec.echo_db / 20.0) / max(echo_level, 1e-12)
    noise = 10.0 ** (-70.0 / 20.0) * rng.standard_normal(n)
    mic = voice + echo + noise
    dt = (idx >= edges[1]) & (idx < edges[2])
    return EchoMixture(
        spec=spec,
        mic=mic.astype(np.float32),
        reference=game.astype(np.float32),
        voice=voice.astype(np.float32),
        echo=echo.astype(np.float32),
        game_only=game_on & ~voice_on & (idx >= d),
        double_talk=dt,
        voice_only=(idx >= edges[2]) & (idx < edges[3]),
    )


def specs(shared: bool) -> list[EchoSpec]:
    """The evaluation set: measured rooms (shared data) or seeded synthetic ones."""
    rirs = [f"rir/rir{i}.wav" for i in (1, 2, 3, 4)] if shared else [None] * 4
    grid = [(40.0, -6.0), (120.0, 0.0), (250.0, 6.0), (80.0, 3.0)]
    out = []
    for i, (rir, (delay, db)) in enumerate(zip(rirs, grid, strict=True)):
        out.append(EchoSpec(f"room{i + 1}-{delay:.0f}ms-{db:+.0f}dB", delay, db, rir, seed=i))
    return out
