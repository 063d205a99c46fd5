"""``--model auto`` on the command line: what the OBS filter's Auto would run here.

No new policy: the filter's own chooser (``jump.matte.auto.AutoModel``, the ladder and the
CPU-only start the worker uses) is fed mask times measured on this machine on the file's
first frame, on a virtual clock at the source's frame rate, until it settles. The rung it
settles on, and its reason, are the answer.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

SETTLE_S = 60.0  # unchanged this long (virtual seconds) = settled
LIMIT_S = 600.0
TIMED_MASKS = 3


@dataclass(frozen=True)
class AutoChoice:
    rung: object  # jump.matte.auto.Rung
    reason: str
    mask_ms: dict  # rung label -> measured ms


def _cpu_only(provider: str) -> bool:
    from jump.matte.auto import cpu_only

    return cpu_only(provider)


def matte_auto(settings, models_dir, frame, fps: float) -> AutoChoice:
    """The rung the filter's Auto settles on for this frame size at ``fps`` on this machine."""
    from jump.matte.auto import LADDER, UP_FRACTION, AutoModel
    from jump.matte.engine import MatteEngine
    from jump.matte.model import available_matte_models

    present = set(available_matte_models(models_dir))
    # as the worker does: rungs whose file is missing would silently run their fallback
    ladder = tuple(r for r in LADDER if r.model in present) or LADDER[-1:]
    auto = AutoModel(ladder, fps, start_low=_cpu_only(settings.provider))
    measured: dict[str, float] = {}

    def mask_ms(rung) -> float:
        if rung.label not in measured:
            matter = MatteEngine(settings.with_(model=rung.model, rvm_inner=rung.inner), models_dir)
            matter.process(frame, "bgr")  # warm-up: session and buffers
            times = []
            for _ in range(TIMED_MASKS):
                t0 = time.perf_counter()
                matter.process(frame, "bgr")
                times.append(1e3 * (time.perf_counter() - t0))
            measured[rung.label] = statistics.median(times)
        return measured[rung.label]

    interval = 1.0 / max(1.0, fps)
    now = since = 0.0
    while now < LIMIT_S and now - since < SETTLE_S:
        ms = mask_ms(auto.rung)
        now += max(interval, ms / 1e3)  # a busy worker takes the next frame when done
        if auto.observe(now, ms) is not None:
            since = now
    times = ", ".join(f"{k} {v:.0f} ms" for k, v in measured.items())
    reason = f"{auto.reason}; measured per mask here: {times} at {fps:g} fps"
    if auto.index > 0 and since == 0.0:  # never moved: say why it does not climb
        reason += (f"; climbing needs ≤ {UP_FRACTION:.0%} of the {1e3 * interval:.0f} ms "
                   "frame interval")  # fmt: skip
    return AutoChoice(auto.rung, reason, measured)
