"""The OBS filters' glue without OBS: packets built as the real ctypes structs."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from jump.filters import denoise as denoise_filter
from jump.obs import libobs as L
from jump.obs.data import AudioPacket
from tests.helpers.fakes import FakeSettings


class FakeSource:
    name = "Mic"

    def parent(self) -> None:
        return None


def packet(planes: np.ndarray, timestamp: int) -> tuple[AudioPacket, object]:
    raw = L.obs_audio_data()
    for i, plane in enumerate(planes):
        raw.data[i] = plane.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
    raw.frames = planes.shape[1]
    raw.timestamp = timestamp
    return AudioPacket(ctypes.addressof(raw)), raw


@pytest.fixture
def dry_filter(monkeypatch):
    monkeypatch.setattr(denoise_filter, "audio_format", lambda: (48000, 2))
    settings = {
        "method": "classical",
        "strength_db": 30.0,
        "mix": 0.0,
        "vad_threshold": 50.0,
        "grace_ms": 200.0,
        "linked": True,
        "neural_model": "nsnet2-48k",
    }
    return denoise_filter.DenoiseFilter(FakeSettings(settings), FakeSource())


def test_packets_edited_in_place_with_timestamp_shifted_by_latency(dry_filter):
    rng = np.random.default_rng(1)
    signal = rng.standard_normal((2, 48000)).astype(np.float32) * 0.1
    latency = dry_filter.engine.latency_samples
    assert dry_filter.latency_ns == round(latency * 1e9 / 48000)
    out, ts, sizes = [], 1_000_000_000, [480, 1024, 7, 2048, 333]
    pos = 0
    for i in range(40):
        n = sizes[i % len(sizes)]
        planes = signal[:, pos : pos + n].copy()
        pkt, _keep = packet(planes, ts)
        assert dry_filter.filter_audio(pkt) is pkt  # the same packet, edited in place
        assert pkt.timestamp == ts - dry_filter.latency_ns
        assert pkt.frames == n
        out.append(planes)
        ts += round(n * 1e9 / 48000)
        pos += n
    out = np.concatenate(out, axis=1)
    # mix 0 is the dry signal through the same delay line: exactly the input, late by latency
    np.testing.assert_allclose(out[:, latency:], signal[:, : pos - latency], atol=1e-6)
    assert dry_filter.counts == (pos, pos)


def test_timestamp_jump_resets_the_engine(dry_filter, monkeypatch):
    calls = []
    monkeypatch.setattr(dry_filter.engine, "reset", lambda: calls.append(1))
    planes = np.zeros((2, 480), np.float32)
    pkt, _keep = packet(planes, 5_000_000_000)
    dry_filter.filter_audio(pkt)
    pkt, _keep = packet(planes, 5_010_000_000)
    dry_filter.filter_audio(pkt)
    assert calls == []
    pkt, _keep = packet(planes, 9_000_000_000)
    dry_filter.filter_audio(pkt)
    assert calls == [1]


def test_linear_colour_for_the_shader():
    from jump.filters.matte import linear_premultiplied

    assert linear_premultiplied(0xFF0000FF) == pytest.approx((1.0, 0.0, 0.0, 1.0))
    r, g, b, a = linear_premultiplied(0x80808080)  # 50% grey at 50% opacity
    assert a == pytest.approx(128 / 255)
    assert r == g == b == pytest.approx(0.2158605 * a, rel=1e-3)  # sRGB 128 → linear 0.216
