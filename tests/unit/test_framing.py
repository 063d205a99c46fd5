"""Auto-framing: the crop geometry, and that a locked crop raises IoU on a small subject."""

from __future__ import annotations

import numpy as np

from jump.lab.matte import metrics
from jump.matte import framing
from jump.matte.engine import MatteEngine
from jump.matte.settings import MatteSettings
from tests.helpers import matte_data as md

SMALL = ("person-2", "car-2", (0.5, 0.5, 0.95))  # half the frame tall: ~70 px at 256×144


def _prob_with_box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    prob = np.zeros((144, 256), np.float32)
    prob[y0:y1, x0:x1] = 1.0
    return prob


def test_crop_follows_a_small_subject_and_keeps_the_model_aspect() -> None:
    f = framing.AutoFramer()
    f.update(_prob_with_box(100, 80, 130, 140), aspect=1.0)
    x0, y0, x1, y1 = f.rect
    assert f.rect != framing.FULL
    assert x0 <= 100 / 256 and x1 >= 130 / 256 and y0 <= 80 / 144 and y1 >= 140 / 144 - 1e-6
    assert abs((x1 - x0) - (y1 - y0)) < 1e-6  # aspect 1: same fraction both ways


def test_crop_grows_at_once_shrinks_slowly_and_releases() -> None:
    f = framing.AutoFramer()
    f.update(_prob_with_box(100, 80, 130, 140), 1.0)
    small = f.rect
    f.update(_prob_with_box(90, 70, 140, 140), 1.0)
    grown = f.rect
    assert grown[0] <= 90 / 256 and grown[2] >= 140 / 256  # the subject is never cut
    f.update(_prob_with_box(100, 80, 130, 140), 1.0)
    assert small[0] > f.rect[0] > grown[0]  # part of the way back, not all at once
    f.update(np.zeros((144, 256), np.float32), 1.0)
    assert f.rect == framing.FULL  # lost: the whole frame again
    f.update(_prob_with_box(10, 5, 250, 144), 1.0)
    assert f.rect == framing.FULL  # filling the frame: nothing to gain


def test_locked_crop_raises_iou_on_a_small_subject() -> None:
    frame, truth = md.composite(*SMALL)
    frame = md.bgra(frame)
    settings = MatteSettings(threads=1, temporal=0.0, auto_frame=False)
    plain = MatteEngine(settings, md.MODELS).process(frame)
    framed = MatteEngine(settings.with_(auto_frame=True), md.MODELS)
    # as after acquisition: the crop around where the subject is
    framed._framer.rect = framing.target_rect(framing.subject_box(truth), 1.0)
    alpha = framed.process(frame)
    before, after = metrics.iou(plain, truth), metrics.iou(alpha, truth)
    assert after > before + 0.3, (before, after)
    assert after > 0.8
