"""The streaming denoiser: any chunk size in, the same number of samples out, fixed latency.

Signal path per 10 ms hop (20 ms window, 50 % overlap; the window is the one the model's
stage asks for, periodic sqrt-Hann by default, and sums to exactly one so a gain of 1
reconstructs the input up to float rounding):

    frame -> FFT -> power (mean over channels when linked) -> SPP noise tracker
          -> stages (jump/denoise/stages): a model's mask or spectrum, a classical
             LSA gain, or the model then a classical post-filter ("both")
          -> speech gate (Silero + per-hop SNR) -> floor and pause attenuation -> dry/wet
          -> inverse FFT -> overlap-add

Latency is ``window - 1`` samples (959 at 48 kHz, just under 20 ms): the least that lets
every push return exactly as many samples as it got, whatever the chunk size; a stage
with lookahead adds its hops, and so does the gate's optional onset look-ahead.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from jump.denoise import auto
from jump.denoise import stages as stage_registry
from jump.denoise.echo.engine_io import EchoInput
from jump.denoise.gating import SpeechGate
from jump.denoise.guard import as_planar, sanitise, unprocessed
from jump.denoise.noise import NoiseTracker
from jump.denoise.settings import DenoiseSettings
from jump.denoise.stages import Stage, StageContext, StageInput
from jump.denoise.stft import WINDOWS, Framing, HopDelay
from jump.denoise.vad import SileroVad
from jump.probe import Probe

log = logging.getLogger("jump.denoise")

HOP_S = 0.010
MAX_HOPS = 32  # hops processed per block; bounds memory for 1e5-sample pushes


@dataclass
class _Derived:
    """Per-settings constants the hot path reads."""

    chain: list[Stage]
    neural: bool
    rows: int
    vad: bool

    @property
    def lookahead(self) -> int:
        return sum(s.lookahead_hops for s in self.chain)


@dataclass
class _Loaded:
    """A freshly built model stage with the framing it wants, or the reason it failed."""

    stage: Stage | None
    framing: Framing | None
    error: str
    note: str = ""  # how the model was chosen: the auto decision or a fallback


class Denoiser(EchoInput):
    """Streaming noise suppressor for planar float32 audio; see the module docstring.

    Public surface: ``push`` (= ``process``), ``flush``, ``update``, ``reset``,
    ``latency_samples``, ``status`` and ``neural_active``; a ``Probe`` passed in times the
    stages and can record the gate's decisions.
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        settings: DenoiseSettings | None = None,
        models_dir: str | None = None,
        probe: Probe | None = None,
    ) -> None:
        if int(channels) < 1 or int(sample_rate) < 1000:
            raise ValueError(f"unsupported format: {sample_rate} Hz, {channels} channels")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.models_dir = models_dir
        self.probe = probe
        self.hop = max(1, round(self.sample_rate * HOP_S))
        self.window = 2 * self.hop
        self.settings = (settings or DenoiseSettings()).sanitised()
        self._gate = SpeechGate(self.hop, self.sample_rate)
        self._set_framing(self._framing_of(self.settings.neural_model))

        c, h = self.channels, self.hop
        self._in = np.zeros((c, self.window - h + MAX_HOPS * h), dtype=np.float32)
        self._out = np.zeros((c, (h - 1) + MAX_HOPS * h + h), dtype=np.float32)
        self._tail = np.zeros((c, self.window - h), dtype=np.float32)
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._pending: tuple[DenoiseSettings, _Loaded | None] | None = None

        self._model: Stage | None = None
        self._model_error = ""
        self._model_note = ""
        self._requested = ""  # the neural_model setting the loaded stage answers
        self._vad: SileroVad | None = None
        self._vad_error = ""
        self._rows = 0
        self._install(self._load_models(self.settings))
        self.reset()
        log.info("denoise: %s", self.status)

    # ---- public API -------------------------------------------------------------------

    @property
    def latency_samples(self) -> int:
        """Samples between input and output: the window, plus the stages' and the gate's
        look-ahead."""
        return self.window - 1 + (self._derived.lookahead + self._gate.onset) * self.hop

    @property
    def status(self) -> str:
        d = self._derived
        wants_model = self.settings.method != "classical"
        stages = " + ".join(
            f"neural {s.name}" if s is self._model else "classical" for s in d.chain
        )
        vad = f"VAD {self.settings.vad_model}" if d.vad else "per-hop SNR detector"
        text = f"{stages}, {vad}, {self.sample_rate} Hz x{self.channels}, latency "
        text += f"{1000.0 * self.latency_samples / self.sample_rate:.1f} ms"
        if wants_model and not d.neural:
            text = f"classical only: {self._model_error}; {text}"
        elif d.neural and self._model_note:
            text += f"; {self._model_note}"
        if self.settings.vad_model and self._vad is None:
            text += f"; VAD model unavailable: {self._vad_error}"
        text += self._echo_suffix
        return text

    @property
    def model_name(self) -> str:
        """The neural stage running now ("deepfilternet3", "nsnet2-48k-int8"), or "classical"."""
        return self._model.name if self._derived.neural else "classical"

    @property
    def model_note(self) -> str:
        """How that model came to run: the auto decision, a fallback and why ("" if as set)."""
        return self._model_note if self._derived.neural else self._model_error

    @property
    def neural_active(self) -> bool:
        """True when the neural stage is in the signal path now."""
        return self._derived.neural

    def update(self, settings: DenoiseSettings) -> None:
        """Take new settings; models load here (the caller's thread), the rest at the next push."""
        new = settings.sanitised()
        loaded = self._load_models(new)
        with self._lock:
            self._pending = (new, loaded)

    def push(self, x: Any, reference: Any = None) -> np.ndarray:
        """Planar ``[channels, n]`` float audio (and ``reference``: see echo/) -> float32."""
        try:
            return self._push(x, reference)
        except Exception:  # the audio thread must never see an exception
            if "crash" not in self._warned:
                self._warned.add("crash")
                log.exception("denoise: internal error; passing this chunk through")
            return unprocessed(x, self.channels)

    process = push

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
        self._delays: dict[str, HopDelay] = {}
        self._gate.reset()
        self._reset_echo()
        self._rows = 0  # rebuilds the per-row state below
        self._apply(self.settings)
        if self._vad is not None:
            self._vad.reset()

    # ---- settings, framing and stages -------------------------------------------------

    def _framing_of(self, model_id: str) -> Framing:
        from jump.catalogue import get_entry

        try:
            entry = get_entry(model_id)
        except Exception:
            entry = None
        return stage_registry.framing_for(entry, self.sample_rate, self.window)

    def _set_framing(self, framing: Framing) -> None:
        self.framing = framing
        self.n_fft = framing.n_fft
        self.bins = self.n_fft // 2 + 1
        self._win = WINDOWS[framing.window_fn](self.window)
        self._gate.set_bins(self.n_fft)

    def _context(self, framing: Framing, rows: int, provider: str = "cpu") -> StageContext:
        return StageContext(self.sample_rate, self.hop, self.window, framing.n_fft, rows, provider)

    def _load_models(self, s: DenoiseSettings) -> _Loaded | None:
        """Load what the settings need and is not loaded yet; None when nothing changes."""
        from jump.catalogue import find_model

        if s.vad_model and self._vad is None:
            try:
                self._vad = SileroVad(find_model(s.vad_model, self.models_dir), self.sample_rate)
                self._vad_error = ""
            except Exception as exc:
                self._vad_error = f"{s.vad_model}: {exc}".replace("\n", " ")
                log.warning("denoise: Silero VAD off, per-hop SNR detector (%s)", self._vad_error)
        if s.method != "classical" and (self._model is None or self._requested != s.neural_model):
            self._requested = s.neural_model
            choice = auto.effective(s.neural_model, lambda model_id: self._build(model_id, s))
            return _Loaded(choice.stage, choice.framing, choice.error, choice.note)
        return None

    def _build(self, model_id: str, s: DenoiseSettings) -> tuple[Stage, Framing]:
        from jump.catalogue import find_model, get_entry

        entry = get_entry(model_id)
        kind = stage_registry.stage_type(str(entry.type))
        framing = kind.framing(entry, self.sample_rate, self.window)
        ctx = self._context(framing, 1 if s.linked else self.channels, s.provider)
        return kind.create(ctx, entry, find_model(entry.id, self.models_dir)), framing

    def _install(self, loaded: _Loaded | None) -> None:
        if loaded is None:
            return
        self._model, self._model_error = loaded.stage, loaded.error
        self._model_note = loaded.note
        if loaded.framing is not None and loaded.framing != self.framing:
            # a model framed differently: the STFT and all spectral state start over
            self._set_framing(loaded.framing)
            self._tail[:] = 0.0
            self._delays = {}
        self._rows = 0  # the new model's state must match the rows

    def _derive(self, s: DenoiseSettings) -> _Derived:
        neural = s.method in ("neural", "both") and self._model is not None
        if not neural:
            chain = [self._classical]
        elif s.method == "both":
            chain = [self._model, self._post]
        else:
            chain = [self._model]
        return _Derived(
            chain=chain,  # type: ignore[arg-type]
            neural=neural,
            rows=1 if s.linked else self.channels,
            vad=bool(s.vad_model) and self._vad is not None,
        )

    def _apply(self, s: DenoiseSettings) -> None:
        self.settings = s
        rows = 1 if s.linked else self.channels
        if rows != self._rows:
            self._rows = rows
            ctx = self._context(self.framing, rows)
            self._tracker = NoiseTracker(rows, self.bins, ctx.hop_s)
            self._classical = stage_registry.stage_type("classical").create(ctx, None, None)
            self._post = stage_registry.stage_type("classical-post").create(ctx, None, None)
            if self._model is not None:
                self._model.resize(rows)
        if self._model is not None:  # a stage may limit its own attenuation (DeepFilterNet3)
            self._model.configure(s.strength_db)
        self._derived = d = self._derive(s)
        self._gate.configure(s, d.vad)

    # ---- streaming --------------------------------------------------------------------

    def _push(self, x: Any, reference: Any = None) -> np.ndarray:
        x = as_planar(x, self.channels, self._warn_once)
        ref = self._reference(reference, x.shape[1])
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
            sanitise(dst, self._warn_once)
            self._echo_write(ref, pos, self._fill, dst)
            if self._derived.vad:
                mono = np.add.reduce(dst, axis=0) * (1.0 / self.channels)
                if self.probe is None:
                    ends, probs = self._vad.feed(mono)
                else:
                    with self.probe.stage("vad"):
                        ends, probs = self._vad.feed(mono)
                self._gate.add_vad(ends, probs)
            self._fill += m
            hops = (self._fill - history) // h
            if hops:
                self._process(hops)
                keep = self._fill - hops * h
                self._in[:, :keep] = self._in[:, hops * h : self._fill]
                self._echo_keep(hops * h, self._fill)
                self._fill = keep
            y[:, pos : pos + m] = self._out[:, :m]
            rest = self._out_len - m
            self._out[:, :rest] = self._out[:, m : self._out_len]
            self._out_len = rest
            pos += m
        return y

    def _delay(self, key: str, x: np.ndarray, lag: int) -> np.ndarray:
        delay = self._delays.get(key)
        if delay is None or delay.lag != lag:
            delay = self._delays[key] = HopDelay(lag)
        return delay(x)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("denoise: %s", message)

    def _process(self, hops: int) -> None:
        h, n = self.hop, self.window
        d = self._derived
        echo = self._cancel_echo(hops)  # the new hops become the mic minus the echo estimate
        spec = scipy.fft.rfft(self._frames(self._in, hops), n=self.n_fft, axis=-1)
        power = spec.real * spec.real + spec.imag * spec.imag
        linked = d.rows == 1 and self.channels > 1
        if linked:
            rows_power = np.add.reduce(power, axis=0, keepdims=True) * (1.0 / self.channels)
        else:
            rows_power = power
        noise = np.empty(rows_power.shape)
        for t in range(hops):
            noise[:, t] = self._tracker.update(rows_power[:, t].astype(np.float64))

        rows_spec = None
        if any(s.needs_spectrum for s in d.chain):
            rows_spec = spec.mean(axis=0, keepdims=True) if linked else spec
        echo_gain = self._echo_gains(echo, hops, rows_power, linked)
        block = StageInput(rows_power, noise, rows_spec)
        for stage in d.chain:
            if self.probe is None:
                out = stage(block)
            else:
                with self.probe.stage(stage.name):
                    out = stage(block)
            block.gain = out.gain
        # A stage L hops late speaks for the frame L hops back: gate it and mix it with that.
        lag = d.lookahead
        spec = self._delay("spec", spec, lag + self._gate.onset)  # the dry frames wait too
        if lag:
            rows_power = self._delay("power", rows_power, lag)
            noise = self._delay("noise", noise, lag)
        gain = out.gain
        if out.spectrum is not None:
            # as a complex gain on the (delayed) stage input, so that linking, the floor,
            # the gate and the mix apply to it as to a real gain
            dry = self._delay("rows_spec", rows_spec, lag)
            energy = np.maximum((dry * np.conj(dry)).real, 1e-24)
            gain = (out.spectrum * np.conj(dry) / energy).astype(np.complex64)
        if echo_gain is not None:  # one gain for noise and echo: the same floor, gate, mix
            gain = gain * self._delay("echo_gain", echo_gain, lag)
        # The gate steps with the delayed frames but may read Silero up to the newest one:
        # a stage's lookahead lets the gate open before a word starts.
        gains = self._gate.apply(rows_power, noise, gain, self._hops, self.probe, out.speech)
        self._hops += hops

        spec *= gains
        out_frames = scipy.fft.irfft(spec, n=self.n_fft, axis=-1)[..., :n]
        out_frames *= self._win
        ola = out_frames[:, :, :h].copy()
        ola[:, 0] += self._tail
        ola[:, 1:] += out_frames[:, :-1, h:]
        self._tail[:] = out_frames[:, -1, h:]
        self._out[:, self._out_len : self._out_len + hops * h] = ola.reshape(self.channels, -1)
        self._out_len += hops * h
