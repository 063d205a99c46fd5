"""Model "auto": the ladder policy driven by synthetic mask timings (no models, no OBS)."""

from __future__ import annotations

import numpy as np

from jump.matte import auto
from jump.matte.auto import LADDER, AutoModel

FPS = 30.0  # 33.3 ms interval: budget 23.3 ms, step-up room 11.7 ms


def feed(policy: AutoModel, start: float, seconds: float, ms_of, rate: float = 10.0) -> list:
    """Masks at ``rate`` per second for ``seconds``; ms_of(rung, i) gives each time.
    Returns [(time, new rung)] for every change."""
    changes = []
    for i in range(int(seconds * rate)):
        now = start + i / rate
        new = policy.observe(now, ms_of(policy.rung, i))
        if new is not None:
            changes.append((now, new))
    return changes


def test_steps_down_only_after_sustained_overload_and_skips_what_cannot_fit() -> None:
    p = AutoModel(fps=FPS)
    # RVM 448 at 180 ms: neither smaller RVM fits by its nominal cost → straight to mediapipe
    changes = feed(p, 0.0, 10.0, lambda r, i: 180.0 if r.model == "rvm" else 8.0)
    assert [c[1].label for c in changes] == ["mediapipe"]
    assert changes[0][0] >= auto.DOWN_AFTER_S
    assert "rvm 448 px 180 ms/mask > 70% of 33 ms at 30 fps" in p.reason


def test_single_spikes_never_step_down() -> None:
    p = AutoModel(fps=FPS)
    # 15 ms masks with every fourth one a 200 ms spike (a loaded box): the median fits
    assert feed(p, 0.0, 30.0, lambda r, i: 200.0 if i % 4 == 0 else 15.0) == []
    assert p.rung == LADDER[0]


def test_respects_the_ladder_order_one_rung_at_a_time_when_close() -> None:
    p = AutoModel(fps=FPS)
    # just over budget at 448, fits at 320 by nominal cost → the next rung, not the floor
    times = {448: 30.0, 320: 20.0, 256: 14.0}
    changes = feed(p, 0.0, 10.0, lambda r, i: times.get(r.inner, 5.0))
    assert [c[1].label for c in changes] == ["rvm 320 px"]


def test_steps_up_after_sustained_headroom() -> None:
    p = AutoModel(fps=FPS)
    load = {"busy": True}

    def ms(rung, i):  # the box was busy, then frees up: everything fast
        if not load["busy"]:
            return 5.0
        return 100.0 if rung.model == "rvm" else 6.0

    feed(p, 0.0, 10.0, ms)
    assert p.rung.model == "mediapipe"
    load["busy"] = False
    changes = feed(p, 10.0, 300.0, ms)
    assert [c[1].label for c in changes] == ["rvm 256 px", "rvm 320 px", "rvm 448 px"]
    gaps = np.diff([0.0] + [c[0] for c in changes])
    assert min(gaps) >= auto.UP_AFTER_S  # never before a full window of headroom


def test_no_oscillation_on_the_edge() -> None:
    p = AutoModel(fps=FPS)
    # mediapipe has room, rvm 256 never fits: every climb fails, and the waits double
    changes = feed(p, 0.0, 1800.0, lambda r, i: 40.0 if r.model == "rvm" else 5.0)
    ups = [t for t, r in changes if r.model == "rvm"]
    assert 2 <= len(ups) <= 8  # 30 minutes, waits 40, 80, 160, 320, 600 s…
    assert np.all(np.diff(np.diff(ups)) > 0)  # the gaps grow
    assert p.rung.model == "mediapipe" or changes[-1][0] > 1790.0 - auto.DOWN_AFTER_S - 1


def test_fps_sets_the_budget() -> None:
    slow, fast = AutoModel(fps=15.0), AutoModel(fps=60.0)
    # 30 ms: fits 70 % of 66.7 ms, not of 16.7 ms
    assert feed(slow, 0.0, 10.0, lambda r, i: 30.0) == []
    assert feed(fast, 0.0, 10.0, lambda r, i: 30.0 if r.model == "rvm" else 3.0) != []


def test_very_slow_masks_still_step_down() -> None:
    p = AutoModel(fps=FPS)
    # 1.2 s per mask (a starved CPU): fewer masks than the window wants, still decides
    changes = feed(p, 0.0, 12.0, lambda r, i: 1200.0 if r.model == "rvm" else 8.0, rate=1 / 1.2)
    assert [c[1].label for c in changes] == ["mediapipe"]


