"""Model "auto": the best model the machine keeps up with, chosen from measured mask times.

The worker times every mask (the whole engine call: what decides whether it keeps up) and
feeds the times here with the source's frame rate. The policy walks a ladder, best first:

    rvm 448 px → rvm 320 px → rvm 256 px → mediapipe

(on an accelerator ``GPU_LADDER`` adds 576 and 768 above, each also with the inner-size
guard; on the CPU alone ``CPU_LADDER`` adds carried rungs below).

Budget: a rung fits when its mask time is ≤ ``BUDGET`` (70 %) of the frame interval — the
rest is left for OBS, the encoder and the load spikes of a shared machine.

- **Down** when the *median* over the last ``DOWN_AFTER_S`` seconds is over budget (a
  median, so single spikes on a loaded box never count). It skips rungs that cannot fit
  either, predicted from the measured time and the rungs' nominal relative costs.
- **Up** one rung when the median over the last ``UP_AFTER_S`` seconds is under
  ``UP_FRACTION`` of the interval (room enough that the next rung probably fits). A rung
  that had to be left again waits twice as long before the next try (up to
  ``MAX_UP_WAIT_S``): a machine on the edge settles instead of oscillating.

``MatteChooser`` is Jump Matte's chooser, the one thing the worker calls: ``effective``
turns the user's settings into the settings the engine runs ("auto" resolved to the
current rung), ``observe`` feeds it one mask time. ``jump/denoise/auto.py`` is Jump
Denoise's chooser, of the same shape.

OBS-free; ``tests/unit/test_auto.py`` drives it with synthetic timings.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass

from jump.defaults import AUTO
from jump.matte.settings import MatteSettings
from jump.sessions import cpu_only

log = logging.getLogger("jump.matte")

__all__ = ["AUTO", "LADDER", "AutoModel", "MatteChooser", "Rung", "on_device"]
BUDGET = 0.70  # mask time ≤ 70 % of the frame interval
UP_FRACTION = 0.35  # step up only with the mask under 35 % of the interval
DOWN_AFTER_S = 3.0
UP_AFTER_S = 20.0
MAX_UP_WAIT_S = 600.0
MIN_SAMPLES = 5  # never decide on fewer masks than this
# JUMP_MATTE_PATH=device forces the device path (jump.matte.device_engine; also on the CPU
# provider, for tests and the bench); =engine forces the numpy engine; unset: the device
# path where an accelerator runs.
PATH_ENV = "JUMP_MATTE_PATH"


def on_device(settings: MatteSettings) -> bool:
    """Whether the mask runs on the execution provider (``DeviceMatteEngine``) for
    ``settings``: an accelerator runs the session, or ``JUMP_MATTE_PATH`` says so."""
    choice = os.environ.get(PATH_ENV, "").strip().lower()
    if choice in ("device", "engine"):
        return choice == "device"
    return not cpu_only(settings.provider)


@dataclass(frozen=True)
class Rung:
    model: str
    inner: int = 0  # RVM inner-pass long side; 0 = the manifest's
    cost: float = 1.0  # nominal time relative to the top rung, only to skip rungs going down
    # > 1: the model runs on every ``every``-th frame at most and its matte is carried to
    # the others with motion (jump.matte.propagate); its time is counted per frame
    every: int = 1
    # > 0: RVM also runs at this inner size on the same frame, fused (jump.matte.guard)
    guard: int = 0

    @property
    def label(self) -> str:
        label = f"{self.model} {self.inner} px" if self.inner else self.model
        if self.guard:
            label += f" + {self.guard} guard"
        return f"{label} every {_nth(self.every)} frame + motion" if self.every > 1 else label

    def settings(self, settings: MatteSettings) -> MatteSettings:
        """``settings`` running this rung."""
        return settings.with_(
            model=self.model, rvm_inner=self.inner, key_every=self.every, rvm_guard=self.guard
        )


def _nth(n: int) -> str:
    return f"{n}{'nd' if n == 2 else 'rd' if n == 3 else 'th'}"


# RVM's cost follows the inner pass's area; MediaPipe is ~20× cheaper than RVM 448 on CPU
# (docs/benchmarks.md). Costs only pick how far to fall; measurements decide the rest.
LADDER: tuple[Rung, ...] = (
    Rung("rvm", 448, 1.0),
    Rung("rvm", 320, 0.55),
    Rung("rvm", 256, 0.38),
    Rung("mediapipe", 0, 0.05),
)
# On the CPU alone the heavy model cannot run on every frame of a webcam: RVM on every
# 3rd frame, carried by optical flow to the others (jump.matte.propagate; the rung's time
# is the larger of the carry per frame and RVM's run over MAX_KEY_FRAMES: the carry must
# keep up, a key must come every 0.5 s) measured better than MediaPipe on every frame
# (docs/benchmarks.md, "RVM carried by motion").
CPU_LADDER: tuple[Rung, ...] = (
    *LADDER[:3],
    Rung("rvm", 320, 0.25, every=3),
    Rung("rvm", 256, 0.2, every=3),
    LADDER[-1],
)
# A named choice beside "auto": Auto's CPU start, held whatever the budget says: for a
# streamer who prefers RVM's matte, now and then a frame late, to MediaPipe's on time, on a
# CPU that OBS's own rendering leaves short (Auto falls to MediaPipe there: benchmarks.md).
CARRIED = "rvm-carried"
CARRIED_RUNG = CPU_LADDER[-2]


def model_of(choice: str) -> str:
    """The model id a fixed choice runs ("rvm-carried" → "rvm"; others are model ids)."""
    return CARRIED_RUNG.model if choice == CARRIED else choice


# With the work on an accelerator (jump.matte.device_engine) there is room above 448: RVM's
# quality grows with its inner pass on average (docs/matte.md). Auto starts there at
# GPU_START (448) and climbs when the measured budget allows, like any other step up.
# Above each higher size, the same size with the inner-size guard (jump.matte.guard: RVM
# at a second inner size too, fused), which keeps what one size loses; the guard sizes are
# the measured best at each (docs/benchmarks.md, "The inner-size guard"). Its cost adds
# the guard's area.
GPU_LADDER: tuple[Rung, ...] = (
    Rung("rvm", 768, 2.9 + 1.65, guard=576),
    Rung("rvm", 768, 2.9),
    Rung("rvm", 576, 1.65 + 0.73, guard=384),
    Rung("rvm", 576, 1.65),
    *LADDER,
)
GPU_START = 4


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


class AutoModel:
    """The ladder position of one stream. ``observe`` returns the new rung on a change."""

    def __init__(
        self, ladder: tuple[Rung, ...] = LADDER, fps: float = 30.0, start_low: bool = False
    ) -> None:
        if not ladder:
            raise ValueError("empty ladder")
        self.ladder = ladder
        self.fps = fps
        # On the CPU alone the top rung costs seconds a mask on a small machine: starting
        # there would starve OBS until the first step down, so climb from the bottom instead.
        self.index = len(ladder) - 1 if start_low else 0
        self.reason = (
            "start: cheapest model first (CPU)" if start_low else "start: best model first"
        )
        carried = [i for i, r in enumerate(ladder) if r.every > 1]
        if start_low and carried:
            # a carried rung runs its model only when its thread is free, at low priority:
            # it cannot starve OBS the way RVM on every frame did, so start there
            self.index = carried[-1]
            self.reason = "start: the cheapest carried rung (CPU)"
        self._samples: deque[tuple[float, float]] = deque()  # (time s, mask ms) on this rung
        self._since = 0.0  # when the current rung started (first sample's time)
        self._fresh = True
        self._up_wait = [UP_AFTER_S] * len(ladder)  # per rung: wait before climbing to it

    @property
    def rung(self) -> Rung:
        return self.ladder[self.index]

    @property
    def interval_ms(self) -> float:
        return 1000.0 / max(1.0, self.fps)

    def set_fps(self, fps: float) -> None:
        if fps > 0 and fps == fps:
            self.fps = float(fps)

    def observe(self, now: float, mask_ms: float) -> Rung | None:
        """One finished mask: its time (ms) at ``now`` (s). Returns the new rung or None."""
        if self._fresh:
            self._since, self._fresh = now, False
        self._samples.append((now, mask_ms))
        while self._samples and now - self._samples[0][0] > UP_AFTER_S:
            self._samples.popleft()
        budget = BUDGET * self.interval_ms
        ran = now - self._since
        recent = [ms for t, ms in self._samples if now - t <= DOWN_AFTER_S]
        if len(recent) < MIN_SAMPLES:  # masks slower than the window: the last few instead
            recent = [ms for _, ms in list(self._samples)[-MIN_SAMPLES:]]
        if self.index < len(self.ladder) - 1 and ran >= DOWN_AFTER_S and len(recent) >= MIN_SAMPLES:
            m = median(recent)
            if m > budget:
                return self._down(m, budget)
        if self.index > 0 and ran >= self._up_wait[self.index - 1]:
            window = [ms for _, ms in self._samples]
            m = median(window)
            if len(window) >= MIN_SAMPLES and m <= UP_FRACTION * self.interval_ms:
                return self._move(
                    self.index - 1,
                    f"{self.rung.label} {m:.0f} ms/mask ≤ {UP_FRACTION:.0%} of "
                    f"{self.interval_ms:.0f} ms at {self.fps:g} fps for {ran:.0f} s",
                )
        return None

    def _down(self, m: float, budget: float) -> Rung:
        cur = self.rung
        target = len(self.ladder) - 1
        for i in range(self.index + 1, len(self.ladder)):
            if m * self.ladder[i].cost / cur.cost <= budget:
                target = i
                break
        # leaving a rung we climbed to: try it again only after twice the wait
        self._up_wait[self.index] = min(MAX_UP_WAIT_S, 2.0 * self._up_wait[self.index])
        return self._move(
            target,
            f"{cur.label} {m:.0f} ms/mask > {BUDGET:.0%} of {self.interval_ms:.0f} ms "
            f"at {self.fps:g} fps",
        )

    def _move(self, index: int, reason: str) -> Rung:
        self.index = index
        self.reason = reason
        self._samples.clear()
        self._fresh = True  # the new rung's first masks include loading: time from there
        return self.rung


class MatteChooser:
    """The model the engine runs for the model the user set: itself, or Auto's rung."""

    def __init__(self, models_dir: str | os.PathLike[str] | None = None) -> None:
        self.models_dir = models_dir
        self.auto: AutoModel | None = None  # the ladder position while the setting is "auto"
        self.held: Rung | None = None  # a fixed rung ("rvm-carried")

    def effective(self, settings: MatteSettings, fps: float) -> MatteSettings:
        """The settings the engine runs: model "auto" resolved to its current rung,
        "rvm-carried" to its fixed one."""
        if settings.model != AUTO:
            self.auto = None
            self.held = CARRIED_RUNG if settings.model == CARRIED else None
            return settings if self.held is None else self.held.settings(settings)
        self.held = None
        if self.auto is None:
            from jump.matte.model import available_matte_models

            present = set(available_matte_models(self.models_dir))
            gpu = on_device(settings)  # the mask's work on an accelerator: room above 448
            cpu = cpu_only(settings.provider)
            full = GPU_LADDER if gpu and not cpu else CPU_LADDER if cpu else LADDER
            # rungs whose file is missing would silently run their fallback: leave them out
            ladder = tuple(r for r in full if r.model in present) or LADDER[-1:]
            self.auto = AutoModel(ladder, fps, start_low=cpu)
            if full is GPU_LADDER and full[GPU_START] in ladder:  # higher rungs are earned
                self.auto.index = ladder.index(full[GPU_START])
            log.info("Jump Matte: Auto starts on %s (%s)", self.auto.rung.label, self.auto.reason)
        return self.auto.rung.settings(settings)

    def observe(self, now: float, mask_ms: float, fps: float) -> bool:
        """One finished mask's time (ms) at ``now`` (s); True when Auto changed rung (the
        caller then asks ``effective`` again and applies it like a settings change)."""
        auto = self.auto
        if auto is None:
            return False
        auto.set_fps(fps)
        old = auto.rung.label
        if auto.observe(now, mask_ms) is None:
            return False
        log.info("Jump Matte: Auto: %s → %s (%s)", old, auto.rung.label, auto.reason)
        return True

    def label(self, running_model: str) -> str:
        """What runs, for the stats line: "rvm 448 px (auto)", "mediapipe"."""
        auto = self.auto
        if auto is not None:
            return f"{auto.rung.label} (auto)"
        return self.held.label if self.held is not None else running_model
