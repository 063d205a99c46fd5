"""Colour decontamination (blur fusion) against a plain-numpy reference and a known F."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

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


# --- the OBS shader's blur fusion and its numpy twin ------------------------------------


def bilinear(texture: np.ndarray, u: float, v: float) -> np.ndarray:
    """``Texture.Sample(linearClamp, uv)`` as a GPU computes it (texel centres at +0.5;
    out-of-range texels clamp)."""
    h, w = texture.shape[:2]
    x, y = u * w - 0.5, v * h - 0.5
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    # GPUs weigh texels with 8 fractional bits: a tap at a texel's centre reads it alone
    fx, fy = round((x - x0) * 256) / 256, round((y - y0) * 256) / 256

    def at(i: int, j: int) -> np.ndarray:
        return texture[min(max(j, 0), h - 1), min(max(i, 0), w - 1)].astype(np.float64)

    top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
    bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def shader_passes(work: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """effects/matte.effect's FuseBlock, FuseBox and FuseRound2 passes, written out texel
    by texel from the shader's text (slow: only for small pictures)."""
    from jump.filters.matte_fusion import block_size, fusion_size

    wh, ww = mask.shape
    rw, rh = fusion_size(ww, wh)
    b = block_size(wh)
    work_texel, fuse_texel = (1 / ww, 1 / wh), (1 / rw, 1 / rh)
    fuse_uv = (ww / (b * rw), wh / (b * rh))
    rgb_tex, a_tex = work[..., :3] / 255.0, mask / 255.0

    def taps(x: int, y: int):
        u0 = (x * b + 0.5) * work_texel[0]
        v0 = (y * b + 0.5) * work_texel[1]
        for j in range(b):
            for i in range(b):
                u, v = u0 + i * work_texel[0], v0 + j * work_texel[1]
                yield u, v, bilinear(rgb_tex, u, v), float(bilinear(a_tex, u, v))

    def mean(s: np.ndarray) -> np.ndarray:
        return s[:3] / (s[3] + 1e-5)

    block_f, block_b = np.zeros((rh, rw, 4)), np.zeros((rh, rw, 4))
    for y in range(rh):
        for x in range(rw):
            for _, _, rgb, a in taps(x, y):
                block_f[y, x] += np.append(rgb * a, a) / b**2
                block_b[y, x] += np.append(rgb * (1 - a), 1 - a) / b**2
    box_f, box_b = np.zeros_like(block_f), np.zeros_like(block_b)
    for y in range(rh):
        for x in range(rw):
            u, v = (x + 0.5) / rw, (y + 0.5) / rh
            for j in (-1, 0, 1):
                for i in (-1, 0, 1):
                    uu, vv = u + i * fuse_texel[0], v + j * fuse_texel[1]
                    box_f[y, x] += bilinear(block_f, uu, vv) / 9
                    box_b[y, x] += bilinear(block_b, uu, vv) / 9
    out_f, out_b = np.zeros_like(block_f), np.zeros_like(block_b)
    for y in range(rh):
        for x in range(rw):
            for u, v, rgb, a in taps(x, y):
                uv_r = (u * fuse_uv[0], v * fuse_uv[1])
                mf, mb = mean(bilinear(box_f, *uv_r)), mean(bilinear(box_b, *uv_r))
                fg = np.clip(mf + a * (rgb - a * mf - (1 - a) * mb), 0, 1)
                bg = mb if a > 0 else rgb
                out_f[y, x] += np.append(fg * a, a) / b**2
                out_b[y, x] += np.append(bg * (1 - a), 1 - a) / b**2
    return out_f, out_b


def shader_person(
    frame: np.ndarray, mask: np.ndarray, sums: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """``person_at`` at every frame pixel (in sRGB values, as the shader computes it)."""
    from jump.filters.matte_fusion import block_size, fusion_size

    h, w = frame.shape[:2]
    wh, ww = mask.shape
    rw, rh = fusion_size(ww, wh)
    b = block_size(wh)
    fuse_uv = (ww / (b * rw), wh / (b * rh))
    out = np.empty((h, w, 3))
    for y in range(h):
        for x in range(w):
            u, v = (x + 0.5) / w, (y + 0.5) / h
            a = float(bilinear(mask / 255.0, u, v))
            srgb = frame[y, x, :3] / 255.0
            sf, sb = (bilinear(s, u * fuse_uv[0], v * fuse_uv[1]) for s in sums)
            mf, mb = sf[:3] / (sf[3] + 1e-5), sb[:3] / (sb[3] + 1e-5)
            fg = np.clip(mf + a * (srgb - a * mf - (1 - a) * mb), 0, 1)
            fade = min(np.clip((0.95 - a) / 0.45, 0, 1), a / 0.02)
            out[y, x] = np.clip(srgb + (fg - srgb) * fade, 0, 1)
    return out


def test_the_filter_sizes_the_passes_as_the_twin() -> None:
    from jump.filters import matte_fusion
    from jump.matte import decontaminate as d

    for size in [(896, 504), (512, 288), (42, 30), (333, 401), (1, 1)]:
        assert matte_fusion.fusion_size(*size) == d.fusion_size(*size)
        assert matte_fusion.block_size(size[1]) == d.block_size(size[1])
    assert d.block_size(504) == 4 and d.block_size(288) == 2


@pytest.mark.parametrize("block", [2, 4])
def test_the_twin_is_the_shader_step_for_step_on_a_soft_edge(block, monkeypatch) -> None:
    """A soft-edged disc at an odd work size (edge blocks clamp), the mask at the work
    size and a frame twice as large, as the filter has them; both block sizes."""
    from jump.filters import matte_fusion
    from jump.matte import decontaminate as d

    monkeypatch.setattr(d, "BLOCKS", (block, block))
    monkeypatch.setattr(matte_fusion, "BLOCKS", (block, block))
    work, alpha, _ = composite(30, 42)
    mask = np.round(alpha * 255).astype(np.uint8)
    frame = cv2.resize(work, (84, 60), interpolation=cv2.INTER_LINEAR)
    sums = shader_passes(work, mask)
    means = d.fusion_means(work, mask / 255.0)
    assert means.shape == {2: (15, 21, 8), 4: (8, 11, 8)}[block]
    assert np.abs(means - np.concatenate(sums, axis=2)).max() < 1e-4
    # the mask upsampled as the shader samples it (the CLI has it at 8 bits)
    frame_alpha = cv2.resize(mask / np.float32(255), (84, 60), interpolation=cv2.INTER_LINEAR)
    twin = d.fused_colour(frame, frame_alpha, means, (42, 30)).astype(np.float64)
    shader = shader_person(frame, mask, sums) * 255
    assert np.abs(twin - shader).max() <= 1.0  # the twin's output is rounded to 8 bits
    assert np.abs(twin - frame).max() > 20  # the edge did change: the test can fail


def test_the_twin_finds_the_known_foreground_and_leaves_the_rest() -> None:
    from jump.matte.decontaminate import decontaminate_frame

    picture, alpha, fg = composite(144, 256)
    shown = decontaminate_frame(picture, alpha, (128, 72)) / 255.0
    band = (alpha > 0.1) & (alpha < 0.5)  # mostly old background: where it matters
    before = np.abs(picture / 255.0 - fg)[band].mean()
    after = np.abs(shown - fg)[band].mean()
    print(f"edge colour error {before:.3f} -> {after:.3f}")
    assert after < 0.6 * before
    untouched = (alpha >= FADE[1]) | (alpha <= 0)
    assert np.abs(shown * 255 - picture)[untouched].max() <= 1
