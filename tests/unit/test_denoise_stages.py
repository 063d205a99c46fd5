"""The stage interface: what a DeepFilterNet-like stage needs from the engine, on real speech.

A stage that returns a complex spectrum, asks for the Vorbis window and a 960-point FFT and
is two hops late (as DeepFilterNet3 is) must come out exactly as its spectrum says, with
the dry signal and the gate delayed to match and the lookahead added to the latency.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from jump import catalogue, defaults
from jump.denoise import Denoiser, DenoiseSettings, stages
from jump.denoise.stages import StageContext, StageInput, StageOutput
from jump.denoise.stft import Framing, HopDelay
from jump.lab.denoise.mixtures import RATE
from tests.helpers.denoise_data import push_in_chunks, speech

LAG = 2
SCALE = 0.5


@stages.register("test-late-spectrum")
class LateSpectrum(stages.Stage):
    """Gives back SCALE x its input spectrum, LAG hops late (its own state: the delay line)."""

    lookahead_hops = LAG
    needs_spectrum = True
    name = "test-late"

    def __init__(self, ctx: StageContext) -> None:
        self.rows = ctx.rows
        self.reset()

    @classmethod
    def framing(cls, entry, sample_rate: int, window: int) -> Framing:
        return Framing("vorbis", window)  # 960 at 48 kHz: 50 Hz bins, like DeepFilterNet3

    @classmethod
    def create(cls, ctx: StageContext, entry, path) -> LateSpectrum:
        return cls(ctx)

    def resize(self, rows: int) -> None:
        self.rows = rows
        self.reset()

    def reset(self) -> None:
        self._delay = HopDelay(LAG)

    def __call__(self, block: StageInput) -> StageOutput:
        assert block.spectrum is not None
        return StageOutput(spectrum=SCALE * self._delay(block.spectrum))


@pytest.fixture
def late_model(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "late.bin").write_bytes(b"")
    raw = {"id": "test-late", "kind": "denoise", "file": "test/late.bin", "sha256": "-"}
    entry = catalogue.ModelEntry.from_json(
        {**raw, "licence": "-", "url": "", "type": "test-late-spectrum"}
    )
    real = catalogue.load_manifest()
    monkeypatch.setattr(catalogue, "load_manifest", lambda *a: {**real, entry.id: entry})
    return str(tmp_path)


def _late(models_dir: str, **kw) -> Denoiser:
    s = replace(DenoiseSettings(), neural_model="test-late", vad_model="", **kw)
    return Denoiser(RATE, 2, s, models_dir)


def test_a_late_spectrum_stage_is_framed_delayed_and_reported(late_model: str) -> None:
    x = speech()[: RATE * 3]
    x = np.stack([x, -0.5 * x])
    d = _late(late_model, strength_db=40.0, speech_db=40.0, linked=False)
    assert d.framing == Framing("vorbis", 960) and d.neural_active
    assert d.latency_samples == d.window - 1 + LAG * d.hop
    y = push_in_chunks(d, x, seed=5)
    lat = d.latency_samples
    err = np.abs(y[:, lat:] - SCALE * x[:, :-lat]).max()
    assert err < 1e-5, err
    assert np.abs(y[:, : lat - d.hop]).max() < 1e-6  # nothing comes out before its time


def test_dry_wet_mix_uses_the_delayed_dry_signal(late_model: str) -> None:
    """Half dry, half wet: only correct if the dry frames wait for the stage's output."""
    x = speech()[None, : RATE * 3]
    d = _late(late_model, strength_db=40.0, speech_db=40.0, mix=0.5)
    y = push_in_chunks(d, np.concatenate([x, x]), seed=6)
    lat = d.latency_samples
    expected = (0.5 * SCALE + 0.5) * x[:, :-lat]
    assert np.abs(y[:, lat:] - expected).max() < 1e-5


def test_filter_and_cli_model_lists_come_from_the_registry(late_model: str) -> None:
    ids = stages.model_ids()
    assert "test-late" in ids and defaults.DEFAULT_DENOISE_MODEL in ids
    assert "dtln-1" not in ids  # a baseline the lab runs, no registered stage
    assert {"classical", "classical-post", "spectral-mask"} <= set(stages.names())
