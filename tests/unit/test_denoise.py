"""Denoise engine on real speech and noise: reconstruction, streaming, latency, robustness, quality.

Quality floors were set from measurements (`python -m jump eval denoise`, docs/benchmarks.md)
with a margin for onnxruntime/BLAS differences between machines; they are not targets.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace

import numpy as np
import pytest

from jump.commands.audio import denoise_array
from jump.denoise import Denoiser, DenoiseSettings
from jump.lab.denoise.metrics import score, si_sdr
from jump.lab.denoise.mixtures import RATE
from tests.helpers.denoise_data import MODELS, SHARED_MODELS, mixture, push_in_chunks, speech

UNITY = DenoiseSettings(mix=0.0)  # every gain becomes exactly 1: the STFT path alone


def _denoiser(rate: int = RATE, channels: int = 1, **kw) -> Denoiser:
    return Denoiser(rate, channels, replace(DenoiseSettings(), **kw), str(MODELS))


# ---- STFT path and the latency contract -----------------------------------------------


@pytest.mark.parametrize("rate", [48000, 44100])
def test_unity_gain_reconstructs_the_delayed_input(rate: int) -> None:
    x = speech(rate=rate)
    x = np.stack([x, -0.5 * x])
    d = Denoiser(rate, 2, UNITY, str(MODELS))
    y = push_in_chunks(d, x, seed=rate)
    lat = d.latency_samples
    assert lat <= round(0.020 * rate)
    err = np.abs(y[:, lat:] - x[:, : x.shape[1] - lat]).max()
    assert err < 1e-6, err
    assert np.abs(y[:, :lat]).max() < 1e-7  # the stream starts with latency_samples of silence


def test_zero_strength_is_transparent_through_the_gain_path() -> None:
    """strength 0 dB forbids any attenuation: the full pipeline (model, VAD) must give x back."""
    x = mixture("fan", 0.0).noisy[None, : RATE * 2]
    d = _denoiser(strength_db=0.0, speech_db=0.0)
    y = push_in_chunks(d, x, seed=3)
    lat = d.latency_samples
    assert np.abs(y[:, lat:] - x[:, :-lat]).max() < 1e-6


@pytest.mark.parametrize("method", ["classical", "neural", "both"])
def test_impulse_comes_out_after_latency_samples(method: str) -> None:
    d = _denoiser(method=method, mix=0.0)
    x = np.zeros((1, 4 * RATE // 100), dtype=np.float32)
    x[0, 123] = 1.0
    y = np.concatenate([d.push(x[:, :700]), d.push(x[:, 700:])], axis=1)
    assert int(np.argmax(np.abs(y[0]))) == 123 + d.latency_samples
    assert abs(y[0, 123 + d.latency_samples] - 1.0) < 1e-6


def test_flush_returns_the_tail_and_file_output_is_aligned() -> None:
    mix = mixture("street", 5.0)
    x = mix.noisy[: RATE * 2]
    d = _denoiser()
    head = d.push(x[None])
    tail = d.flush()
    assert tail.shape == (1, d.latency_samples)
    aligned = denoise_array(x, RATE, denoiser=_denoiser())
    assert aligned.shape == x.shape
    np.testing.assert_allclose(aligned, np.concatenate([head, tail], 1)[0, d.latency_samples :])
    # Alignment: the output correlates best with the clean speech at lag 0.
    clean = mix.clean[: x.size]
    lags = range(-480, 481, 48)
    best = max(lags, key=lambda k: si_sdr(clean[1000:-1000], np.roll(aligned, k)[1000:-1000]))
    assert best == 0


def test_cli_keeps_rate_channels_length_and_alignment(tmp_path) -> None:
    """`python -m jump denoise IN OUT`: the contract the denoiser is evaluated by."""
    import soundfile as sf
    from scipy.signal import resample_poly

    from jump.cli import main

    mix = mixture("fan", 5.0)
    noisy = resample_poly(mix.noisy[: RATE * 3], 147, 160)
    clean = resample_poly(mix.clean[: RATE * 3], 147, 160)
    src, dst = tmp_path / "in.flac", tmp_path / "out.flac"
    sf.write(src, np.stack([noisy, 0.5 * noisy], 1), 44100, subtype="PCM_24")
    assert main(["denoise", str(src), str(dst), "--models", str(MODELS), "-q"]) == 0
    out, rate = sf.read(dst, always_2d=True)
    assert rate == 44100 and out.shape == (noisy.size, 2)
    assert sf.info(dst).subtype == "PCM_24"
    lags = range(-441, 442, 49)
    best = max(lags, key=lambda k: si_sdr(clean[2000:-2000], np.roll(out[:, 0], k)[2000:-2000]))
    assert best == 0
    assert si_sdr(clean, out[:, 0]) > si_sdr(clean, noisy) + 5.0


# ---- streaming ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["classical", "both"])
def test_output_does_not_depend_on_chunking(method: str) -> None:
    x = mixture("babble", 5.0).noisy[None, : int(RATE * 2.5)]
    a = push_in_chunks(_denoiser(method=method), x, sizes=[1024])
    b = push_in_chunks(_denoiser(method=method), x, seed=7)
    c = push_in_chunks(_denoiser(method=method), x, sizes=[1, 0, 4799, 480, 33000])
    assert np.abs(a).max() > 0.01
    np.testing.assert_allclose(a, b, atol=2e-6)
    np.testing.assert_allclose(a, c, atol=2e-6)


@pytest.mark.shared
def test_nsnet2_streaming_equals_one_batch_call() -> None:
    """The edited graph run hop by hop (state carried outside) equals the original model run
    on the whole sequence in one call (state inside)."""
    from jump.catalogue import get_entry
    from jump.denoise.stages.spectral_mask import MaskModel
    from jump.sessions import create_session

    entry = get_entry("nsnet2-48k")
    path = SHARED_MODELS / entry.file
    feats = _nsnet2_features(RATE * 2)

    whole = create_session(path).run(None, {"input": feats})[0]
    model = MaskModel(entry, path, rows=1)
    hop_by_hop = np.concatenate([model(feats[:, t : t + 1]) for t in range(feats.shape[1])], 1)
    model.reset()
    three_at_a_time = np.concatenate(
        [model(feats[:, t : t + 3]) for t in range(0, feats.shape[1], 3)], 1
    )
    assert whole.shape == hop_by_hop.shape == (1, feats.shape[1], 513)
    assert np.abs(whole - hop_by_hop).max() < 1e-5
    assert np.abs(whole - three_at_a_time).max() < 1e-5
    assert whole.std() > 0.05  # a real mask, not a constant


@pytest.mark.shared
def test_unrolled_gru_step_matches_the_original_and_int8_stays_close(tmp_path) -> None:
    """The single-step GRU equations (before quantisation) reproduce ONNX's GRU; the shipped
    int8 model is what `write_streaming` makes of the original, and stays close to it."""
    import onnx

    from jump.catalogue import get_entry
    from jump.denoise.graph_edit import unroll_gru_step, write_streaming
    from jump.denoise.stages.spectral_mask import MaskModel
    from jump.sessions import create_session

    feats = _nsnet2_features(RATE * 2)
    original = SHARED_MODELS / get_entry("nsnet2-48k").file
    whole = create_session(original).run(None, {"input": feats})[0]
    model = onnx.load(str(original))
    unroll_gru_step(model)
    onnx.save(model, str(tmp_path / "step.onnx"))
    step = create_session(tmp_path / "step.onnx")
    state = {f"jump_state_in_{i}": np.zeros((1, 1, 600), np.float32) for i in range(2)}
    masks = []
    for t in range(feats.shape[1]):
        mask, h0, h1 = step.run(None, {"input": feats[:, t : t + 1], **state})
        state = {"jump_state_in_0": h0, "jump_state_in_1": h1}
        masks.append(mask)
    assert np.abs(np.concatenate(masks, 1) - whole).max() < 1e-4

    int8 = get_entry("nsnet2-48k-int8")
    quantised = MaskModel(int8, MODELS / int8.file, rows=1)(feats)
    err = np.abs(quantised - whole)
    assert err.mean() < 0.03, err.mean()
    write_streaming(original, tmp_path / "rebuilt.onnx", "int8")
    rebuilt = MaskModel(int8, tmp_path / "rebuilt.onnx", rows=1)(feats)
    assert np.abs(rebuilt - quantised).max() < 1e-5


def test_the_shipped_int8_model_runs_without_building_anything(tmp_path, monkeypatch) -> None:
    """The default mask model ships already unrolled and quantised: a first run finds it in
    models/ with its checksum and writes nothing to the user's cache."""
    import jump.catalogue

    monkeypatch.setenv("JUMP_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("JUMP_MODELS", raising=False)
    entry = jump.catalogue.get_entry("nsnet2-48k-int8")
    path = jump.catalogue.find_model(entry.id)
    assert path == jump.catalogue.PROJECT_MODELS / entry.file
    assert jump.catalogue.verify(entry, path)
    d = Denoiser(RATE, 1, DenoiseSettings())
    assert d.neural_active and "nsnet2-48k-int8" in d.status, d.status
    mix = mixture("fan", 0.0)
    y = denoise_array(mix.noisy, RATE, denoiser=d)
    assert si_sdr(mix.clean, y) > si_sdr(mix.clean, mix.noisy) + 8.0
    assert not (tmp_path / "cache").exists()


def _nsnet2_features(n: int) -> np.ndarray:
    """NSNet2's log-power features of a real noisy mixture, [1, frames, 513] float32."""
    x = mixture("fan", 0.0).noisy[:n].astype(np.float64)
    win = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(960) / 960))
    frames = np.lib.stride_tricks.sliding_window_view(x, 960)[::480] * win
    feats = np.log10(np.maximum(np.abs(np.fft.rfft(frames, 1024)) ** 2, 1e-12))
    return feats.astype(np.float32)[None]


