"""The ``spectral-mask`` stage: a streaming mask model (NSNet2) through ONNX Runtime.

A "spectral-mask" model takes log-power spectra ``[batch, time, bins]`` on its own frequency
grid (``sample_rate`` / ``n_fft``) and returns a gain per bin. The engine's STFT runs at the
OBS rate; when that grid differs (44.1 kHz, or another FFT size) the power is interpolated
onto the model's grid and the mask back, so one model serves every rate.

Recurrent state must be explicit so each 10 ms hop can run alone. NSNet2 hides its GRU
state, so ``"state": "expose-gru"`` has the graph edited once (``graph_edit``) and cached,
and ``"exposed-gru"`` names a file shipped already edited;
models that already pass state list the pairs
(``"state": [{"input": ..., "output": ..., "shape": [...]}]``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jump.catalogue import ModelEntry
from jump.denoise.graph_edit import STATE_PREFIX, prepared_copy
from jump.denoise.stages import Stage, StageContext, StageInput, StageOutput, register
from jump.denoise.stft import Framing, smooth_fft_size


@register("spectral-mask")
class SpectralMaskStage(Stage):
    """Log-power features on the model's grid in, the model's mask (clamped) out."""

    lookahead_hops = 0
    needs_spectrum = False

    def __init__(self, ctx: StageContext, model: MaskModel) -> None:
        self.model = model
        self.name = model.id
        self._grid = GridMap(ctx.sample_rate, ctx.n_fft, model.sample_rate, model.n_fft)
        self._scale = np.float32(feature_scale(ctx.window, model.window))

    @classmethod
    def framing(cls, entry: ModelEntry | None, sample_rate: int, window: int) -> Framing:
        spec = entry.spec if entry is not None else {}
        n_fft = smooth_fft_size(sample_rate, window, int(spec["sample_rate"]), int(spec["n_fft"]))
        return Framing(str(spec.get("window_fn", "sqrt-hann")), n_fft)

    @classmethod
    def create(cls, ctx: StageContext, entry: ModelEntry | None, path: Path | None):
        if entry is None or path is None:
            raise ValueError("the spectral-mask stage needs a model")
        return cls(ctx, MaskModel(entry, path, ctx.rows))

    @property
    def rows(self) -> int:
        return self.model.rows

    def resize(self, rows: int) -> None:
        self.model.resize(rows)

    def reset(self) -> None:
        self.model.reset()

    def __call__(self, block: StageInput) -> StageOutput:
        m = self.model
        feats = self._grid.to_model(block.power * self._scale, m.power_floor)
        np.maximum(feats, m.power_floor, out=feats)
        np.log10(feats, out=feats)
        mask = m(feats.astype(np.float32, copy=False))
        return StageOutput(
            gain=np.minimum(np.maximum(self._grid.from_model(mask), m.min_gain), 1.0)
        )


class MaskModel:
    """A loaded spectral-mask model for ``rows`` parallel streams (channels, or 1 if linked)."""

    def __init__(self, entry: ModelEntry, path: Path, rows: int, threads: int = 1) -> None:
        from jump.sessions import create_session

        spec = entry.spec
        if entry.type != "spectral-mask":
            raise ValueError(f"{entry.id} is not a spectral-mask model")
        self.id = entry.id
        self.sample_rate = int(spec["sample_rate"])
        self.n_fft = int(spec["n_fft"])
        self.window = int(spec["window"])
        self.bins = self.n_fft // 2 + 1
        # Digital silence is outside what the model saw in training (real recordings always
        # carry a noise floor): features are floored at a white-noise floor in dBFS, which
        # measurably keeps NSNet2 from letting barks through after silence.
        floor_dbfs = float(spec.get("noise_floor_dbfs", -200.0))
        self.power_floor = max(
            float(spec.get("power_floor", 1e-12)), 10.0 ** (floor_dbfs / 10.0) * self.window / 2
        )
        self.min_gain = 10.0 ** (float(spec.get("min_gain_db", -80.0)) / 20.0)
        self._input = spec.get("input", "input")
        self._output = spec.get("output", "output")
        state = spec.get("state", [])
        # State shapes with None where the batch (rows) goes.
        self._state_names: list[tuple[str, str]] = []
        self._state_shapes: list[list[int | None]] = []
        if state in ("expose-gru", "exposed-gru"):
            # "exposed-gru": the file already is the streaming edit (the shipped int8 NSNet2),
            # so nothing is built or cached at first run.
            prepared = prepared_copy(entry, path) if state == "expose-gru" else path
            self._session = create_session(prepared, threads=threads)
            outputs = [o.name for o in self._session.get_outputs()]
            inputs = [i for i in self._session.get_inputs() if i.name.startswith(STATE_PREFIX)]
            for item, name_out in zip(inputs, outputs[1:], strict=True):
                self._state_names.append((item.name, name_out))
                self._state_shapes.append([item.shape[0], None, item.shape[2]])
        else:
            self._session = create_session(path, threads=threads)
            for item in state:
                self._state_names.append((item["input"], item["output"]))
                self._state_shapes.append([None if d == "batch" else int(d) for d in item["shape"]])
        self._outputs = [self._output] + [o for _, o in self._state_names]
        self._feeds: dict[str, np.ndarray] = {}
        # An unrolled (int8) model computes exactly one hop per call.
        self._one_hop = spec.get("precision", "fp32") == "int8"
        self.rows = rows
        self.reset()

    def resize(self, rows: int) -> None:
        """Change the number of parallel streams (linked <-> per channel); restarts the state."""
        self.rows = rows
        self.reset()

    def reset(self) -> None:
        for (name_in, _), shape in zip(self._state_names, self._state_shapes, strict=True):
            dims = [self.rows if d is None else d for d in shape]
            self._feeds[name_in] = np.zeros(dims, dtype=np.float32)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Features [rows, time, bins] (float32, model grid) -> mask [rows, time, bins]."""
        if self._one_hop and features.shape[1] > 1:
            return np.concatenate(
                [self._run(features[:, t : t + 1]) for t in range(features.shape[1])], axis=1
            )
        return self._run(features)

    def _run(self, features: np.ndarray) -> np.ndarray:
        self._feeds[self._input] = features
        result = self._session.run(self._outputs, self._feeds)
        for (name_in, _), value in zip(self._state_names, result[1:], strict=True):
            self._feeds[name_in] = value
        return result[0]


