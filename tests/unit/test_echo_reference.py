"""The "Remove the sound of" glue (jump/filters/echo_reference.py) without OBS: a capture
whose source is renamed or deleted while attached. The real libobs signals are covered
by tests/e2e/test_obs_echo.py."""

from __future__ import annotations

import logging

import numpy as np

from jump.filters.echo_reference import ReferenceInput


class FakeRing:
    def ahead_ms(self, ts: int) -> float:
        return 3.0

    def read(self, ts: int, n: int) -> np.ndarray:
        return np.full(n, 0.25, dtype=np.float32)


class FakeCapture:
    """What AudioCapture offers the glue; ``name`` changes as its rename signal sets it."""

    def __init__(self, name: str) -> None:
        self.name, self.ring, self.removed, self.closed = name, FakeRing(), False, False

    def is_source(self, parent: object) -> bool:
        return False

    def expired(self) -> bool:
        return self.removed

    def close(self) -> None:
        self.closed = True


class FakeEngine:
    dropped = 0

    def drop_reference(self) -> None:
        self.dropped += 1


def attached(name: str) -> tuple[ReferenceInput, FakeCapture]:
    ref = ReferenceInput("[Jump Denoise 'Mic']", 48000, 2)
    cap = FakeCapture(name)
    ref.name = ref.chosen = name
    ref.capture = cap
    return ref, cap


def test_renamed_reference_keeps_cancelling_with_one_log_line(caplog):
    ref, cap = attached("Game")
    engine = FakeEngine()
    caplog.set_level(logging.INFO, logger="jump.denoise.filter")
    cap.name = "Game 2"  # OBS renamed the source
    for ts in range(5):
        out = ref.read(ts, 480, None, engine)
        assert out is not None and out.shape == (480,) and np.all(out == 0.25)
    assert ref.name == "Game 2" and ref.state == "on" and engine.dropped == 0
    lines = [r.getMessage() for r in caplog.records if "is now" in r.getMessage()]
    assert lines == ["[Jump Denoise 'Mic'] 'Game' is now 'Game 2': still removing its sound"]
    # the settings still hold the old name: an update with it keeps the capture
    ref.select("Game", None)
    assert ref.capture is cap and not cap.closed
    # and the renamed source deleted later: plain denoise, named by its new name
    cap.removed = True
    assert ref.read(9, 480, None, engine) is None
    assert engine.dropped == 1 and cap.closed and ref.state == "off"
    assert any("'Game 2' was removed" in r.getMessage() for r in caplog.records)