# ---- bad input ------------------------------------------------------------------------


def test_bad_input_never_raises_and_keeps_the_sample_count(caplog) -> None:
    d = _denoiser(channels=2)
    x = np.stack([speech()[:20000]] * 2)
    x[0, 5000:5100] = np.nan
    x[1, 6000] = np.inf
    x[1, 6001] = -np.inf
    with caplog.at_level(logging.WARNING, logger="jump.denoise"):
        outs = [
            d.push(x[:, :7000]),
            d.push(x[:, 7000:7001]),
            d.push(np.zeros((2, 0), np.float32)),
            d.push(np.sign(x[:, 7001:]) * 1.0),  # full-scale square: clipping
            d.push(np.zeros((2, 100_000), np.float32)),  # silence, one huge chunk
            d.push(np.ones((2, 3), np.float64) * 1e30),  # absurd values, wrong dtype
            d.push(x[0, :500]),  # 1-D input for a 2-channel filter
            d.push(np.zeros((6, 480), np.float32)),  # wrong channel count
        ]
    sizes = [o.shape[1] for o in outs]
    assert sizes == [7000, 1, 0, x.shape[1] - 7001, 100_000, 3, 500, 480]
    assert all(o.shape[0] == 2 and np.isfinite(o).all() for o in outs)
    assert np.abs(outs[4][:, -50_000:]).max() < 1e-6  # silence in, silence out
    assert sum("NaN/Inf" in r.message for r in caplog.records) == 1  # one clear message


