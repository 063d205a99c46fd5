"""`python -m jump eval denoise`: quality of every method on the shared mixtures, and VAD accuracy.

Each method gets the noisy 48 kHz mixture and must return output aligned with it (the CLI
contract). Scores are PESQ-WB, STOI and SI-SDR against the clean speech at 16 kHz, and
DNSMOS P.835 (SIG/BAK/OVRL, no reference needed) when its model is in the shared folder;
CPU is process time per second of audio (one thread); latency is the algorithmic delay
the method needs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jump.lab.denoise.dnsmos import Dnsmos, DnsmosScorer
from jump.lab.denoise.metrics import Scores, score
from jump.lab.denoise.mixtures import RATE, Mixture, build_all, default_audio_dir, load
from jump.lab.paths import shared_dir

log = logging.getLogger("jump.denoise")

Method = Callable[[np.ndarray, int], np.ndarray]


@dataclass
class MethodResult:
    name: str
    latency_ms: float | None
    scores: dict[float, list[Scores]] = field(default_factory=dict)
    dnsmos: dict[float, list[Dnsmos]] = field(default_factory=dict)
    cpu_s: float = 0.0
    audio_s: float = 0.0

    def mean_dnsmos(self, snr: float | None = None) -> Dnsmos | None:
        rows = [r for k, v in self.dnsmos.items() if snr is None or k == snr for r in v]
        if not rows:
            return None
        return Dnsmos(
            *(float(np.mean([getattr(r, k) for r in rows])) for k in ("sig", "bak", "ovrl"))
        )

    def mean(self, snr: float) -> Scores:
        rows = self.scores[snr]
        return Scores(
            *(float(np.mean([getattr(r, k) for r in rows])) for k in Scores.__annotations__)
        )

    @property
    def rtf(self) -> float:
        return self.cpu_s / max(self.audio_s, 1e-9)


def jump_method(method: str, models_dir: str | None, model: str = "auto") -> tuple[Method, float]:
    from jump.commands.audio import denoise_array
    from jump.denoise.engine import Denoiser
    from jump.denoise.settings import DenoiseSettings

    settings = DenoiseSettings(method=method, neural_model=model)
    d = Denoiser(RATE, 1, settings, models_dir)
    latency = 1000.0 * d.latency_samples / RATE

    def run(x: np.ndarray, rate: int) -> np.ndarray:
        d.reset()
        return denoise_array(x, rate, denoiser=d)

    return run, latency


def methods(models_dir: str | None) -> dict[str, tuple[Method, float | None]]:
    from jump.denoise.auto import BEST_QUALITY, LOW_LATENCY
    from jump.lab.denoise import baselines

    table: dict[str, tuple[Method, float | None]] = {"noisy input": (lambda x, r: x, 0.0)}
    table["Jump classical"] = jump_method("classical", models_dir)
    table["Jump NSNet2"] = jump_method("neural", models_dir, LOW_LATENCY)
    table["Jump NSNet2 + classical"] = jump_method("both", models_dir, LOW_LATENCY)
    table["Jump DFN3"] = jump_method("neural", models_dir, BEST_QUALITY)
    table["DFN3, official runtime"] = (
        baselines.deepfilternet_official,
        1000.0 * baselines.DFN3_LATENCY / RATE,
    )
    table["RNNoise"] = (baselines.rnnoise, 1000.0 * baselines.RNNOISE_LATENCY / RATE)
    # 16 kHz models through resampling; a 512-sample block at 16 kHz is 32 ms before the
    # resamplers' own delay, beyond Jump's 20 ms budget: here to compare quality.
    table["DTLN (16 kHz)"] = (lambda x, r: baselines.dtln(x, r, models_dir), 32.0)
    table["GTCRN (16 kHz)"] = (lambda x, r: baselines.gtcrn(x, r, models_dir), 32.0)
    table["noisereduce"] = (baselines.noisereduce, None)  # offline: needs the whole file
    return table


def dnsmos_scorer() -> DnsmosScorer | None:
    """The P.835 scorer from the shared models folder, or None (then no DNSMOS columns)."""
    path = shared_dir() / "models" / "metrics" / "dnsmos_sig_bak_ovr.onnx"
    return DnsmosScorer(path) if path.is_file() else None


def run_quality(
    mixtures: list[Mixture],
    models_dir: str | None,
    progress: Callable[[str], None] | None = None,
    dnsmos: DnsmosScorer | None = None,
    only: tuple[str, ...] = (),
) -> list[MethodResult]:
    results = []
    for name, (fn, latency) in methods(models_dir).items():
        if only and name not in only:
            continue
        res = MethodResult(name, latency)
        for mix in mixtures:
            t0 = time.process_time()
            out = fn(mix.noisy, RATE)
            res.cpu_s += time.process_time() - t0
            res.audio_s += mix.noisy.size / RATE
            res.scores.setdefault(mix.snr_db, []).append(score(mix.clean, out, RATE))
            if dnsmos is not None:
                res.dnsmos.setdefault(mix.snr_db, []).append(dnsmos.score(out, RATE))
        if progress:
            progress(name)
        results.append(res)
    return results


# ---- VAD ------------------------------------------------------------------------------


@dataclass
class VadScores:
    name: str
    accuracy: float
    precision: float
    recall: float
    f1: float


def vad_labels(audio_dir: Path) -> tuple[list[tuple[float, float]], float]:
    """Labelled speech segments of vad/train.wav (seconds) and the end of the labelled part."""
    raw = json.loads((audio_dir / "vad" / "train.json").read_text(encoding="utf-8"))
    segments, end = [], 0.0
    for item in raw.values():
        offset = item["wav"]["start"] / 16000.0
        end = max(end, item["wav"]["stop"] / 16000.0)
        t = [float(v) for v in item["speech"].split()]
        segments += [(offset + t[i], offset + t[i + 1]) for i in range(0, len(t), 2)]
    return segments, end


def _scores(name: str, pred: np.ndarray, truth: np.ndarray) -> VadScores:
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    return VadScores(name, float(np.mean(pred == truth)), precision, recall, f1)


def run_vad(
    audio_dir: Path, models_dir: str | None, noise: np.ndarray | None = None
) -> list[VadScores]:
    """Frame (10 ms) scores of Silero, the fast per-hop detector and the gate on train.wav."""
    from jump.denoise.engine import Denoiser
    from jump.denoise.settings import DenoiseSettings
    from jump.probe import Probe

    x = load(audio_dir / "vad" / "train.wav").astype(np.float32)
    if noise is not None:
        x = x + noise[: x.size]
    segments, end = vad_labels(audio_dir)
    probe = Probe(gate_trace=True)
    d = Denoiser(RATE, 1, DenoiseSettings(), models_dir, probe=probe)
    d.push(x[None])
    d.flush()
    trace = np.array(probe.gate[: int(end / 0.01)])
    # Hop h's gate applies to the window centred on sample h * hop.
    t = np.arange(len(trace)) * d.hop / RATE
    truth = np.zeros(t.size, dtype=bool)
    for a, b in segments:
        truth |= (t >= a) & (t < b)
    threshold = d.settings.vad_threshold
    return [
        _scores("Silero VAD (p >= threshold)", trace[:, 0] >= threshold, truth),
        _scores("per-hop SNR detector", trace[:, 1] > 0.5, truth),
        _scores("gate (incl. 200 ms grace)", trace[:, 2] >= 0.5, truth),
    ]


# ---- report ---------------------------------------------------------------------------


def tables(results: list[MethodResult], vad: dict[str, list[VadScores]], n_mix: int) -> list:
    """The evaluation's rows, as tables (``jump.lab.report`` prints them)."""
    from jump.lab.report import Table

    snrs = sorted(results[0].scores)
    intro = (
        f"Mixtures: {n_mix} per SNR (speech x real noise at 48 kHz, one reverberant), "
        "metrics at 16 kHz against the clean (reverberant) speech; DNSMOS P.835 needs no "
        "reference. All SNRs together:"
    )
    num = True  # right-aligned numeric columns
    overall = Table(
        ["method", "SI-SDR dB", "PESQ-WB", "STOI", "DNSMOS SIG", "BAK", "OVRL",
         "CPU s per audio s", "latency"], right=[False, *[num] * 8],
    )  # fmt: skip
    for r in results:
        every = [x for snr in snrs for x in r.scores[snr]]
        m = Scores(
            *(float(np.mean([getattr(x, k) for x in every])) for k in Scores.__annotations__)
        )
        d = r.mean_dnsmos()
        mos = [f"{d.sig:.2f}", f"{d.bak:.2f}", f"{d.ovrl:.2f}"] if d else ["–", "–", "–"]
        lat = "offline" if r.latency_ms is None else f"{r.latency_ms:.0f} ms"
        overall.rows.append([r.name, f"{m.si_sdr:.2f}", f"{m.pesq:.3f}", f"{m.stoi:.3f}", *mos,
                             f"{r.rtf:.3f}", lat])  # fmt: skip
    per_snr = Table(
        ["method", "SNR dB", "PESQ-WB", "STOI", "SI-SDR dB", "DNSMOS OVRL"],
        caption="Per input SNR:", right=[False, *[num] * 5],
    )  # fmt: skip
    for r in results:
        for snr in snrs:
            m = r.mean(snr)
            d = r.mean_dnsmos(snr)
            per_snr.rows.append([r.name, f"{snr:g}", f"{m.pesq:.2f}", f"{m.stoi:.3f}",
                                 f"{m.si_sdr:.2f}", f"{d.ovrl:.2f}" if d else "–"])  # fmt: skip
    cost = Table(["method", "CPU s per s of audio", "algorithmic latency"], right=[False, num, num])
    for r in results:
        lat = "offline (whole file)" if r.latency_ms is None else f"{r.latency_ms:.1f} ms"
        if r.name.endswith("(16 kHz)"):
            lat += " + resampling"
        cost.rows.append([r.name, f"{r.rtf:.4f}", lat])
    out: list = [intro, overall, per_snr, cost]
    for label, rows in vad.items():
        t = Table(["detector", "accuracy", "precision", "recall", "F1"],
                  caption=f"VAD on vad/train.wav ({label}), 10 ms frames:", right=[False, *[num] * 4])  # fmt: skip
        t.rows = [[v.name, f"{v.accuracy:.3f}", f"{v.precision:.3f}", f"{v.recall:.3f}",
                   f"{v.f1:.3f}"] for v in rows]  # fmt: skip
        out.append(t)
    return out


