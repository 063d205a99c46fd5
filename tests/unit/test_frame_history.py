"""Which held frame "delay video" draws (the selection only; the textures are fakes)."""

from __future__ import annotations

from jump.obs.graphics import FrameHistory

FRAME_NS = 33_333_333


class FakeRender:
    size = (640, 360)

    def __init__(self, frame_id: int) -> None:
        self.frame_id = frame_id

    def texture(self) -> int:
        return 1000 + self.frame_id

    def destroy(self) -> None:
        pass


def history(frame_ids: range) -> FrameHistory:
    held = FrameHistory(len(frame_ids))
    for slot, frame_id in enumerate(frame_ids):
        held.renders[slot] = FakeRender(frame_id)  # type: ignore[assignment]
        held.ids[slot], held.times[slot] = frame_id, frame_id * FRAME_NS
    return held


def test_the_newest_frame_at_or_before_the_time() -> None:
    held = history(range(10, 15))
    assert held.at(12 * FRAME_NS) == (1012, (640, 360), 12, 12 * FRAME_NS)
    assert held.at(12 * FRAME_NS + FRAME_NS // 2)[2] == 12
    assert held.at(99 * FRAME_NS)[2] == 14
    assert held.at(9 * FRAME_NS) is None  # nothing that old is held


def test_a_frame_without_a_mask_gives_way_to_the_one_before_it() -> None:
    held = history(range(10, 15))
    assert held.at(12 * FRAME_NS, masked={11, 13})[2] == 11
    assert held.at(12 * FRAME_NS, masked={12, 13})[2] == 12
    # never further back than one frame: the delay stays what the user set
    assert held.at(12 * FRAME_NS, masked={10})[2] == 12


def test_resize_forgets_the_frames() -> None:
    held = history(range(10, 15))
    held.resize(3)
    assert held.at(99 * FRAME_NS) is None and len(held.renders) == 3
