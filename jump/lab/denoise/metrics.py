"""Speech quality metrics against a clean reference, all computed at 16 kHz.

PESQ is defined at 8/16 kHz and STOI resamples to 10 kHz internally, so every signal is
brought to 16 kHz once (polyphase) and all three metrics see the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

METRIC_RATE = 16000


def to_16k(x: np.ndarray, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    if rate == METRIC_RATE:
        return np.asarray(x, dtype=np.float64)
    ratio = Fraction(METRIC_RATE, rate)
    return resample_poly(np.asarray(x, dtype=np.float64), ratio.numerator, ratio.denominator)


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al., 2019)."""
    s = reference - reference.mean()
    e = estimate - estimate.mean()
    alpha = np.dot(e, s) / max(np.dot(s, s), 1e-20)
    target = alpha * s
    return float(
        10.0 * np.log10(max(np.dot(target, target), 1e-20) / max(np.sum((e - target) ** 2), 1e-20))
    )


def pesq_wb(reference: np.ndarray, estimate: np.ndarray) -> float:
    from pesq import pesq

    return float(pesq(METRIC_RATE, reference, estimate, "wb"))


def stoi(reference: np.ndarray, estimate: np.ndarray) -> float:
    from pystoi import stoi as _stoi

    return float(_stoi(reference, estimate, METRIC_RATE, extended=False))


@dataclass
class Scores:
    pesq: float
    stoi: float
    si_sdr: float


def score(clean: np.ndarray, processed: np.ndarray, rate: int) -> Scores:
    ref = to_16k(clean, rate)
    est = to_16k(processed, rate)
    n = min(ref.size, est.size)
    ref, est = ref[:n], est[:n]
    return Scores(pesq_wb(ref, est), stoi(ref, est), si_sdr(ref, est))