def test_worker_applies_autos_choice_like_a_settings_change(caplog, monkeypatch) -> None:
    import logging
    import time

    from jump.matte.settings import MatteSettings
    from jump.matte.worker import MatteWorker
    from tests.helpers import matte_data as md

    monkeypatch.setattr(auto, "UP_AFTER_S", 1.0)  # climb after 1 s of room, not 20
    frame = md.bgra(md.composite("person-2", "car-2")[0])
    caplog.set_level(logging.INFO, logger="jump.matte")
    settings = MatteSettings(model="auto", threads=1, provider="cpu")
    carried = "rvm 256 px every 3rd frame + motion (auto)"
    with MatteWorker(settings, md.MODELS) as worker:
        # the CPU alone: RVM on every 3rd frame at most, carried by motion to the others
        assert worker.running == carried
        assert worker.input_size != (256, 144)
        worker.set_fps(1.0)  # a 700 ms budget: the carried rung leaves room, Auto must climb
        deadline = time.monotonic() + 120.0
        i = 0
        while worker.running == carried and time.monotonic() < deadline:
            i += 1
            w, h = worker.work_size(1280, 720)
            worker.submit(cv2_resize(frame, w, h), i)
            time.sleep(0.05)
        assert worker.running == "rvm 320 px every 3rd frame + motion (auto)"
        assert worker.error is None
        assert worker.stats.model_runs < worker.stats.masks  # most masks were carried
    lines = [r.getMessage() for r in caplog.records if f"Auto: {carried[:-7]} →" in r.getMessage()]
    assert lines and "rvm 320 px every 3rd" in lines[0] and "at 1 fps" in lines[0], lines


def cv2_resize(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)


def test_filter_offers_auto_first_then_the_named_choices() -> None:
    from jump.filters.matte_settings import model_choices

    ids = [mid for _, mid in model_choices(["mediapipe", "selfie-landscape", "rvm", "sinet"])]
    assert ids == ["auto", "rvm", "rvm-carried", "mediapipe", "selfie-landscape", "sinet"]
    # without RVM's file neither "Best quality" nor the carried RVM is offered
    assert [mid for _, mid in model_choices(["mediapipe"])] == ["auto", "mediapipe"]


def test_the_carried_choice_runs_autos_cpu_start_and_holds_it() -> None:
    """ "rvm-carried" is Auto's CPU start held: RVM 256 every 3rd frame + motion."""
    from jump.matte.auto import CARRIED, MatteChooser, model_of

    chooser = MatteChooser()
    from jump.matte.settings import MatteSettings

    runs = chooser.effective(MatteSettings(model=CARRIED, threads=2), FPS)
    assert (runs.model, runs.rvm_inner, runs.key_every) == ("rvm", 256, 3)
    assert chooser.auto is None and not chooser.observe(0.0, 1e3, FPS)  # never moves
    assert chooser.label("rvm") == "rvm 256 px every 3rd frame + motion"
    assert model_of(CARRIED) == "rvm" and model_of("mediapipe") == "mediapipe"


def test_on_the_cpu_it_starts_at_the_bottom_and_climbs_with_room() -> None:
    """start_low: the cheapest rung first; sustained headroom climbs one rung at a time."""
    p = AutoModel(fps=FPS, start_low=True)
    assert p.rung == LADDER[-1]
    t, changes = 0.0, []
    while t < 30.0:
        change = p.observe(t, 2.0)  # far under 35 % of the 33 ms interval
        if change is not None:
            changes.append(change)
        t += 1.0 / FPS
    assert changes == [LADDER[-2]]  # one rung after UP_AFTER_S, not a jump to the top


def test_a_worker_switched_to_the_carried_choice_carries_rvm() -> None:
    import time

    from jump.matte.auto import CARRIED
    from jump.matte.settings import MatteSettings
    from jump.matte.worker import MatteWorker
    from tests.helpers import matte_data as md

    frame = md.bgra(md.composite("person-2", "car-2")[0])
    with MatteWorker(MatteSettings(model="mediapipe", threads=1), md.MODELS) as worker:
        worker.update(MatteSettings(model=CARRIED, threads=1))  # mid-stream
        w, h = worker.work_size(1280, 720)  # RVM's input size, asked from the render thread
        runs0, masks0 = worker.stats.model_runs, worker.stats.masks
        deadline = time.monotonic() + 60.0
        i = 0
        while worker.stats.masks - masks0 < 12 and time.monotonic() < deadline:
            i += 1
            worker.submit(cv2_resize(frame, w, h), i)
            time.sleep(0.04)
        assert worker.error is None and worker.stats.masks - masks0 >= 12
        assert worker.running == "rvm 256 px every 3rd frame + motion"
        assert worker.stats.model_runs - runs0 < worker.stats.masks - masks0  # carried