@pytest.mark.parametrize(("rate", "channels"), [(44100, 1), (48000, 6), (32000, 2), (16000, 1)])
def test_other_rates_and_channel_counts(rate: int, channels: int) -> None:
    x = speech(rate=rate)[: rate * 2]
    planar = np.stack([x * (0.8**c) for c in range(channels)])
    d = _denoiser(rate, channels)
    assert "classical only" not in d.status
    y = push_in_chunks(d, planar, seed=rate)
    assert y.shape == planar.shape and np.isfinite(y).all()
    assert d.latency_samples <= round(0.020 * rate)


def test_update_and_reset_mid_stream() -> None:
    x = mixture("keys", 5.0).noisy[None]
    d = _denoiser()
    out = [d.push(x[:, :20000])]
    d.update(DenoiseSettings(method="classical", strength_db=20.0, linked=False))
    out.append(d.push(x[:, 20000:40000]))
    d.update(DenoiseSettings(method="both", mix=0.5))
    out.append(d.push(x[:, 40000:60000]))
    d.reset()
    out.append(d.push(x[:, 60000:]))
    y = np.concatenate(out, 1)
    assert y.shape == x.shape and np.isfinite(y).all()
    assert d.latency_samples == 959


def test_update_from_another_thread_while_pushing() -> None:
    """OBS calls update() on the UI thread while the audio thread pushes."""
    import threading

    x = mixture("street", 5.0).noisy[None, : RATE * 3]
    d = _denoiser()
    variants = [
        DenoiseSettings(strength_db=20.0),
        DenoiseSettings(method="classical", linked=False),
        DenoiseSettings(method="both", vad_threshold=0.8),
        DenoiseSettings(neural_model="nsnet2-48k", mix=0.7),
    ]
    stop = threading.Event()

    def ui() -> None:
        k = 0
        while not stop.is_set():
            d.update(variants[k % len(variants)])
            k += 1

    thread = threading.Thread(target=ui)
    thread.start()
    try:
        y = push_in_chunks(d, x, sizes=[1024])
    finally:
        stop.set()
        thread.join()
    assert y.shape == x.shape and np.isfinite(y).all()
    assert np.abs(y).max() > 0.01


def test_per_channel_keeps_channels_apart() -> None:
    mix = mixture("fan", 5.0)
    x = np.stack([mix.noisy, np.zeros_like(mix.noisy)])
    y = denoise_array(x, RATE, DenoiseSettings(linked=False), str(MODELS))
    assert np.abs(y[1]).max() == 0.0
    assert si_sdr(mix.clean, y[0]) > si_sdr(mix.clean, mix.noisy) + 5.0


