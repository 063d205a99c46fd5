"""The live mode without a clock: what the viewer sees, given how late every result lands.

``python -m jump matte --live`` measures the real thing, but its figures depend on how
much CPU the worker gets (on a shared box: nothing reproducible). This replays the same
hand-over deterministically, in frames instead of seconds:

- the heavy model's result for frame k lands at frame k + ``latency`` (its time over the
  frame period: RVM 256 at ~90 ms on one core at 30 fps is 3) — ``KeyRunner(inline=True)``;
- the worker's carried mask of frame j is done within the frame (the carry costs 4–17 ms);
- a webcam is an async source: the filter hands the worker frame i at tick i (OBS's
  ``filter_video``) and reads the newest mask at render i, before the worker has
  finished that frame: at tick i the newest mask is of frame i − ``HANDOVER`` (1). A
  synchronous source is staged: frame i − 1 is read back from the GPU at render i, and
  the newest mask is of frame i − 2 (``frames_from="staged"``);
- it draws frame i − 1 of a webcam (the filter gives OBS each async frame back a tick
  later: ``HELD_FRAMES``), frame i of a staged source, or with "delay video" of D frames
  frame i − D, with the newest mask of a frame at or before the drawn one; before the
  first mask nothing is drawn (α = 0).

``simulate`` returns, per tick, the frame drawn and the alpha shown, scored against the
truth of the frame drawn, exactly as the live command scores it.
"""

from __future__ import annotations

import cv2
import numpy as np

from jump.lab.matte import moving_clips
from jump.matte.worker import HANDOVER_FRAMES, HELD_FRAMES, display_lead

FRAMES_FROM = "async"  # a webcam's frames, from filter_video
HANDOVER = HANDOVER_FRAMES[FRAMES_FROM]  # frames between a picture and the newest mask on it
HELD = HELD_FRAMES[FRAMES_FROM]  # frames the filter holds the picture without "delay video"


def shown(
    n: int, delay_frames: int = 0, handover: int = HANDOVER, hold: int = HELD
) -> tuple[list[int], list[int | None]]:
    """For ticks 0..n−1: (frame drawn, frame whose mask is shown or None: nothing drawn).
    ``hold``: frames the picture is held without "delay video"."""
    drawn, mask_of = [], []
    for i in range(n):
        newest = i - handover
        d = i - hold if delay_frames <= 0 else (i if newest < 0 else max(0, i - delay_frames))
        drawn.append(max(0, d))
        mask_of.append(None if newest < 0 or d < 0 else min(d, newest))
    return drawn, mask_of


def worker_frames(frames: list[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    """The frames as the worker gets them: BGRA at its work size (OBS scales on the GPU)."""
    return [
        cv2.cvtColor(cv2.resize(f, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2BGRA)
        for f in frames
    ]


def simulate(
    engine,
    frames: list[np.ndarray],
    delay_frames: int = 0,
    frames_from: str = FRAMES_FROM,
    lead: int | None = None,
) -> tuple[list[int], list[np.ndarray]]:
    """Run ``engine`` (inline: its latency is its own) on every frame in order, as the
    worker would, and return (frame drawn, alpha shown) per tick at the frames' size.
    ``frames_from``: "async" (a webcam) or "staged" (the GPU readback of other sources);
    ``lead``: the carry's lead (None: what the worker sets for this delay and path)."""
    handover, hold = HANDOVER_FRAMES[frames_from], HELD_FRAMES[frames_from]
    if hasattr(engine, "lead"):
        late = delay_frames if delay_frames > 0 else hold
        engine.lead = display_lead(late, frames_from) if lead is None else lead
    h, w = frames[0].shape[:2]
    work = worker_frames(frames, engine.work_size(w, h))
    masks = [engine.process_detailed(f, "bgra", want_raw=False).alpha for f in work]
    close = getattr(engine, "close", None)
    if close is not None:
        close()
    drawn, mask_of = shown(len(frames), delay_frames, handover, hold)
    empty = np.zeros((h, w), np.uint8)
    alphas = []
    for j in mask_of:
        m = empty if j is None else masks[j]
        alphas.append(m if m.shape == (h, w) else cv2.resize(m, (w, h), cv2.INTER_LINEAR))
    return drawn, alphas


def score(
    drawn: list[int],
    alphas: list[np.ndarray],
    truth: np.ndarray,
    cuts: list[int],
    first: int = 0,
) -> dict[str, float]:
    """The live command's score: against the truth of the frame drawn at each tick, from
    tick ``first`` on (``HANDOVER``: from the first mask on, as the live command prints)."""
    shown_cuts = [
        i - first
        for i in range(first + 1, len(drawn))
        if any(drawn[i - 1] < c <= drawn[i] for c in cuts)
    ]
    return moving_clips.score(alphas[first:], truth[drawn[first:]], shown_cuts)
