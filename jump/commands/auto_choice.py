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


def _time_rung(settings, models_dir, frame, rung, fps: float) -> float:
    """The time the worker would feed Auto for ``rung`` (ms): the whole engine call, or a
    carried rung's own cost per frame (``Engine.frame_cost_ms``: the carry, or its key's
    share). The engine is the one the worker would open for the rung."""
    from jump.matte.worker import open_engine

    engine = open_engine(rung.settings(settings), models_dir)
    try:
        engine.process_detailed(frame, "bgr", want_raw=False)  # warm-up: session and buffers
        if rung.every > 1:  # its key runs on a thread of its own: play a second of frames
            for _ in range(max(TIMED_MASKS, round(fps))):
                engine.process_detailed(frame, "bgr", want_raw=False)
                time.sleep(1.0 / max(1.0, fps))
            return float(engine.frame_cost_ms(0.0))
        times = []
        for _ in range(TIMED_MASKS):
            t0 = time.perf_counter()
            engine.process_detailed(frame, "bgr", want_raw=False)
            times.append(1e3 * (time.perf_counter() - t0))
        return statistics.median(times)
    finally:
        engine.close()


def matte_auto(settings, models_dir, frame, fps: float) -> AutoChoice:
    """The rung the filter's Auto settles on for this frame size at ``fps`` on this machine."""
    from jump.matte.auto import AUTO, UP_FRACTION, MatteChooser

    # the filter's own chooser: the same ladder (CPU, GPU or plain) and the same start rung
    chooser = MatteChooser(models_dir)
    chooser.effective(settings.with_(model=AUTO), fps)
    auto = chooser.auto
    measured: dict[str, float] = {}

    def mask_ms(rung) -> float:
        if rung.label not in measured:
            measured[rung.label] = _time_rung(settings, models_dir, frame, rung, fps)
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
