"""Jump Matte's filter_video path without OBS: frames built as the real ctypes struct.

The C callback must hand OBS back the frame it was given whatever happens (a NULL makes
OBS drop the frame without releasing it); the planes are copied, not converted; a format
the worker does not convert sends the filter back to staging.
"""

from __future__ import annotations

import ctypes
import time

import numpy as np
import pytest

from jump.filters import matte as matte_filter
from jump.lab.matte.webcam_frames import BT709, Planes, encode
from jump.matte import yuv
from jump.matte.worker import HELD_FRAMES, MatteWorker, display_lead
from jump.obs import instances, registry
from jump.obs import libobs as L
from jump.obs.video_frame import FORMATS, AsyncFrame, FramePool
from tests.helpers import matte_data
from tests.helpers.fakes import FakeSettings

CODES = {name: code for code, (name, _) in FORMATS.items()}
P010 = 18  # enum video_format in OBS 29: converted nowhere in Jump


def test_the_formats_copied_are_the_formats_converted() -> None:
    # two tables (jump/obs may not import the engine): a format copied but not converted
    # would leave a webcam without masks instead of falling back to staging
    assert set(CODES) == set(yuv.FORMATS)
    assert P010 not in FORMATS


def in_memory(planes: Planes, code: int | None = None) -> tuple[int, list]:
    """An obs_source_frame over ``planes`` (as a webcam's in OBS); (pointer, keep-alive)."""
    raw = L.obs_source_frame()
    for i, plane in enumerate(planes.planes):
        raw.data[i] = plane.ctypes.data
        raw.linesize[i] = plane.shape[1]
    raw.width, raw.height = planes.width, planes.height
    raw.format = CODES[planes.format] if code is None else code
    raw.timestamp = 123
    for i, v in enumerate(planes.color_matrix.ravel()):
        raw.color_matrix[i] = float(v)
    raw.full_range, raw.flip = planes.full_range, planes.flip
    return ctypes.addressof(raw), [raw, planes]


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    frame, _ = matte_data.composite("person-2", "car-2", size=(641, 361))
    return frame


@pytest.mark.parametrize("fmt", ["I420", "NV12", "YUY2", "BGRA", "I444"])
def test_copy_takes_every_plane_with_its_padding_and_converts_the_same(picture, fmt) -> None:
    planes = encode(picture, fmt, BT709, False, pad=29, flip=True)
    ptr, keep = in_memory(planes)
    pool = FramePool(3)
    copy = AsyncFrame(ptr).copy(pool)
    assert copy is not None and copy.format == fmt and (copy.width, copy.height) == (641, 361)
    for ours, theirs in zip(copy.planes, planes.planes, strict=True):
        assert np.array_equal(ours, theirs)  # rows × linesize, as OBS holds them
    assert copy.flip and not copy.full_range
    np.testing.assert_allclose(copy.color_matrix, planes.color_matrix)
    assert np.array_equal(yuv.to_bgra(copy, (256, 144)), yuv.to_bgra(planes, (256, 144)))
    del keep


def test_a_row_narrower_than_the_format_or_an_empty_frame_is_not_copied(picture) -> None:
    planes = encode(picture, "I420")
    ptr, keep = in_memory(planes)
    raw = L.obs_source_frame.from_address(ptr)
    raw.linesize[1] = planes.width // 2 - 1  # a chroma row shorter than ceil(641 / 2)
    pool = FramePool(3)
    with pytest.raises(ValueError, match="linesize"):
        AsyncFrame(ptr).copy(pool)
    assert pool.free == 3
    raw.height = 0
    assert AsyncFrame(ptr).copy(pool) is None and pool.free == 3
    del keep


def test_the_pool_reuses_its_buffers_and_runs_dry_rather_than_grow(picture) -> None:
    ptr, keep = in_memory(encode(picture, "NV12", pad=3))
    pool = FramePool(3)
    copies = [AsyncFrame(ptr).copy(pool) for _ in range(3)]
    assert all(c is not None for c in copies) and pool.free == 0
    assert AsyncFrame(ptr).copy(pool) is None  # all with the worker: not copied
    buffers = {id(c._buf) for c in copies}
    for c in copies:
        c.release()
        c.release()  # twice is harmless
    assert pool.free == 3
    for _ in range(10):  # same size again: the same memory, no new allocation
        c = AsyncFrame(ptr).copy(pool)
        assert id(c._buf) in buffers
        c.release()
    del keep


class Recorder:
    """Stands in for the filter instance OBS's data points at."""

    def __init__(self, behaviour) -> None:
        self.behaviour, self.seen = behaviour, []

    def filter_video(self, frame: AsyncFrame) -> None:
        self.seen.append(frame.ptr)
        self.behaviour(frame)


