"""Async frames' planes → BGRA at the work size (jump.matte.yuv), every format Jump takes,
against a known picture: a real portrait composite, encoded from the standards' formulas
(jump.lab.matte.webcam_frames), odd sizes, padded rows, bottom-up frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from jump.lab.matte.webcam_frames import BT601, BT709, encode
from jump.matte import yuv
from tests.helpers import matte_data

SOURCE = (321, 181)  # odd on both axes: chroma planes round up
WORK = (160, 90)
SUBSAMPLED = {"I420", "NV12", "I422", "YUY2", "YVYU", "UYVY"}


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    frame, _ = matte_data.composite("person-1", "car-2", size=SOURCE)
    return frame


def expected(picture: np.ndarray, fmt: str, matrix: tuple[float, float]) -> np.ndarray:
    small = cv2.resize(picture, WORK, interpolation=cv2.INTER_AREA).astype(np.float64)
    if fmt == "Y800":  # grey: the luma of the picture
        kr, kb = matrix
        luma = small @ np.array([kb, 1.0 - kr - kb, kr])
        return np.repeat(luma[..., None], 3, axis=-1)
    return small


def test_obs_matrices_are_obs_s_own() -> None:
    """BT.709 limited as OBS logs it (video-matrices.c), BT.601 full from the standard."""
    m709 = yuv.obs_matrix(*BT709, full_range=False)
    np.testing.assert_allclose(
        m709[:3],
        [
            [1.164384, 0.0, 1.792741, -0.972945],
            [1.164384, -0.213249, -0.532909, 0.301483],
            [1.164384, 2.112402, 0.0, -1.133402],
        ],
        atol=2e-6,
    )
    m601 = yuv.obs_matrix(*BT601, full_range=True)
    np.testing.assert_allclose(m601[:3, :3], [[1, 0, 1.402], [1, -0.344136, -0.714136], [1, 1.772, 0]], atol=2e-6)  # fmt: skip
    # full range: grey 128 is grey 128
    assert np.allclose(m601 @ [128 / 255, 128 / 255, 128 / 255, 1], [128 / 255] * 3 + [1], atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(yuv.FORMATS))
@pytest.mark.parametrize(("matrix", "full_range"), [(BT709, False), (BT601, True)])
@pytest.mark.parametrize("flip", [False, True])
def test_every_format_converts_to_the_picture(picture, fmt, matrix, full_range, flip) -> None:
    planes = encode(picture, fmt, matrix, full_range, pad=13, flip=flip)
    assert all(p.shape[1] > 0 and p[0, -1] == 0xA5 for p in planes.planes)  # padded rows
    out = yuv.to_bgra(planes, WORK)
    assert out.shape == (WORK[1], WORK[0], 4) and out.dtype == np.uint8
    assert (out[..., 3] == 255).all()
    err = np.abs(out[..., :3] - expected(picture, fmt, matrix))
    # 8-bit rounding of Y, U, V and of the result: within 2-3 levels everywhere at full
    # chroma; 4:2:0/4:2:2 chroma is coarser than the work size here at colour edges
    # (Y keeps them sharp), so the bound is on most pixels there
    assert err.mean() <= 1.0, (fmt, err.mean())
    if fmt in SUBSAMPLED:
        assert np.percentile(err, 95) <= 3, fmt
    else:
        assert err.max() <= 3, (fmt, err.max())


def test_an_unset_matrix_falls_back_to_bt709(picture) -> None:
    planes = encode(picture, "NV12", BT709, False)
    reference = yuv.to_bgra(planes, WORK)
    planes.color_matrix = np.zeros((4, 4), np.float32)
    assert np.array_equal(yuv.to_bgra(planes, WORK), reference)


def test_the_work_size_may_be_the_frame_size_or_larger(picture) -> None:
    planes = encode(picture, "I420", BT709, False, pad=3)
    same = yuv.to_bgra(planes, SOURCE)  # chroma upsampled: 4:2:0's own loss shows
    assert np.abs(same[..., :3] - picture.astype(int)).mean() <= 2.5
    assert yuv.to_bgra(planes, (400, 240)).shape == (240, 400, 4)


def test_formats_not_converted_are_refused(picture) -> None:
    planes = encode(picture, "I420")
    planes.format = "P010"
    with pytest.raises(ValueError, match="P010"):
        yuv.to_bgra(planes, WORK)


@pytest.mark.parametrize("fmt", ["I444", "I420", "YUY2", "BGRA"])
def test_large_downscales_stay_the_area_filter_s_picture(fmt) -> None:
    """1280×720 → 448×252 is halved first (the area filter's fast path), then resized:
    another box filter than OpenCV's single pass, on this noisy composite 1.3 levels apart
    on average (8 at the 99th percentile, on texture); a shifted or half-converted picture
    is several times further off (an odd size cropped to halve it: mean 6)."""
    frame, _ = matte_data.composite("person-1", "car-2", size=(1280, 720))
    out = yuv.to_bgra(encode(frame, fmt, BT709, False, pad=64), (448, 252))
    truth = cv2.resize(frame, (448, 252), interpolation=cv2.INTER_AREA)
    err = np.abs(out[..., :3] - truth.astype(np.float64))
    assert err.mean() <= 1.6 and np.percentile(err, 99) <= 9, (fmt, err.mean())
