"""Jump Denoise's chooser: which neural stage runs — the one asked for, or ``auto`` decided
by a measured rate, with the fallback DeepFilterNet3 -> NSNet2 (-> the engine's classical
stage). The engine only calls ``effective``; ``jump/matte/auto.py`` is Jump Matte's chooser,
of the same shape.

``auto`` (the filter's default) loads DeepFilterNet3 and measures its CPU time per second
of audio on this machine, for the engine's row count, right there (about 50 ms of work on
the caller's thread, never on the audio thread): under ``RTF_LIMIT`` it runs, else NSNet2
(20 ms latency, about half the CPU). A model that cannot load (missing or corrupt file, no
onnxruntime) falls back to NSNet2; if that fails too the engine runs classical only. The
decision and any fallback are one log line and part of the engine's status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jump.defaults import AUTO, DENOISE_BEST_QUALITY, DENOISE_LOW_LATENCY

log = logging.getLogger("jump.denoise")

BEST_QUALITY = DENOISE_BEST_QUALITY
LOW_LATENCY = DENOISE_LOW_LATENCY
# DeepFilterNet3 needs about 0.1 s CPU per audio second on a 2-vCPU VM; beyond 0.35 the
# audio thread (shared with every other source and OBS's mixing) has too little margin.
RTF_LIMIT = 0.35


@dataclass
class Choice:
    """The stage that runs (None: none could load), what was asked, and why this one."""

    requested: str
    stage: Any = None
    framing: Any = None
    note: str = ""  # the auto decision or the fallback, for the status line
    error: str = ""  # why no neural stage runs at all


def candidates(requested: str) -> list[str]:
    if requested == AUTO:
        return [BEST_QUALITY, LOW_LATENCY]
    return [requested] if requested == LOW_LATENCY else [requested, LOW_LATENCY]


def effective(requested: str, build: Callable[[str], tuple[Any, Any]]) -> Choice:
    """The stage that runs for the setting ``requested``: the first candidate that loads
    (and, for ``auto``, keeps up: the measurement is the built stage's ``realtime_factor``);
    logs the outcome.

    ``build(model_id)`` returns ``(stage, framing)`` or raises.
    """
    choice = Choice(requested)
    auto = requested == AUTO
    failed: list[str] = []
    for model_id in candidates(requested):
        try:
            stage, framing = build(model_id)
        except Exception as exc:
            failed.append(f"{model_id}: {exc}".replace("\n", " "))
            continue
        why = ""
        if auto and model_id == BEST_QUALITY:
            rtf = stage.realtime_factor()
            why = f"{model_id} needs {rtf:.2f} s CPU per audio second here, limit {RTF_LIMIT}"
            if rtf > RTF_LIMIT:
                failed.append(why)
                continue
        if failed:
            why = "; ".join(failed)
        if why:
            choice.note = ("auto: " if auto else "fallback: ") + why
        choice.stage, choice.framing = stage, framing
        log.info("denoise: %s runs (%s)", model_id, choice.note or "as set")
        return choice
    choice.error = "; ".join(failed)
    log.warning("denoise: neural stage off, classical only (%s)", choice.error)
    return choice