def _raise_runtime(_frame):
    raise RuntimeError("copy failed")


def _raise_exit(_frame):
    raise SystemExit("not even this")


def _ok(_frame):
    return 0  # any return value is ignored


@pytest.mark.parametrize("behaviour", [_ok, _raise_runtime, _raise_exit])
def test_the_c_callback_always_returns_the_frame_it_was_given(picture, behaviour) -> None:
    ptr, keep = in_memory(encode(picture, "I420"))
    trampoline = registry._filter_video_trampoline("jump_test")
    inst = Recorder(behaviour)
    key = instances.add("jump_test", inst, None)
    try:
        assert trampoline(key, ptr) == ptr
        assert inst.seen == [ptr]
        assert trampoline(999_999, ptr) == ptr  # an instance already destroyed
    finally:
        instances.remove(key)
    del keep


class FakeWorker:
    error = None
    stats = None

    def __init__(self, *_args, **_kwargs) -> None:
        self.submitted, self.resets, self.lead = [], 0, 2
        self.running = "fake"

    def submit(self, frame, frame_id) -> None:
        self.submitted.append((frame, frame_id))
        frame.release()  # as the real worker does once converted

    def update(self, _settings) -> None:
        pass

    def reset(self) -> None:
        self.resets += 1

    def set_display_lead(self, frames: int) -> None:
        self.lead = frames

    def close(self) -> None:
        pass


class MatteSettingsData(FakeSettings):
    """What the matte filter's update asks of OBS's settings beyond FakeSettings."""

    def has_user_value(self, _key) -> bool:
        return False


def new_filter(asynchronous: bool = True) -> matte_filter.MatteFilter:
    settings = MatteSettingsData()
    matte_filter.defaults(settings)
    return matte_filter.MatteFilter(settings, FakeSource(asynchronous))


class FakeSource:
    name = "Cam"

    def __init__(self, asynchronous: bool = True) -> None:
        self.asynchronous = asynchronous

    def parent(self):
        return self

    def sees_parent_frames(self) -> bool:
        return self.asynchronous


@pytest.fixture
def matte(monkeypatch):
    import jump.matte

    monkeypatch.setattr(jump.matte, "MatteWorker", FakeWorker)
    monkeypatch.setattr(matte_filter, "output_fps", lambda: 30.0)  # libobs is not running
    return new_filter()


def render(matte) -> str:
    """What the filter's render asks of its feed (the path; and it marks the filter shown)."""
    return matte.feed.path(matte.source, matte.worker, matte._display_lead)


def test_async_frames_are_numbered_and_handed_over_at_the_tick(matte, picture) -> None:
    ptr, keep = in_memory(encode(picture, "YUY2", pad=8))
    matte.filter_video(AsyncFrame(ptr))  # OBS ticks a source nothing draws yet: counted only
    assert matte.worker.submitted == [] and matte.frame_id == 1
    for _ in range(3):
        render(matte)
        matte.filter_video(AsyncFrame(ptr))
    assert [i for _, i in matte.worker.submitted] == [2, 3, 4] and matte.frame_id == 4
    assert matte.feed.path(matte.source, matte.worker, matte._display_lead) == "async"
    # the picture is held a tick (jump.obs.frame_hold): drawn with its own mask, no lead
    assert matte.worker.lead == display_lead(HELD_FRAMES["async"], "async") == 0
    assert matte.stats()["frames_from"] == "async"
    del keep


def test_an_unconverted_format_goes_back_to_staging(matte, picture) -> None:
    ok_ptr, keep = in_memory(encode(picture, "NV12"))
    render(matte)
    matte.filter_video(AsyncFrame(ok_ptr))
    assert matte.feed.path(matte.source, matte.worker, matte._display_lead) == "async"
    bad_ptr, keep2 = in_memory(encode(picture, "NV12"), code=P010)
    matte.filter_video(AsyncFrame(bad_ptr))
    assert len(matte.worker.submitted) == 1 and matte.frame_id == 1  # not counted here
    resets = matte.worker.resets
    assert matte.feed.path(matte.source, matte.worker, matte._display_lead) == "staged"
    assert matte.worker.resets == resets + 1 and matte.worker.lead == 2
    assert matte.stats()["frames_from"] == "staged"
    matte.filter_video(AsyncFrame(ok_ptr))  # the source switched back
    assert matte.feed.path(matte.source, matte.worker, matte._display_lead) == "async"
    del keep, keep2


