"""Speech onset and offset energy loss: how much of a word's first and last sounds survive.

The compass figure for the voice gate: against the clean speech, the denoised output
should lose less than 1 dB of energy at word onsets and offsets. Onsets and offsets come
from the clean speech's 10 ms energy envelope (within ``FLOOR_DB`` of its loud frames),
counting only those next to a pause of at least ``MIN_PAUSE_S``: after a shorter pause
the gate is still open and there is nothing to lose. In each edge window the speech that
survives is the least-squares scale of the clean speech in the output,
``a = <y, s> / <s, s>``, so residual noise (uncorrelated with the speech) does not count
as kept speech; the loss is ``-20 log10 a``, pooled over all windows (energy-weighted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_S = 0.010
FLOOR_DB = -30.0  # a frame is speech when within this of the loud frames' median energy
MIN_PAUSE_S = 0.25  # longer than the default grace, so the gate has started to close
EDGE_S = 0.050  # a word's first (last) 50 ms: its first (last) consonant


@dataclass(frozen=True)
class Edges:
    onsets: np.ndarray  # sample index where speech starts after a pause
    offsets: np.ndarray  # sample index where speech stops before a pause
    active: np.ndarray  # bool per frame: speech


def find_edges(clean: np.ndarray, rate: int, min_pause_s: float = MIN_PAUSE_S) -> Edges:
    """Onsets after, and offsets before, pauses of at least ``min_pause_s`` in ``clean``."""
    n = max(1, round(FRAME_S * rate))
    frames = clean[: clean.size // n * n].reshape(-1, n).astype(np.float64)
    energy = (frames**2).mean(axis=1)
    loud = np.median(energy[energy > 0.1 * energy.max()])
    active = energy > loud * 10.0 ** (FLOOR_DB / 10.0)
    change = np.flatnonzero(np.diff(active.astype(np.int8)))  # last frame before a change
    starts = change[active[change + 1]] + 1
    stops = change[~active[change + 1]] + 1
    if active[0]:
        starts = np.concatenate([[0], starts])
    if active[-1]:
        stops = np.concatenate([stops, [active.size]])
    min_pause = round(min_pause_s / FRAME_S)
    gap_before = starts - np.concatenate([[-(10**9)], stops[:-1]])
    gap_after = np.concatenate([starts[1:], [10**9]]) - stops
    return Edges(starts[gap_before >= min_pause] * n, stops[gap_after >= min_pause] * n, active)


def _loss_db(kept: float, energy: float) -> float:
    return float(-20.0 * np.log10(max(kept / max(energy, 1e-20), 1e-3)))


@dataclass
class EdgeLoss:
    onset_db: float
    offset_db: float
    body_db: float  # all speech frames: the model's own speech loss, for context
    onsets: int
    offsets: int


def edge_loss(
    clean: np.ndarray, out: np.ndarray, rate: int, min_pause_s: float = MIN_PAUSE_S
) -> EdgeLoss:
    """Pooled onset/offset/body loss of ``out`` (aligned with ``clean``, same length)."""
    return pooled([(clean, out)], rate, min_pause_s)


def pooled(
    pairs: list[tuple[np.ndarray, np.ndarray]], rate: int, min_pause_s: float = MIN_PAUSE_S
) -> EdgeLoss:
    """The losses over many (clean, output) pairs, each edge window weighted by its energy."""
    w = round(EDGE_S * rate)
    sums = {"on": [0.0, 0.0], "off": [0.0, 0.0], "body": [0.0, 0.0]}
    counts = [0, 0]
    for clean, out in pairs:
        s = clean.astype(np.float64)
        y = out.astype(np.float64)
        edges = find_edges(s, rate, min_pause_s)
        windows = {
            "on": [slice(i, i + w) for i in edges.onsets],
            "off": [slice(max(0, i - w), i) for i in edges.offsets],
        }
        counts[0] += len(windows["on"])
        counts[1] += len(windows["off"])
        for key, spans in windows.items():
            for span in spans:
                sums[key][0] += float(np.dot(y[span], s[span]))
                sums[key][1] += float(np.dot(s[span], s[span]))
        n = max(1, round(FRAME_S * rate))
        body = np.repeat(edges.active, n)
        body = np.concatenate([body, np.zeros(s.size - body.size, bool)])
        sums["body"][0] += float(np.dot(y[body], s[body]))
        sums["body"][1] += float(np.dot(s[body], s[body]))
    return EdgeLoss(_loss_db(*sums["on"]), _loss_db(*sums["off"]), _loss_db(*sums["body"]), *counts)


def table(
    mixtures: list,
    lookaheads: tuple[float, ...],
    method: str = "neural",
    models_dir: str | None = None,
    model: str | None = None,
) -> str:
    """Markdown: onset/offset/body loss and SI-SDR per onset look-ahead on ``mixtures``.

    "median" is the median over mixtures of each one's onset loss (robust to the few
    mixtures where the model removes the speech itself, e.g. babble at 0 dB).
    """
    from dataclasses import replace

    from jump.commands.audio import denoise_array
    from jump.denoise import DenoiseSettings
    from jump.lab.denoise.metrics import si_sdr
    from jump.lab.denoise.mixtures import RATE

    lines = [
        "| look-ahead (added latency) | onset loss, pooled | onset loss, median | offset loss "
        "| speech loss (all) | SI-SDR |",
        "|---|---|---|---|---|---|",
    ]
    for ms in lookaheads:
        s = replace(DenoiseSettings(), method=method, lookahead_ms=ms)
        s = replace(s, neural_model=model) if model else s
        outs = [denoise_array(m.noisy, RATE, s, models_dir) for m in mixtures]
        pairs = [(m.clean, y) for m, y in zip(mixtures, outs, strict=True)]
        r = pooled(pairs, RATE)
        median = float(np.median([pooled([p], RATE).onset_db for p in pairs]))
        sdr = float(np.mean([si_sdr(c, y) for c, y in pairs]))
        lines.append(
            f"| {ms:.0f} ms | {r.onset_db:.2f} dB | {median:.2f} dB "
            f"| {r.offset_db:.2f} dB | {r.body_db:.2f} dB | {sdr:.2f} dB |"
        )
    lines.append(f"\n{len(mixtures)} mixtures, {r.onsets} onsets, {r.offsets} offsets")
    return "\n".join(lines)
