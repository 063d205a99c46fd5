"""Carrying a matte from a key picture to later ones by dense optical flow (OpenCV DIS).

The engine around it is ``jump.matte.propagate``; the why and the figures are in
docs/matte.md ("RVM carried by motion") and docs/benchmarks.md.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

FLOW_WIDTH = 448  # flow resolution (long side): 448×252 for 16:9 (measured: 256 loses 0.01 IoU)
# Per-pixel residual (0–255, after a 5×5 blur) from which "fuse" starts trusting the
# light model, and where it trusts it fully.
FUSE_LOW, FUSE_HIGH = 10.0, 30.0
# Mean residual (0–255) under which the chained map is taken without trying the straight
# flow: the sensor noise of a webcam picture at flow size is about this much.
CHAIN_GOOD = 2.0
# The edge follows the person (``Carrier.follow_person``): the displacement within this box
# around the matte's edge is the person's own (the mean over the matte's inside, eroded by
# FOLLOW_ERODE px from the edge, where alpha ≥ FOLLOW_LEVEL); widths in flow pixels
# (31 px is 7 % of the 448 px flow picture: more than a key's age of sway).
FOLLOW_BOX = 31
FOLLOW_ERODE = 9
FOLLOW_LEVEL = 192


@dataclass
class Key:
    """One heavy-model result: its alpha and picture at work size, its grey for the flow."""

    alpha: np.ndarray  # uint8 HxW
    grey: np.ndarray  # uint8, flow size
    frame: int  # sequence number of the frame it came from
    scene: int  # scene counter when it was taken (keys of an earlier scene are stale)
    ms: float  # heavy engine time
    # the key's soft-edge colour correction, encoded for the shader (BGRA8, linear in Δ,
    # so warping the encoded pixels is warping Δ)
    delta: np.ndarray | None = None


class Carrier:
    """Carries a matte from a key picture to a later one by dense optical flow.

    The motion is measured between consecutive frames (small displacements, which DIS
    follows even when the person moves fast) and chained: the map from the current frame
    back to the key is the composition of the per-frame flows, kept up to date with one
    small remap a frame. The key's alpha is then warped once with that map (warping the
    alpha frame by frame would blur it a little more each time). Measured on the truth:
    a key 3 frames old carried through a fast move keeps IoU 0.77 chained vs 0.58 with
    one flow straight to the key; on slow motion the straight flow is a little better
    (no composed interpolation error), so both are computed and the one with the lower
    residual is used (docs/benchmarks.md)."""

    def __init__(self, flow_width: int = FLOW_WIDTH, history: int = 30) -> None:
        self.flow_width = flow_width
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._grids: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._flows: deque[tuple[int, np.ndarray]] = deque(maxlen=history)  # (frame, t→t−1)
        self._prev: tuple[int, np.ndarray] | None = None  # (frame, grey)
        self._acc: tuple[int, int, np.ndarray] | None = None  # (key frame, frame, t→key)

    def reset(self) -> None:
        """Forget the motion history (a cut: flows across it mean nothing)."""
        self._flows.clear()
        self._prev = None
        self._acc = None

    def grey(self, work: np.ndarray, code: int) -> np.ndarray:
        """The flow picture: grey, long side ``flow_width`` (INTER_AREA averages noise down)."""
        h, w = work.shape[:2]
        s = min(1.0, self.flow_width / max(w, h))
        size = (max(8, round(w * s)), max(8, round(h * s)))
        small = cv2.resize(work, size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, code) if small.ndim == 3 else small

    def _grid(self, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
        grid = self._grids.get((w, h))
        if grid is None:
            xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            grid = self._grids[(w, h)] = (xs, ys)
        return grid

    def _chain(self, acc: np.ndarray, flow: np.ndarray) -> np.ndarray:
        """Displacement to the key from one frame later: flow(x) + acc(x + flow(x))."""
        gx, gy = self._grid(flow.shape[1], flow.shape[0])
        moved = cv2.remap(
            acc, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        moved += flow
        return moved

    def observe(self, grey: np.ndarray, frame: int) -> None:
        """Measure the motion from the previous frame to this one (call once per frame)."""
        prev = self._prev
        self._prev = (frame, grey)
        if prev is None or prev[0] != frame - 1 or prev[1].shape != grey.shape:
            self._flows.clear()
            return
        flow = self._dis.calc(grey, prev[1], None)
        self._flows.append((frame, flow))
        acc = self._acc
        if acc is not None and acc[1] == frame - 1:
            self._acc = (acc[0], frame, self._chain(acc[2], flow))

    def _to_key(self, key: Key, grey: np.ndarray, frame: int) -> np.ndarray:
        """Displacement from every pixel of ``frame`` to where it was in the key."""
        acc = self._acc
        if acc is not None and acc[0] == key.frame and acc[1] == frame:
            return acc[2]
        flows = {f: fl for f, fl in self._flows}
        if key.frame == frame:
            disp = np.zeros((*grey.shape, 2), np.float32)
        elif all(f in flows for f in range(key.frame + 1, frame + 1)):
            disp = flows[key.frame + 1].copy()
            for f in range(key.frame + 2, frame + 1):
                disp = self._chain(disp, flows[f])
        else:  # no unbroken history: one flow straight to the key
            disp = self._dis.calc(grey, key.grey, None)
        self._acc = (key.frame, frame, disp)
        return disp

    def carry(
        self, key: Key, grey: np.ndarray, frame: int = -1, lead: int = 0
    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
        """(key alpha warped to the current picture, per-pixel residual at flow size,
        mean residual, the key's colour correction warped alike or None). The residual is
        |grey − key grey warped| (0–255), 5×5 blurred. ``frame`` is the current frame's
        number (``observe`` must have seen it); -1: no history, one flow to the key.
        ``lead`` > 0: the matte is carried on to where the picture will be that many
        frames later, at the last frame's speed (see ``lead_map``)."""
        fh, fw = grey.shape
        # Two candidate maps: one flow straight to the key (best for slow motion: one
        # estimate, no composed interpolation error) and the chained per-frame flows (best
        # for fast motion, which one long flow loses). The one that explains the current
        # picture from the key's better (lower residual) is used.
        best = None
        if frame >= 0:
            disp = self._to_key(key, grey, frame)
            residual = self._residual(key, grey, disp)
            best = (disp, residual, float(residual.mean()))
        # the chained map explains the picture to within sensor noise: the straight flow
        # (a second DIS, the larger part of the carry's cost) cannot do better
        if best is None or best[2] > CHAIN_GOOD:
            disp = self._dis.calc(grey, key.grey, None)
            residual = self._residual(key, grey, disp)
            level = float(residual.mean())
            if best is None or level < best[2]:
                best = (disp, residual, level)
        disp, residual, level = best
        if lead > 0:
            disp = self.lead_map(disp, frame, lead)
        disp = self.follow_person(disp, key.alpha)
        ah, aw = key.alpha.shape
        sx, sy = aw / fw, ah / fh
        big = cv2.resize(disp, (aw, ah), interpolation=cv2.INTER_LINEAR)
        bx, by = self._grid(aw, ah)
        map_x = bx + big[..., 0] * sx
        map_y = by + big[..., 1] * sy
        # fixed-point maps: both remaps below share one conversion and run faster
        m1, m2 = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
        alpha = cv2.remap(key.alpha, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        delta = None
        if key.delta is not None and key.delta.shape[:2] == (ah, aw):
            # the correction is F̂ − I at the key: carried with the edge it belongs to
            delta = cv2.remap(key.delta, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return alpha, residual, level, delta

    def follow_person(self, disp: np.ndarray, key_alpha: np.ndarray) -> np.ndarray:
        """``disp`` (current frame → key) with the person's own motion at the matte's edge.

        Dense flow is smooth across the person's outline: near the edge it mixes the
        person's motion with the still background's, so the warped edge moves less than
        the person (measured: the carried matte sat 0.8 frames of sway behind the picture,
        while RVM on every frame sat on it), and on the side the person leaves, the
        background's zero motion keeps the key's alpha where the person was. For warping
        *alpha* the right displacement there is the person's, on both sides of the edge:
        every pixel near the outline takes the mean displacement of the matte's inside
        around it (a normalised box filter; local, so an arm may move apart from the
        body). The inside is the key alpha warped by ``disp`` itself."""
        fh, fw = disp.shape[:2]
        alpha = key_alpha
        if alpha.shape != (fh, fw):
            alpha = cv2.resize(alpha, (fw, fh), interpolation=cv2.INTER_AREA)
        gx, gy = self._grid(fw, fh)
        alpha = cv2.remap(
            alpha, gx + disp[..., 0], gy + disp[..., 1], cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        inside = cv2.erode(
            (alpha >= FOLLOW_LEVEL).astype(np.uint8), np.ones((FOLLOW_ERODE, FOLLOW_ERODE))
        )
        if not inside.any():
            return disp
        # OpenCV on whole planes: numpy's strided channel views cost ~1 ms each here
        weight = inside.astype(np.float32)
        box = (FOLLOW_BOX, FOLLOW_BOX)
        total = cv2.blur(weight, box)  # means: their ratios are the sums'
        moved = [cv2.divide(cv2.blur(cv2.multiply(d, weight), box), total) for d in cv2.split(disp)]
        near = cv2.bitwise_and(
            cv2.compare(total, 0.5 / FOLLOW_BOX**2, cv2.CMP_GT), cv2.compare(inside, 0, cv2.CMP_EQ)
        )
        out = disp.copy()
        cv2.copyTo(cv2.merge(moved), near, out)
        return out

    def lead_map(self, disp: np.ndarray, frame: int, lead: int) -> np.ndarray:
        """``disp`` (current frame → key) seen from ``lead`` frames later, at constant speed.

        The filter draws a mask on a picture newer than the one it was made for (its stage
        ring hands the worker last frame's copy, and the mask is read before the worker is
        done with it: 2 frames at best). The last per-frame flow f (t → t−1) is the speed:
        a pixel x of frame t + n was at x + n·f(x) in frame t, the map chained as usual."""
        last = self._flows[-1] if self._flows else None
        if last is None or last[0] != frame:
            return disp
        return self._chain(disp, last[1] * float(lead))

    def _residual(self, key: Key, grey: np.ndarray, disp: np.ndarray) -> np.ndarray:
        gx, gy = self._grid(grey.shape[1], grey.shape[0])
        mx, my = gx + disp[..., 0], gy + disp[..., 1]
        warped = cv2.remap(key.grey, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return cv2.blur(cv2.absdiff(grey, warped), (5, 5)).astype(np.float32)


def fuse(carried: np.ndarray, light: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """The carried matte where the flow explains the picture, the light model's where not."""
    h, w = carried.shape
    weight = np.clip((residual - FUSE_LOW) * (1.0 / (FUSE_HIGH - FUSE_LOW)), 0.0, 1.0)
    weight = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)
    out = carried.astype(np.float32)
    out += weight * (light.astype(np.float32) - out)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