def test_a_copy_that_raises_falls_back_to_staging_and_the_frame_goes_back(matte, picture):
    planes = encode(picture, "I420")
    ptr, keep = in_memory(planes)
    L.obs_source_frame.from_address(ptr).data[1] = None  # a frame missing a plane
    trampoline = registry._filter_video_trampoline("jump_matte")
    key = instances.add("jump_matte", matte, matte.source)
    render(matte)
    try:
        assert trampoline(key, ptr) == ptr
    finally:
        instances.remove(key)
    assert matte.feed.failed and matte.worker.submitted == []
    assert matte.feed.path(matte.source, matte.worker, matte._display_lead) == "staged"
    assert matte.feed.pool.free == 3  # the buffer went back
    del keep


def test_a_synchronous_source_never_takes_the_async_path(monkeypatch, picture) -> None:
    import jump.matte

    monkeypatch.setattr(jump.matte, "MatteWorker", FakeWorker)
    monkeypatch.setattr(matte_filter, "output_fps", lambda: 30.0)
    matte = new_filter(asynchronous=False)
    ptr, keep = in_memory(encode(picture, "I420"))
    render(matte)
    matte.filter_video(AsyncFrame(ptr))
    assert matte.worker.submitted == []
    assert matte.feed.path(matte.source, matte.worker, matte._display_lead) == "staged"
    del keep


def test_the_worker_masks_async_planes_as_it_masks_bgra(picture) -> None:
    """Engines never see the difference: an I420 frame converted on the worker's thread
    gives the mask a BGRA frame of the same picture gives."""
    from jump.matte.settings import MatteSettings

    planes = encode(picture, "I420", BT709, False, pad=16)
    masks = []
    with MatteWorker(MatteSettings(model="mediapipe"), fps=30.0) as worker:
        assert worker.wait_ready(60.0) and worker.error is None
        size = worker.work_size(planes.width, planes.height)
        for frame in (yuv.to_bgra(planes, size), planes):
            worker.reset()
            worker.submit(frame, len(masks) + 1)
            deadline = time.monotonic() + 30.0
            while (worker.newest() or (None, 0))[1] != len(masks) + 1:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            masks.append(worker.newest()[0].astype(int))
    assert planes.released == 1  # the worker gave the buffer back
    assert np.abs(masks[0] - masks[1]).max() <= 1


class FakeLibobs:
    """The libobs calls ``Source.sees_parent_frames`` makes, over a filter chain:
    pointer -> (target, parent, output flags, enabled, deinterlace mode)."""

    def __init__(self, chain: dict[int, tuple]) -> None:
        self.chain = chain

    def obs_filter_get_target(self, ptr):
        return self.chain[ptr][0]

    def obs_filter_get_parent(self, ptr):
        return self.chain[ptr][1]

    def obs_source_get_output_flags(self, ptr):
        return self.chain[ptr][2]

    def obs_source_enabled(self, ptr):
        return self.chain[ptr][3]

    def obs_source_get_deinterlace_mode(self, ptr):
        return self.chain[ptr][4]


ASYNC_SOURCE = L.OBS_SOURCE_VIDEO | L.OBS_SOURCE_ASYNC | L.OBS_SOURCE_AUDIO


@pytest.mark.parametrize(
    ("between", "parent_flags", "deinterlace", "expected"),
    [
        (None, ASYNC_SOURCE, 0, True),  # Jump Matte right on the webcam
        ((L.OBS_SOURCE_AUDIO, True), ASYNC_SOURCE, 0, True),  # a mic filter below it
        ((L.OBS_SOURCE_VIDEO | L.OBS_SOURCE_ASYNC, True), ASYNC_SOURCE, 0, True),  # async
        ((L.OBS_SOURCE_VIDEO, True), ASYNC_SOURCE, 0, False),  # a crop below: not the frame
        ((L.OBS_SOURCE_VIDEO, False), ASYNC_SOURCE, 0, True),  # ... disabled
        (None, L.OBS_SOURCE_VIDEO, 0, False),  # an image or a game capture
        (None, ASYNC_SOURCE, 3, False),  # deinterlacing: OBS blends two frames
    ],
)
def test_only_a_parent_s_own_frames_go_async(
    monkeypatch, between, parent_flags, deinterlace, expected
):
    from jump.obs.source import Source

    parent = (0, 0, parent_flags, True, deinterlace)
    if between is None:
        chain = {1: (9, 9, L.OBS_SOURCE_VIDEO, True, 0), 9: parent}
    else:
        flags, on = between
        chain = {1: (5, 9, L.OBS_SOURCE_VIDEO, True, 0), 5: (9, 9, flags, on, 0), 9: parent}
    monkeypatch.setattr(L, "_fn", FakeLibobs(chain))
    assert Source(1).sees_parent_frames() is expected
