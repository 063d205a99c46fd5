"""Colour decontamination (blur fusion) against a plain-numpy reference and a known F."""

from __future__ import annotations

import cv2
import numpy as np

from jump.matte.decontaminate import FADE, EdgeDecontaminator, edge_delta


def composite(h: int = 72, w: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uint8 BGR picture, alpha, true foreground 0–1): a soft-edged disc of one colour
    over a different, textured background."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    distance = np.hypot(yy - h / 2, xx - w / 2) - h / 3
    alpha = np.clip(0.5 - distance / 6, 0, 1).astype(np.float32)  # a 6-pixel soft band
    fg = np.empty((h, w, 3), np.float32)
    fg[:] = (0.2, 0.3, 0.8)
    rng = np.random.default_rng(1)
    bg = np.clip(np.array((0.1, 0.8, 0.2)) + 0.05 * rng.standard_normal((h, w, 3)), 0, 1)
    picture = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    return np.round(picture * 255).astype(np.uint8), alpha, fg


def reference_delta(picture: np.ndarray, alpha: np.ndarray, radius: int) -> np.ndarray:
    """Blur fusion written out (Germer et al. 2021): two rounds, then the fade."""
    image = picture[..., :3].astype(np.float64) / 255
    a = alpha.astype(np.float64)[..., None]
    fg, bg = image, image
    for r in (radius, max(1, radius // 8)):
        size = (2 * r + 1, 2 * r + 1)
        blur_a = cv2.blur(a[..., 0], size)[..., None]
        mean_f = cv2.blur(fg * a, size) / (blur_a + 1e-5)
        mean_b = cv2.blur(bg * (1 - a), size) / (1 - blur_a + 1e-5)
        fg = np.clip(mean_f + a * (image - a * mean_f - (1 - a) * mean_b), 0, 1)
        bg = np.where(a > 0, mean_b, image)
    fade = np.minimum(np.clip((FADE[1] - a) / (FADE[1] - FADE[0]), 0, 1), a / 0.02)
    return (fg - image) * fade


def test_matches_the_formula_written_out() -> None:
    picture, alpha, _ = composite()
    ours = edge_delta(picture, alpha, 3)
    assert ours.dtype == np.float32 and ours.shape == picture.shape
    assert np.abs(ours - reference_delta(picture, alpha, 3)).max() < 1e-4


def test_moves_soft_edges_towards_the_true_foreground_and_nothing_else() -> None:
    picture, alpha, fg = composite()
    corrected = picture.astype(np.float32) / 255 + edge_delta(picture, alpha, 3)
    band = (alpha > 0.1) & (alpha < 0.5)  # mostly old background: where it matters
    before = np.abs(picture.astype(np.float32) / 255 - fg)[band].mean()
    after = np.abs(corrected - fg)[band].mean()
    print(f"edge colour error {before:.3f} -> {after:.3f}")
    assert after < 0.7 * before  # measured 0.277 -> 0.155
    delta = edge_delta(picture, alpha, 3)
    assert not delta[alpha >= FADE[1]].any() and not delta[alpha <= 0].any()


def test_kept_buffers_follow_the_size_and_results_are_not_shared() -> None:
    decontaminate = EdgeDecontaminator()
    small, alpha_small, _ = composite(36, 64)
    large, alpha_large, _ = composite()
    first = decontaminate(small, alpha_small, 2)
    second = decontaminate(large, alpha_large, 3)
    third = decontaminate(small, alpha_small, 2)
    assert second.shape == large.shape
    assert np.array_equal(first, third)  # the earlier result was not overwritten
    assert np.abs(second - reference_delta(large, alpha_large, 3)).max() < 1e-4