def test_missing_or_corrupt_model_falls_back_to_classical(tmp_path, monkeypatch, caplog) -> None:
    import jump.catalogue

    monkeypatch.setenv("JUMP_MODELS", str(tmp_path / "none"))
    monkeypatch.setenv("JUMP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(jump.catalogue, "PROJECT_MODELS", tmp_path / "project")
    mix = mixture("fan", 0.0)
    with caplog.at_level(logging.WARNING, logger="jump.denoise"):
        d = Denoiser(RATE, 1, DenoiseSettings(method="both"), str(tmp_path / "user"))
    assert d.status.startswith("classical only: nsnet2-48k")
    assert "not found" in d.status
    assert not d.neural_active
    assert sum("classical only" in r.message for r in caplog.records) == 1
    y = denoise_array(mix.noisy, RATE, denoiser=d)
    assert si_sdr(mix.clean, y) > si_sdr(mix.clean, mix.noisy) + 3.0

    corrupt = tmp_path / "user" / "denoise" / "nsnet2-48k-int8.onnx"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not an onnx model")
    shutil.copytree(MODELS / "vad", tmp_path / "user" / "vad")
    d = Denoiser(RATE, 1, DenoiseSettings(), str(tmp_path / "user"))
    assert d.status.startswith("classical only")
    assert "VAD silero-vad" in d.status
    assert denoise_array(mix.noisy[:9600], RATE, denoiser=d).shape == (9600,)


# ---- quality on real mixtures ---------------------------------------------------------


@pytest.fixture(scope="module")
def zero_db() -> list:
    return [mixture("fan", 0.0), mixture("street", 0.0)]


@pytest.mark.parametrize("method", ["both", "neural"])
def test_beats_the_noisy_input_and_rnnoise_at_0_db(zero_db, method: str) -> None:
    """Measured at 0 dB (fan, street): PESQ +0.83..0.90, STOI +0.07, SI-SDR +11..13 dB over
    the input, SI-SDR +1.5..1.8 dB over RNNoise."""
    from jump.lab.denoise.baselines import rnnoise

    settings = DenoiseSettings(method=method)
    for mix in zero_db:
        noisy = score(mix.clean, mix.noisy, RATE)
        ours = score(mix.clean, denoise_array(mix.noisy, RATE, settings, str(MODELS)), RATE)
        theirs = score(mix.clean, rnnoise(mix.noisy, RATE), RATE)
        assert ours.pesq > noisy.pesq + 0.6, (mix.name, ours, noisy)
        assert ours.stoi > noisy.stoi + 0.04, (mix.name, ours, noisy)
        assert ours.si_sdr > noisy.si_sdr + 10.0, (mix.name, ours, noisy)
        assert ours.si_sdr > theirs.si_sdr + 0.5, (mix.name, ours, theirs)
        assert ours.pesq > theirs.pesq, (mix.name, ours, theirs)


def test_44k1_keeps_most_of_the_48k_quality() -> None:
    """At 44.1 kHz the engine zero-pads to 945 points so its bins match NSNet2's spacing;
    measured on fan at 0 dB: SI-SDR +10.9 dB, PESQ +0.8 over the input (48 kHz: +11.1, +0.9)."""
    from scipy.signal import resample_poly

    mix = mixture("fan", 0.0)
    noisy = resample_poly(mix.noisy, 147, 160).astype(np.float32)
    clean = resample_poly(mix.clean, 147, 160)
    d = Denoiser(44100, 1, DenoiseSettings(), str(MODELS))
    assert d.n_fft == 945
    before = score(clean, noisy, 44100)
    after = score(clean, denoise_array(noisy, 44100, denoiser=d), 44100)
    assert after.si_sdr > before.si_sdr + 9.5, (after, before)
    assert after.pesq > before.pesq + 0.6, (after, before)


def test_classical_alone_improves_si_sdr_at_0_db(zero_db) -> None:
    for mix in zero_db:
        y = denoise_array(mix.noisy, RATE, DenoiseSettings(method="classical"), str(MODELS))
        assert si_sdr(mix.clean, y) > si_sdr(mix.clean, mix.noisy) + 3.5  # measured +4.5, +8.5


def test_vad_f1_on_labelled_speech() -> None:
    from jump.lab.denoise.evaluate import run_vad
    from tests.helpers.denoise_data import AUDIO

    scores = {s.name.split()[0]: s for s in run_vad(AUDIO, str(MODELS))}
    assert scores["Silero"].f1 > 0.90, scores
    assert scores["gate"].recall > 0.95, scores  # the gate must not cut speech
    assert scores["gate"].f1 > 0.75, scores


def test_an_internal_error_passes_audio_through_instead_of_muting(monkeypatch) -> None:
    d = Denoiser(RATE, 2, DenoiseSettings(method="classical"))
    x = (np.random.default_rng(3).standard_normal((2, 480)) * 0.1).astype(np.float32)

    def broken(_x):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(d, "_push", broken)
    np.testing.assert_array_equal(d.push(x), x)