def markdown(results: list[MethodResult], vad: dict[str, list[VadScores]], n_mix: int) -> str:
    from jump.lab.report import render

    return render(tables(results, vad, n_mix))


def plot(results: list[MethodResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snrs = sorted(results[0].scores)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8))
    for ax, key, label in zip(
        axes, ("pesq", "stoi", "si_sdr"), ("PESQ-WB", "STOI", "SI-SDR (dB)"), strict=True
    ):
        for r in results:
            style = "--" if r.name == "noisy input" else "-"
            ax.plot(snrs, [getattr(r.mean(s), key) for s in snrs], style, marker="o", label=r.name)
        ax.set_xlabel("input SNR (dB)")
        ax.set_title(label)
        ax.set_xticks(snrs)
        ax.grid(alpha=0.3)
    # one legend under the plots: inside an axis it covered the lines
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(5, len(names)), fontsize=8)
    fig.suptitle("Jump Denoise vs baselines on speech x real noise at 48 kHz")
    fig.tight_layout(rect=(0, 0.06 + 0.04 * ((len(names) - 1) // 5), 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(
    audio_dir: Path | None,
    models_dir: str | None,
    quick: bool,
    out_dir: Path | None,
    progress: Callable[[str], None] | None = None,
    only: tuple[str, ...] = (),
) -> str:
    audio_dir = audio_dir or default_audio_dir()
    mixtures = build_all(audio_dir, quick=quick)
    results = run_quality(mixtures, models_dir, progress, dnsmos_scorer(), only)
    vad_noise = build_all(audio_dir, snrs=(5.0,), quick=True)[0]
    noise = vad_noise.noisy - vad_noise.clean
    vad = {
        "as recorded": run_vad(audio_dir, models_dir),
        "plus fan noise at about 5 dB SNR": run_vad(audio_dir, models_dir, noise),
    }
    n_mix = len(mixtures) // len({m.snr_db for m in mixtures})
    text = markdown(results, vad, n_mix)
    if out_dir is not None:
        plot(results, out_dir / "denoise-eval.png")
    return text
