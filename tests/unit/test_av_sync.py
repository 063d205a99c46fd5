"""The video delay Jump Matte publishes for Jump Denoise on the same source."""

from __future__ import annotations

from jump.filters import av_sync


def test_delay_is_read_per_source_and_forgotten_when_no_longer_refreshed(monkeypatch) -> None:
    now = [100.0]
    monkeypatch.setattr(av_sync.time, "monotonic", lambda: now[0])
    av_sync.publish(0xA, 100_000_000)
    av_sync.publish(None, 5)  # a filter without a parent publishes nothing
    assert av_sync.video_delay_ns(0xA) == 100_000_000
    assert av_sync.video_delay_ns(0xB) == 0 and av_sync.video_delay_ns(None) == 0
    now[0] += av_sync.STALE_S + 0.1  # the matte filter stopped drawing (disabled, hidden)
    assert av_sync.video_delay_ns(0xA) == 0
    av_sync.publish(0xA, 0)  # drawing again, without "delay video"
    assert av_sync.video_delay_ns(0xA) == 0
