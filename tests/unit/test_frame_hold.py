"""An async frame held back one tick (``jump.obs.frame_hold``), without OBS.

What OBS's frame cache needs (obs-source.c, ``filter_frame``; OBS's own async delay
filter): every frame ``filter_video`` takes comes back exactly once, either returned at a
later tick or released to the parent; never returned twice, never lost. Frames here are
the real ``obs_source_frame`` struct in memory; the release is recorded.
"""

from __future__ import annotations

import numpy as np
import pytest

from jump.filters import matte as matte_filter
from jump.lab.matte.webcam_frames import encode
from jump.obs import frame_hold, instances, registry
from jump.obs import libobs as L
from jump.obs.video_frame import AsyncFrame
from tests.unit.test_async_frames import FakeWorker, in_memory, new_filter, render

PARENT, FILTER = 0x5000, 0x6000
FRAME_NS = 33_333_333


class Releases:
    """The two libobs calls the hold makes: the filter's parent, and frames given back."""

    def __init__(self) -> None:
        self.released: list[tuple[int, int]] = []

    def obs_filter_get_parent(self, ptr):
        return PARENT if ptr == FILTER else None

    def obs_source_release_frame(self, parent, frame):
        self.released.append((parent, frame))


@pytest.fixture
def libobs(monkeypatch) -> Releases:
    fake = Releases()
    monkeypatch.setattr(L, "fn", lambda: fake)
    return fake


@pytest.fixture
def frames():
    """Five webcam frames, a frame period apart (pointers; kept alive by the fixture)."""
    picture = np.zeros((36, 64, 3), np.uint8)
    made = [in_memory(encode(picture, "I420")) for _ in range(5)]
    for i, (ptr, _) in enumerate(made):
        L.obs_source_frame.from_address(ptr).timestamp = 1_000_000_000 + i * FRAME_NS
    return [ptr for ptr, _ in made], made


def test_each_frame_comes_back_once_a_tick_later(libobs, frames) -> None:
    ptrs, _keep = frames
    key = 4242
    out = [frame_hold.swap(key, f, True, PARENT) for f in ptrs[:3]]
    assert out == [None, ptrs[0], ptrs[1]] and frame_hold.kept(key)  # NULL first: OBS keeps
    assert frame_hold.swap(key, ptrs[3], False, PARENT) == ptrs[3]  # holding stops
    assert libobs.released == [(PARENT, ptrs[2])] and not frame_hold.kept(key)
    assert frame_hold.swap(key, ptrs[4], True, PARENT) is None
    frame_hold.release(key, PARENT)  # filter_remove
    assert libobs.released == [(PARENT, ptrs[2]), (PARENT, ptrs[4])]
    assert not frame_hold.kept(key)


def test_a_frame_kept_across_a_jump_in_time_is_given_back_not_drawn(libobs, frames) -> None:
    ptrs, _keep = frames
    key = 4243
    assert frame_hold.swap(key, ptrs[0], True, PARENT) is None
    # the filter was disabled for 2 s: OBS did not call it; then the clip restarts
    L.obs_source_frame.from_address(ptrs[1]).timestamp += 2_000_000_000
    assert frame_hold.swap(key, ptrs[1], True, PARENT) is None
    L.obs_source_frame.from_address(ptrs[2]).timestamp = 0  # backwards
    assert frame_hold.swap(key, ptrs[2], True, PARENT) is None
    assert libobs.released == [(PARENT, ptrs[0]), (PARENT, ptrs[1])]
    frame_hold.release(key, PARENT)


class Holder:
    """A filter instance that asks for the hold, or raises after it was holding."""

    def __init__(self) -> None:
        self.fail = False

    def filter_video(self, _frame: AsyncFrame) -> bool:
        if self.fail:
            raise RuntimeError("copy failed")
        return True


class FilterSource:
    ptr = FILTER


def test_the_c_callback_holds_and_never_returns_a_frame_twice(libobs, frames) -> None:
    ptrs, _keep = frames
    trampoline = registry._filter_video_trampoline("jump_test")
    remove = registry._filter_remove
    inst = Holder()
    key = instances.add("jump_test", inst, FilterSource())
    try:
        assert trampoline(key, ptrs[0]) is None
        assert trampoline(key, ptrs[1]) == ptrs[0]
        inst.fail = True  # Python fails: this frame goes back now, the kept one to OBS
        assert trampoline(key, ptrs[2]) == ptrs[2]
        assert libobs.released == [(PARENT, ptrs[1])]
        inst.fail = False
        assert trampoline(key, ptrs[3]) is None
        remove(key, PARENT)  # the filter is removed mid-stream
        assert libobs.released == [(PARENT, ptrs[1]), (PARENT, ptrs[3])]
        assert trampoline(999_999, ptrs[4]) == ptrs[4]  # an instance already gone
    finally:
        instances.remove(key)
    returned = [ptrs[0], ptrs[2], ptrs[4]]
    given_back = [f for _, f in libobs.released]
    assert sorted(returned + given_back) == sorted(ptrs)  # each exactly once


@pytest.fixture
def matte(monkeypatch):
    import jump.matte

    monkeypatch.setattr(jump.matte, "MatteWorker", FakeWorker)
    monkeypatch.setattr(matte_filter, "output_fps", lambda: 30.0)
    return new_filter()


def test_the_filter_draws_the_frame_it_held_with_its_own_mask(matte, frames) -> None:
    ptrs, _keep = frames
    render(matte)
    holds, drawn = [], []
    for ptr in ptrs[:3]:
        holds.append(matte.filter_video(AsyncFrame(ptr)))
        drawn.append(matte.feed.drawn_id(matte.frame_id))  # the frame OBS got back
    assert holds == [True] * 3 and matte.frame_id == 3
    assert drawn == [-1, 1, 2]  # none at the first tick: OBS draws what it drew (nothing)
    assert matte.feed.held_ns(30.0) == 33_333_333
    assert matte.worker.lead == 0  # picture and mask of the same frame: no lead
    matte.worker.error = "model failed"  # passes through: nothing is held
    assert matte.filter_video(AsyncFrame(ptrs[3])) is False
    assert matte.feed.drawn_id(matte.frame_id) == matte.frame_id
    assert matte.feed.held_ns(30.0) == 0


def test_delay_video_holds_frames_itself(matte, frames) -> None:
    ptrs, _keep = frames
    matte.delay_video = True
    render(matte)
    assert matte.filter_video(AsyncFrame(ptrs[0])) is False
    assert matte.feed.drawn_id(matte.frame_id) == matte.frame_id
