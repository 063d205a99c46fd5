"""Decontamination's passes for Jump Matte: blur fusion in the effect, on the GPU.

Six small draws per frame into textures of a quarter (or half) of the work
size (``jump.matte.decontaminate.fusion_size``), from the work capture and the mask: round 1's
block sums of both sides, their 3×3 boxes, round 2's block sums of round 1's estimates.
``effects/matte.effect`` then takes blur fusion's step on each full-resolution pixel
(``person_at``). ``jump.matte.decontaminate.fusion_means`` is the same maths in numpy,
for the CLI. Nothing is computed or uploaded by the CPU.
"""

from __future__ import annotations

from jump.obs import graphics as G
from jump.obs import libobs as L

# jump.matte.decontaminate's block_size and fusion_size (a unit test holds them equal):
# the filter module stays free of numpy/OpenCV until a worker is built
BLOCKS = (4, 2)


def block_size(work_h: int) -> int:
    return BLOCKS[0] if work_h >= 400 else BLOCKS[1]


def fusion_size(work_w: int, work_h: int) -> tuple[int, int]:
    b = block_size(work_h)
    return -(-work_w // b), -(-work_h // b)


class Fusion:
    """The reduced textures and the passes that fill them (graphics thread only)."""

    def __init__(self) -> None:
        # 32-bit floats: B̄ divides by Σ(1−α), which is small inside the person
        self.targets = [G.TexRender(L.GS_RGBA32F) for _ in range(6)]
        self.size = (1, 1)
        self.work = (1, 1)
        self.ready = False  # filled at least once (at the current work size)

    def reset(self) -> None:
        for texrender in self.targets:
            texrender.reset()

    def render(self, effect: G.Effect, capture: int, mask: G.DynamicTexture, work: tuple) -> None:
        """Fill the textures from ``capture`` (the work picture) and ``mask`` (its alpha);
        drawn once a frame, however often the filter is."""
        if work != self.work:
            self.ready = False
        self.work = work
        self.size = rw, rh = fusion_size(*work)
        block_f, block_b, box_f, box_b, out_f, out_b = self.targets
        passes = (
            (block_f, "FuseBlockF", capture, None),
            (block_b, "FuseBlockB", capture, None),
            (box_f, "FuseBox", block_f.texture, None),
            (box_b, "FuseBox", block_b.texture, None),
            (out_f, "FuseRound2F", capture, (box_f, box_b)),
            (out_b, "FuseRound2B", capture, (box_f, box_b)),
        )
        for texrender, technique, source, means in passes:
            with texrender.target(rw, rh) as drawing:
                if not drawing:
                    continue
                texture = source() if callable(source) else source
                effect.set_texture("work", texture)
                effect.set_texture("mask", mask)
                # set with the textures, inside the target (set before it, the passes
                # read zeros on OBS 29's OpenGL renderer: measured)
                self._uniforms(effect)
                if means is not None:
                    effect.set_texture("fuse_f", means[0].texture())
                    effect.set_texture("fuse_b", means[1].texture())
                with G.blend(L.GS_BLEND_ONE, L.GS_BLEND_ZERO):
                    effect.draw(technique, texture, rw, rh)
        self.ready = True

    def bind(self, effect: G.Effect) -> None:
        """The final sums and their scales, for ``person_at``."""
        self._uniforms(effect)
        effect.set_texture("fuse_f", self.targets[4].texture())
        effect.set_texture("fuse_b", self.targets[5].texture())

    def _uniforms(self, effect: G.Effect) -> None:
        (ww, wh), (rw, rh) = self.work, self.size
        b = block_size(wh)
        effect.set_float("block_px", float(b))
        effect.set_vec2("work_texel", 1.0 / ww, 1.0 / wh)
        effect.set_vec2("fuse_texel", 1.0 / rw, 1.0 / rh)
        effect.set_vec2("fuse_uv", ww / (b * rw), wh / (b * rh))

    def destroy(self) -> None:
        for texrender in self.targets:
            texrender.destroy()
