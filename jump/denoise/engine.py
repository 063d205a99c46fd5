"""The streaming denoiser: any chunk size in, the same number of samples out, fixed latency.

Signal path per 10 ms hop (20 ms periodic sqrt-Hann window, 50 % overlap, which sums to
exactly one so a gain of 1 reconstructs the input up to float rounding):

    frame -> FFT -> power (mean over channels when linked)
          -> neural mask (NSNet2; all hops of a push in one call, or one per hop for int8)
          -> SPP noise tracker -> decision-directed LSA gain (classical; in "both", a
             post-filter on the masked spectrum)
          -> speech gate (Silero + per-hop SNR) -> floor and pause attenuation -> dry/wet
          -> inverse FFT -> overlap-add

Latency is ``window - 1`` samples (959 at 48 kHz, just under 20 ms): the least that lets
every push return exactly as many samples as it got, whatever the chunk size.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from jump.denoise.gain import DecisionDirectedGain
from jump.denoise.neural import GridMap, MaskModel, feature_scale
from jump.denoise.noise import NoiseTracker
from jump.denoise.settings import DenoiseSettings
from jump.denoise.vad import SileroVad, SpeechGate

log = logging.getLogger("jump.denoise")

HOP_S = 0.010
MAX_HOPS = 32  # hops processed per block; bounds memory for 1e5-sample pushes
SAMPLE_LIMIT = 64.0  # |x| beyond this is garbage, not audio; clamp so the maths stays finite
SPEECH_BAND_HZ = (200.0, 4000.0)
FAST_SNR = 10.0  # speech-band SNR after the gain that counts as speech within one hop
POST_FLOOR = 0.7  # the "both" post-filter removes at most 3 dB


@dataclass
class _Derived:
    """Per-settings constants the hot path reads."""

    neural: bool
    classical: bool
    speech_floor: float
    pause_extra_db: float
    mix: float
    threshold: float
    rows: int
    vad: bool


@dataclass
class _Neural:
    """A freshly loaded mask model with its grid map, or the reason it could not load."""

    model: MaskModel | None
    grid: GridMap | None
    scale: np.float32
    error: str


def _fft_size(rate: int, window: int, model_id: str) -> int:
    """FFT length whose bin spacing matches the model's (46.875 Hz for NSNet2-48k).

    At 44.1 kHz a 1024-point FFT puts bins 43 Hz apart; interpolating those onto the
    model's grid alternates sharp and smeared harmonics and measurably hurt quality. The
    engine zero-pads to the nearest length with factors 2, 3, 5 and 7 only (945 at 44.1 kHz,
    0.4 % off), which pocketfft runs about as fast as a power of two.
    """
    from jump.catalogue import get_entry

    try:
        spec = get_entry(model_id).spec
        ideal = round(int(spec["n_fft"]) * rate / int(spec["sample_rate"]))
    except Exception:
        return 1 << (window - 1).bit_length()

    def smooth(n: int) -> bool:
        for p in (2, 3, 5, 7):
            while n % p == 0:
                n //= p
        return n == 1

    candidates = [n for n in range(ideal - 16, ideal + 17) if n >= window and smooth(n)]
    return min(candidates, key=lambda n: abs(n - ideal)) if candidates else max(window, ideal)


def _sqrt_hann(n: int) -> np.ndarray:
    """Periodic sqrt-Hann: w^2[k] + w^2[k + n/2] == 1, the perfect-reconstruction condition."""
    k = np.arange(n)
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)).astype(np.float32)


class Denoiser:
    """Streaming noise suppressor for planar float32 audio; see the module docstring."""

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        settings: DenoiseSettings | None = None,
        models_dir: str | None = None,
    ) -> None:
        if int(channels) < 1 or int(sample_rate) < 1000:
            raise ValueError(f"unsupported format: {sample_rate} Hz, {channels} channels")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.models_dir = models_dir
        self.hop = max(1, round(self.sample_rate * HOP_S))
        self.window = 2 * self.hop
        self.settings = (settings or DenoiseSettings()).sanitised()
        self.n_fft = _fft_size(self.sample_rate, self.window, self.settings.neural_model)
        self.bins = self.n_fft // 2 + 1
        self.latency_samples = self.window - 1
        self._win = _sqrt_hann(self.window)
        hz = np.arange(self.bins) * self.sample_rate / self.n_fft
        lo, hi = np.searchsorted(hz, SPEECH_BAND_HZ)
        self._band = slice(int(lo), int(hi))

        c, h = self.channels, self.hop
        self._in = np.zeros((c, self.window - h + MAX_HOPS * h), dtype=np.float32)
        self._out = np.zeros((c, (h - 1) + MAX_HOPS * h + h), dtype=np.float32)
        self._tail = np.zeros((c, self.window - h), dtype=np.float32)
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self.trace: list[tuple[float, bool, float]] | None = None  # (Silero p, fast, gate)
        self._pending: tuple[DenoiseSettings, _Neural | None] | None = None

        self._model: MaskModel | None = None
        self._model_error = ""
        self._vad: SileroVad | None = None
        self._vad_error = ""
        self._install(self._load_models(self.settings))
        self._gate = SpeechGate(self.hop / self.sample_rate)
        self._rows = 0
        self._derived = self._derive(self.settings)
        self.reset()
        log.info("denoise: %s", self.status)

    # ---- public API -------------------------------------------------------------------

    @property
    def status(self) -> str:
        d = self._derived
        wants_model = self.settings.method != "classical"
        parts = []
        if d.neural:
            parts.append(f"neural {self._model.id}")
        if d.classical:
            parts.append("classical")
        stages = " + ".join(parts)
        vad = f"VAD {self.settings.vad_model}" if d.vad else "energy VAD"
        text = f"{stages}, {vad}, {self.sample_rate} Hz x{self.channels}, latency "
        text += f"{1000.0 * self.latency_samples / self.sample_rate:.1f} ms"
        if wants_model and not d.neural:
            text = f"classical only: {self._model_error}; {text}"
        if self.settings.vad_model and self._vad is None:
            text += f"; VAD model unavailable: {self._vad_error}"
        return text

    @property
    def neural_active(self) -> bool:
        """True when the neural mask is in the signal path now."""
        return self._derived.neural

    def update(self, settings: DenoiseSettings) -> None:
        """Take new settings; models load here (the caller's thread), the rest at the next push."""
        new = settings.sanitised()
        neural = self._load_models(new)
        with self._lock:
            self._pending = (new, neural)

    def push(self, x: Any) -> np.ndarray:
        """Process planar ``[channels, n]`` float audio; returns ``[channels, n]`` float32."""
        try:
            return self._push(x)
        except Exception:  # the audio thread must never see an exception
            if "crash" not in self._warned:
                self._warned.add("crash")
                log.exception("denoise: internal error; passing this chunk through")
            return self._unprocessed(x)

    def _unprocessed(self, x: Any) -> np.ndarray:
        """The input itself (finite, right shape) when processing failed: the voice keeps
        going, 20 ms early for this one chunk, rather than going silent."""
        n = int(np.shape(x)[-1]) if np.ndim(x) else 0
        try:
            out = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
            if out.shape == (self.channels, n):
                return out
        except Exception:
            pass
        return np.zeros((self.channels, n), dtype=np.float32)

    def flush(self) -> np.ndarray:
        """The last ``latency_samples`` of output (pushes silence through)."""
        return self.push(np.zeros((self.channels, self.latency_samples), dtype=np.float32))

    def reset(self) -> None:
        """Forget all signal state (stream restart, timestamp jump); settings stay."""
        h = self.hop
        self._in[:] = 0.0
        self._fill = self.window - h
        self._out[:] = 0.0
        self._out_len = h - 1
        self._tail[:] = 0.0
        self._hops = 0
        self._vad_ends: list[int] = []
        self._vad_probs: list[float] = []
        self._vad_p = 0.0
        self._gate.reset()
        self._rows = 0  # rebuilds the per-row state below
        self._apply(self.settings)
        if self._vad is not None:
            self._vad.reset()

    # ---- settings and models ----------------------------------------------------------

    def _load_models(self, s: DenoiseSettings) -> _Neural | None:
        """Load what the settings need and is not loaded yet; None when nothing changes."""
        from jump.catalogue import find_model, get_entry

        if s.vad_model and self._vad is None:
            try:
                self._vad = SileroVad(find_model(s.vad_model, self.models_dir), self.sample_rate)
                self._vad_error = ""
            except Exception as exc:
                self._vad_error = f"{s.vad_model}: {exc}".replace("\n", " ")
                log.warning("denoise: Silero VAD off, energy VAD only (%s)", self._vad_error)
        if s.method != "classical" and (self._model is None or self._model.id != s.neural_model):
            try:
                entry = get_entry(s.neural_model)
                rows = 1 if s.linked else self.channels
                m = MaskModel(entry, find_model(entry.id, self.models_dir), rows)
                grid = GridMap(self.sample_rate, self.n_fft, m.sample_rate, m.n_fft)
                return _Neural(m, grid, np.float32(feature_scale(self.window, m.window)), "")
            except Exception as exc:
                error = f"{s.neural_model}: {exc}".replace("\n", " ")
                log.warning("denoise: neural stage off, classical only (%s)", error)
                return _Neural(None, None, np.float32(1.0), error)
        return None

    def _install(self, neural: _Neural | None) -> None:
        if neural is not None:
            self._model, self._map, self._scale = neural.model, neural.grid, neural.scale
            self._model_error = neural.error
            self._rows = 0  # the new model's state must match the rows

    def _derive(self, s: DenoiseSettings) -> _Derived:
        neural = s.method in ("neural", "both") and self._model is not None
        return _Derived(
            neural=neural,
            classical=s.method in ("classical", "both") or not neural,
            speech_floor=10.0 ** (-s.speech_db / 20.0),
            pause_extra_db=s.strength_db - s.speech_db,
            mix=s.mix,
            threshold=s.vad_threshold,
            rows=1 if s.linked else self.channels,
            vad=bool(s.vad_model) and self._vad is not None,
        )

    def _apply(self, s: DenoiseSettings) -> None:
        self.settings = s
        self._derived = d = self._derive(s)
        self._gate.configure(s.grace_ms, s.release_ms)
        if d.rows != self._rows:
            self._rows = d.rows
            hop_s = self.hop / self.sample_rate
            self._tracker = NoiseTracker(d.rows, self.bins, hop_s)
            self._dd = DecisionDirectedGain(d.rows, self.bins)
            self._post_tracker = NoiseTracker(d.rows, self.bins, hop_s)
            self._post_dd = DecisionDirectedGain(d.rows, self.bins)
            if self._model is not None:
                self._model.resize(d.rows)

    # ---- streaming --------------------------------------------------------------------

    def _push(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2:
            raise ValueError(f"expected [channels, n] audio, got shape {x.shape}")
        if x.shape[0] != self.channels:
            self._warn_once("channels", f"got {x.shape[0]} channels, expected {self.channels}")
            fixed = np.zeros((self.channels, x.shape[1]), dtype=np.float32)
            k = min(self.channels, x.shape[0])
            fixed[:k] = x[:k]
            x = fixed
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._install(pending[1])
            self._apply(pending[0])

        n = x.shape[1]
        y = np.empty((self.channels, n), dtype=np.float32)
        h, history = self.hop, self.window - self.hop
        pos = 0
        while pos < n:
            m = min(n - pos, self._in.shape[1] - self._fill)
            dst = self._in[:, self._fill : self._fill + m]
            dst[:] = x[:, pos : pos + m]
            self._sanitise(dst)
            if self._derived.vad:
                mono = np.add.reduce(dst, axis=0) * (1.0 / self.channels)
                ends, probs = self._vad.feed(mono)
                self._vad_ends.extend(ends.tolist())
                self._vad_probs.extend(probs.tolist())
            self._fill += m
            hops = (self._fill - history) // h
            if hops:
                self._process(hops)
                keep = self._fill - hops * h
                self._in[:, :keep] = self._in[:, hops * h : self._fill]
                self._fill = keep
            y[:, pos : pos + m] = self._out[:, :m]
            rest = self._out_len - m
            self._out[:, :rest] = self._out[:, m : self._out_len]
            self._out_len = rest
            pos += m
        return y

    def _sanitise(self, block: np.ndarray) -> None:
        # One reduction finds NaN/Inf (a NaN or Inf anywhere makes the sum non-finite).
        with np.errstate(invalid="ignore", over="ignore"):
            total = float(np.add.reduce(block, axis=None))
        if not math.isfinite(total):
            if not np.isfinite(block).all():
                self._warn_once("nonfinite", "NaN/Inf in the input were replaced by silence")
            np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        np.minimum(block, SAMPLE_LIMIT, out=block)
        np.maximum(block, -SAMPLE_LIMIT, out=block)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("denoise: %s", message)

    def _process(self, hops: int) -> None:
        h, n = self.hop, self.window
        d = self._derived
        # [channels, hops, window] view of the input buffer; frames overlap by half.
        s_c, s_t = self._in.strides
        frames = np.lib.stride_tricks.as_strided(
            self._in, (self.channels, hops, n), (s_c, h * s_t, s_t), writeable=False
        )
        spec = scipy.fft.rfft(frames * self._win, n=self.n_fft, axis=-1)
        power = spec.real * spec.real + spec.imag * spec.imag
        if d.rows == 1 and self.channels > 1:
            rows_power = np.add.reduce(power, axis=0, keepdims=True) * (1.0 / self.channels)
        else:
            rows_power = power

        mask = None
        if d.neural:
            m = self._model
            feats = self._map.to_model(rows_power * self._scale, m.power_floor)
            np.maximum(feats, m.power_floor, out=feats)
            np.log10(feats, out=feats)
            mask = m(feats.astype(np.float32, copy=False))
            mask = np.minimum(np.maximum(self._map.from_model(mask), m.min_gain), 1.0)

        gains = np.empty(rows_power.shape, dtype=np.float32)
        pause_db = d.pause_extra_db
        for t in range(hops):
            p = rows_power[:, t].astype(np.float64)
            noise = self._tracker.update(p)
            if mask is None:
                g = self._dd(p, noise)
            else:
                g = mask[:, t].astype(np.float64)
                if d.classical:
                    # "both": a classical post-filter on the model's output trims the
                    # stationary residual it leaves; its floor keeps it from adding artefacts.
                    residual = g * g * p
                    post = self._post_dd(residual, self._post_tracker.update(residual))
                    g *= np.maximum(post, POST_FLOOR)
            confirmed, fast = self._speech(p, noise, g, self._hops + t)
            gate = self._gate.step(confirmed, fast)
            if self.trace is not None:
                self.trace.append((self._vad_p, fast, gate))
            # No bin is cut by more than speech_db; in pauses the gate takes the whole frame
            # down by up to (strength_db - speech_db) more, with a smooth release.
            np.maximum(g, d.speech_floor, out=g)
            if gate < 1.0:
                g *= 10.0 ** (-(1.0 - gate) * pause_db / 20.0)
            gains[:, t] = g
        self._hops += hops
        if d.mix < 1.0:
            gains = d.mix * gains + (1.0 - d.mix)

        spec *= gains
        out = scipy.fft.irfft(spec, n=self.n_fft, axis=-1)[..., :n]
        out *= self._win
        ola = out[:, :, :h].copy()
        ola[:, 0] += self._tail
        ola[:, 1:] += out[:, :-1, h:]
        self._tail[:] = out[:, -1, h:]
        self._out[:, self._out_len : self._out_len + hops * h] = ola.reshape(self.channels, -1)
        self._out_len += hops * h

    def _speech(
        self, power: np.ndarray, noise: np.ndarray, gain: np.ndarray, hop: int
    ) -> tuple[bool, bool]:
        """(Silero says speech, fast detector says speech) for the hop ending at ``hop``."""
        band = self._band
        g2 = gain[:, band] ** 2
        kept = float(np.vdot(g2, power[:, band]))
        fast = kept > FAST_SNR * float(np.vdot(g2, noise[:, band]))
        if not self._derived.vad:
            return fast, fast
        end = (hop + 1) * self.hop
        while self._vad_ends and self._vad_ends[0] <= end:
            self._vad_ends.pop(0)
            self._vad_p = self._vad_probs.pop(0)
        return self._vad_p >= self._derived.threshold, fast
