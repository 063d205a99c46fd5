"""Scores of echo cancellation on the echo mixtures (jump/lab/denoise/echo_mixtures.py).

ERLE: dB of echo removed where only the game plays (after the first second, so that it
measures the converged canceller); DT: SI-SDR of the voice in double talk; NEAR: SI-SDR
where only the voice is; PESQ-WB over the voice's span; convergence: the first instant
from which the echo is down by 20 dB in three 100 ms windows running; re-convergence: the
same after the delay jumps by 100 ms (a mixture with ``jump_at_s``).

    python -m jump.lab.denoise.echo_eval [--shared] [--markdown FILE]
    python -m jump.lab.denoise.echo_eval --bad                  # odd references
    python -m jump.lab.denoise.echo_eval --shared --breakdown   # where the ERLE goes
    taskset -c 0 python -m jump.lab.denoise.echo_eval --bench   # CPU and latency
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jump.lab.denoise.echo_mixtures import RATE, EchoMixture, EchoSpec, build, specs
from jump.lab.denoise.metrics import pesq_wb, si_sdr, to_16k

Method = Callable[[EchoMixture], np.ndarray]
DFN3, NSNET2 = "deepfilternet3", "nsnet2-48k-int8"
WINDOW_S = 0.1
CONVERGED_DB = 20.0


@dataclass
class EchoScores:
    erle: float
    dt: float
    near: float
    pesq: float
    converge_s: float  # nan when never


def _erle(mic: np.ndarray, out: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(mic * mic) / max(np.mean(out * out), 1e-20)))


def convergence(m: EchoMixture, out: np.ndarray, start: int, stop: int) -> float:
    """Seconds from ``start`` until three windows in a row are 20 dB down (nan: never)."""
    w = int(WINDOW_S * RATE)
    run = 0
    for i in range(start, stop - w, w):
        ok = _erle(m.mic[i : i + w], out[i : i + w]) >= CONVERGED_DB
        run = run + 1 if ok else 0
        if run == 3:
            return (i - 2 * w - start) / RATE
    return float("nan")


def score(m: EchoMixture, out: np.ndarray) -> EchoScores:
    idx = np.arange(m.mic.size)
    settled = m.game_only & (idx >= RATE)
    v = m.voice
    span = m.double_talk | m.voice_only
    ref16, est16 = to_16k(v[span], RATE), to_16k(out[span], RATE)
    d = int(m.spec.delay_ms * RATE / 1000)
    first_game_end = int(np.argmax(m.double_talk))
    return EchoScores(
        erle=_erle(m.mic[settled], out[settled]),
        dt=si_sdr(v[m.double_talk], out[m.double_talk]),
        near=si_sdr(v[m.voice_only], out[m.voice_only]),
        pesq=pesq_wb(ref16, est16),
        converge_s=convergence(m, out, d, first_game_end),
    )


def jump_method(reference: bool, model: str, models_dir: str | None = None) -> Method:
    from jump.commands.audio import denoise_array
    from jump.denoise.settings import DenoiseSettings

    settings = DenoiseSettings(neural_model=model)

    def run(m: EchoMixture) -> np.ndarray:
        ref = m.reference if reference else None
        return denoise_array(m.mic, RATE, settings, models_dir, reference=ref)

    return run


def webrtc_aec3(m: EchoMixture) -> np.ndarray:
    """WebRTC AEC3 through the pywebrtc-audio binding, 10 ms int16 frames."""
    import pywebrtc_audio

    aec = pywebrtc_audio.EchoCanceller(RATE, 1, 0)
    f = RATE // 100
    n = m.mic.size // f * f
    to16 = lambda x: np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)  # noqa: E731
    mic, ref = to16(m.mic[:n]), to16(m.reference[:n])
    out = np.zeros(m.mic.size, dtype=np.float32)
    for i in range(0, n, f):
        y = np.asarray(aec.process(mic[i : i + f], ref[i : i + f]))
        out[i : i + f] = y.reshape(-1)[:f] / 32767.0
    # AEC3's band split delays its output (431 samples at 48 kHz here): compensate it as
    # Jump's latency is, from the voice-only part where output and mic are alike
    lag = _lag(m.mic[m.voice_only], out[m.voice_only], 2000)
    return np.concatenate([out[lag:], np.zeros(lag, np.float32)])


def _lag(x: np.ndarray, y: np.ndarray, most: int) -> int:
    """How many samples ``y`` is late against ``x`` (0..most)."""
    import scipy.signal

    c = scipy.signal.correlate(y[: x.size], x[: x.size - most], mode="valid")
    return int(np.argmax(np.abs(c[: most + 1])))


def methods(models_dir: str | None = None) -> dict[str, Method]:
    return {
        "the mic as it is": lambda m: m.mic.copy(),
        "WebRTC AEC3 (pywebrtc-audio)": webrtc_aec3,
        "Jump Denoise (DeepFilterNet3), no reference": jump_method(False, DFN3, models_dir),
        "Jump Denoise (DeepFilterNet3) + reference": jump_method(True, DFN3, models_dir),
        "Jump Denoise (NSNet2), no reference": jump_method(False, NSNET2, models_dir),
        "Jump Denoise (NSNet2) + reference": jump_method(True, NSNET2, models_dir),
    }


def reconvergence(method: Method, audio: Path, rir_dir: Path | None, rir: str | None) -> float:
    """Seconds to be 20 dB down again after the echo delay jumps by 100 ms at 2.5 s
    (game only; the first 4 s of the timeline)."""
    spec = EchoSpec("jump", 120.0, 0.0, rir, seed=7, jump_at_s=2.5)
    m = build(spec, audio, rir_dir)
    out = method(m)
    j = int(2.5 * RATE)
    return convergence(m, out, j, int(np.argmax(m.double_talk)))


def evaluate(shared: bool, audio: Path, rir_dir: Path | None, models_dir: str | None = None):
    mixes = [build(s, audio, rir_dir) for s in specs(shared)]
    rows = []
    for name, method in methods(models_dir).items():
        scores = [score(m, method(m)) for m in mixes]
        rir = "rir/rir2.wav" if shared else None
        rows.append((name, scores, reconvergence(method, audio, rir_dir, rir)))
    return mixes, rows


def markdown(mixes: list[EchoMixture], rows) -> str:
    head = "| | ERLE dB | DT dB | NEAR dB | PESQ-WB | convergence s | re-convergence s |\n"
    head += "|---|---|---|---|---|---|---|\n"
    lines = []
    for name, scores, recon in rows:
        mean = lambda f, sc=scores: float(np.nanmean([f(s) for s in sc]))  # noqa: E731
        conv = [s.converge_s for s in scores]
        never = sum(np.isnan(conv))
        c = "never" if never == len(conv) else f"{np.nanmedian(conv):.2f}"
        if never and never < len(conv):
            c += f" ({never}/{len(conv)} never)"
        r = "never" if np.isnan(recon) else f"{recon:.2f}"
        lines.append(
            f"| {name} | {mean(lambda s: s.erle):.1f} | {mean(lambda s: s.dt):.1f} | "
            f"{mean(lambda s: s.near):.1f} | {mean(lambda s: s.pesq):.2f} | {c} | {r} |"
        )
    names = ", ".join(m.spec.name for m in mixes)
    return head + "\n".join(lines) + f"\n\nMixtures (mean over): {names}.\n"


def bad_inputs(audio: Path) -> str:
    """Jump (NSNet2) on synthetic room 2 with odd references: the table of docs/benchmarks.md."""
    from jump.denoise.resample import StreamingResampler

    m = build(specs(False)[1], audio)
    run = jump_method(True, NSNET2)
    r44 = StreamingResampler(RATE, 44100).process(m.reference)
    back = StreamingResampler(44100, RATE).process(r44)[: m.mic.size]
    cases = {
        "the game, as recorded": m.reference,
        "none (plain denoise)": None,
        "silent": np.zeros_like(m.reference),
        "20 dB louder than as recorded": 10.0 * m.reference,
        "the mic itself": m.mic.copy(),
        "at 44.1 kHz, resampled by the engine's resampler": back,
    }
    lines = [
        "| reference | ERLE dB | DT dB | NEAR dB | PESQ | convergence s |",
        "|---|---|---|---|---|---|",
    ]
    for name, ref in cases.items():
        mix = EchoMixture(**{**m.__dict__, "reference": ref})
        out = run(mix) if ref is not None else jump_method(False, NSNET2)(m)
        sc = score(m, out)
        lines.append(
            f"| {name} | {sc.erle:.1f} | {sc.dt:.1f} | {sc.near:.1f} | {sc.pesq:.2f} | {sc.converge_s} |"
        )
    return "\n".join(lines) + "\n"


def _erle_span(m: EchoMixture, out: np.ndarray, a: float, b: float) -> float:
    idx = np.arange(m.mic.size)
    sel = m.game_only & (idx >= a * RATE) & (idx < b * RATE)
    return _erle(m.mic[sel], out[sel])


def breakdown(mixes: list[EchoMixture], model: str = DFN3) -> str:
    """ERLE of Jump + reference per mixture and game-only span (the first part while the
    canceller converges, the last after double talk), and of its linear filter alone."""
    from jump.denoise.echo.canceller import LinearCanceller

    run = jump_method(True, model)
    spans = ((1, 2), (2, 4), (13, 14), (14, 16))
    head = " | ".join(f"{a}-{b} s" for a, b in spans)
    lines = [
        f"| mixture | ERLE | {head} | linear alone 1-4 s | linear alone 13-16 s |",
        "|---" * (4 + len(spans)) + "|",
    ]
    for m in mixes:
        out = run(m)
        c = LinearCanceller(RATE, 480, 1)
        n = m.mic.size // 480 * 480
        err, _ = c.process(m.mic[None, :n], m.reference[:n])
        lin = np.concatenate([err[0], m.mic[n:]])
        cells = [f"{_erle_span(m, out, a, b):.1f}" for a, b in spans]
        cells += [f"{_erle_span(m, lin, 1, 4):.1f}", f"{_erle_span(m, lin, 13, 16):.1f}"]
        lines.append(f"| {m.spec.name} | {score(m, out).erle:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def bench(seconds: float = 20.0, repeat: int = 3) -> str:
    """CPU seconds per audio second (process time, best of ``repeat``) and latency, with and
    without the reference, per model; run it pinned to one core (``taskset -c 0``)."""
    import time

    from jump.denoise.engine import Denoiser
    from jump.denoise.settings import DenoiseSettings

    audio = Path(__file__).resolve().parents[3] / "tests" / "data" / "audio"
    m = build(EchoSpec("bench", 120.0, 0.0, None, seed=1), audio)
    n = int(seconds * RATE)
    mic = np.resize(m.mic, n)[None]
    ref = np.resize(m.reference, n)
    lines = ["| model | reference | CPU s per audio s | latency ms |", "|---|---|---|---|"]
    for model in (NSNET2, DFN3):
        for with_ref in (False, True):
            best = float("inf")
            for _ in range(repeat):
                d = Denoiser(RATE, 1, DenoiseSettings(neural_model=model))
                t = time.process_time()
                for i in range(0, n, 480):  # OBS's 10 ms packets
                    d.push(mic[:, i : i + 480], ref[i : i + 480] if with_ref else None)
                best = min(best, time.process_time() - t)
            lat = 1000.0 * d.latency_samples / RATE
            lines.append(
                f"| {model} | {'yes' if with_ref else 'no'} | {best / seconds:.3f} | {lat:.1f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from jump.lab.paths import shared_dir

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", action="store_true", help="measured rooms from ../shared")
    p.add_argument("--markdown", type=Path, default=None)
    p.add_argument("--models", default=None)
    p.add_argument("--bench", action="store_true", help="CPU and latency only (run it quietly)")
    p.add_argument("--bad", action="store_true", help="odd references only")
    p.add_argument("--breakdown", action="store_true", help="ERLE per mixture and span")
    a = p.parse_args(argv)
    if a.bench:
        print(bench())
        return 0
    audio = Path(__file__).resolve().parents[3] / "tests" / "data" / "audio"
    if a.bad:
        print(bad_inputs(audio))
        return 0
    rir_dir = shared_dir() / "data" / "audio" if a.shared else None
    if a.breakdown:
        print(breakdown([build(s, audio, rir_dir) for s in specs(a.shared)]))
        return 0
    mixes, rows = evaluate(a.shared, audio, rir_dir, a.models)
    text = markdown(mixes, rows)
    print(text)
    if a.markdown:
        a.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
