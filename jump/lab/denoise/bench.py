"""`python -m jump bench denoise`: real-time factor of the engine, with RNNoise in the same run.

RTF = CPU time / audio time for a push-by-push stream of 1024-sample chunks (what OBS
delivers at 48 kHz), on one thread. 0.05 means 5 % of one core. With a GPU provider
(``--provider cuda``) the wall-clock RTF is the one that says whether it keeps up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from jump.lab.denoise.mixtures import RATE, build_all

CHUNK = 1024


@dataclass
class BenchRow:
    name: str
    channels: int
    rtf: float
    per_push_ms: float
    worst_push_ms: float
    wall_rtf: float = float("nan")


def _signal(seconds: float) -> np.ndarray:
    mix = build_all(snrs=(5.0,), quick=True)[0].noisy
    reps = int(np.ceil(seconds * RATE / mix.size))
    return np.tile(mix, reps)[: int(seconds * RATE)]


def bench_jump(
    method: str,
    channels: int,
    x: np.ndarray,
    models_dir: str | None,
    model: str = "auto",
    provider: str = "cpu",
) -> BenchRow:
    from jump.denoise.engine import Denoiser
    from jump.denoise.settings import DenoiseSettings

    settings = DenoiseSettings(method=method, neural_model=model, provider=provider)
    d = Denoiser(RATE, channels, settings, models_dir)
    planar = np.stack([x * (0.9**c) for c in range(channels)]).astype(np.float32)
    d.push(planar[:, : RATE // 2])  # warm-up: first ORT runs allocate
    d.reset()
    times = []
    t_all = time.process_time()
    for i in range(0, planar.shape[1], CHUNK):
        t0 = time.perf_counter()
        d.push(planar[:, i : i + CHUNK])
        times.append(time.perf_counter() - t0)
    cpu = time.process_time() - t_all
    label = f"Jump {method}"
    if method != "classical":
        label += f" ({d.model_name}, {provider})" if d.neural_active else " (no model)"
    audio = x.size / RATE
    return BenchRow(
        label,
        channels,
        cpu / audio,
        1000 * float(np.mean(times)),
        1000 * max(times),
        float(np.sum(times)) / audio,
    )


def split_neural(channels: int, x: np.ndarray, models_dir: str | None) -> dict[str, float]:
    """RTF of the default engine split into the model stage, the VAD and everything else.

    The engine's ``Probe`` counts CPU time per stage; the rest is the total minus both.
    """
    from jump.denoise.engine import Denoiser
    from jump.denoise.settings import DenoiseSettings
    from jump.probe import Probe

    probe = Probe()
    d = Denoiser(RATE, channels, DenoiseSettings(), models_dir, probe=probe)
    model = d.settings.neural_model if d.neural_active else ""
    planar = np.stack([x * (0.9**c) for c in range(channels)]).astype(np.float32)
    t_all = time.process_time()
    for i in range(0, planar.shape[1], CHUNK):
        d.push(planar[:, i : i + CHUNK])
    total = time.process_time() - t_all
    audio = x.size / RATE
    spent = {"model": probe.seconds.get(model, 0.0), "vad": probe.seconds.get("vad", 0.0)}
    return {
        "total": total / audio,
        "model": spent["model"] / audio,
        "vad": spent["vad"] / audio,
        "rest": (total - spent["model"] - spent["vad"]) / audio,
    }


def bench_rnnoise(channels: int, x: np.ndarray) -> BenchRow:
    from jump.lab.denoise.baselines import RNNoise

    states = [RNNoise() for _ in range(channels)]
    times = []
    t_all = time.process_time()
    for i in range(0, x.size, CHUNK):
        t0 = time.perf_counter()
        for s in states:
            s.push(x[i : i + CHUNK])
        times.append(time.perf_counter() - t0)
    cpu = time.process_time() - t_all
    return BenchRow(
        "RNNoise (C, via ctypes)",
        channels,
        cpu / (x.size / RATE),
        1000 * float(np.mean(times)),
        1000 * max(times),
    )


def run(
    seconds: float,
    models_dir: str | None,
    methods: tuple[str, ...],
    repeat: int = 1,
    models: tuple[str, ...] = ("auto",),
    provider: str = "cpu",
) -> list[BenchRow]:
    """Each row is the best of ``repeat`` runs: on a shared machine the minimum is the cost
    of the code, the rest is other processes' interference."""
    x = _signal(seconds)
    rows = []
    runs = [(m, "auto") for m in methods if m == "classical"]
    runs += [(m, model) for m in methods if m != "classical" for model in models]
    for channels in (1, 2):
        jobs = [
            lambda m=m, k=k, c=channels: bench_jump(m, c, x, models_dir, k, provider)
            for m, k in runs
        ]
        jobs.append(lambda c=channels: bench_rnnoise(c, x))
        for job in jobs:
            rows.append(min((job() for _ in range(max(1, repeat))), key=lambda r: r.rtf))
    return rows


def markdown(rows: list[BenchRow], seconds: float, repeat: int = 1) -> str:
    lines = [
        f"48 kHz, {seconds:g} s of speech in noise pushed in {CHUNK}-sample chunks, one thread; "
        f"best of {repeat} runs.",
        "",
        "| method | channels | RTF (CPU s / audio s) | x RNNoise | wall RTF | mean push ms "
        "| worst push ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    base = {r.channels: r.rtf for r in rows if r.name.startswith("RNNoise")}
    for r in rows:
        ratio = r.rtf / base[r.channels] if base.get(r.channels) else float("nan")
        lines.append(
            f"| {r.name} | {r.channels} | {r.rtf:.4f} | {ratio:.1f} | {r.wall_rtf:.4f} | "
            f"{r.per_push_ms:.3f} | {r.worst_push_ms:.3f} |"
        )
    return "\n".join(lines) + "\n"