class GridMap:
    """Linear maps between the engine's FFT bins and a model's bins (identity when equal)."""

    def __init__(self, rate: int, n_fft: int, model_rate: int, model_n_fft: int) -> None:
        self.identity = rate == model_rate and n_fft == model_n_fft
        engine_hz = np.arange(n_fft // 2 + 1) * rate / n_fft
        model_hz = np.arange(model_n_fft // 2 + 1) * model_rate / model_n_fft
        self._to_model = self._weights(engine_hz, model_hz)
        self._from_model = self._weights(model_hz, engine_hz)
        self.model_bins = model_hz.size

    @staticmethod
    def _weights(src_hz: np.ndarray, dst_hz: np.ndarray) -> tuple[np.ndarray, ...]:
        pos = np.interp(dst_hz, src_hz, np.arange(src_hz.size))
        lo = np.minimum(np.floor(pos).astype(np.int64), src_hz.size - 2)
        frac = (pos - lo).astype(np.float32)
        outside = dst_hz > src_hz[-1] + 1e-6
        return lo, frac, outside

    def to_model(self, x: np.ndarray, fill: float) -> np.ndarray:
        if self.identity:
            return x
        lo, frac, outside = self._to_model
        y = x[..., lo] * (1.0 - frac) + x[..., lo + 1] * frac
        y[..., outside] = fill
        return y

    def from_model(self, x: np.ndarray) -> np.ndarray:
        if self.identity:
            return x
        lo, frac, _ = self._from_model
        return x[..., lo] * (1.0 - frac) + x[..., lo + 1] * frac


def feature_scale(window: int, model_window: int) -> float:
    """Power correction for a different window length (sum of sqrt-Hann squared is N/2)."""
    return float(model_window) / float(window)
