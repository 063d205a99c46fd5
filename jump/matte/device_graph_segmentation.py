"""The segmentation models' graph (``jump.matte.device_graph`` has the common parts):
pre-processing as the manifest describes it, person probability, soft threshold and the
colour or grey guided filter of ``jump.matte.refine``, then feather, smoothing and the
outputs shared with RVM's graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto

from jump.matte.device_graph import (
    FRAME,
    GREY_BGRA,
    PostSettings,
    _assemble,
    _Builder,
    _channel_weights,
    _common_outputs,
    _feather,
    _frame_nchw,
    _io,
    _ones_like_channel,
    _outputs,
    _smooth,
    _state_inputs,
)
from jump.matte.model import MatteModelError, ModelSpec, fit_rect


@dataclass(frozen=True)
class SegmentationLayout:
    """How a segmentation model is fed and read (``jump.matte.model.ModelSpec``'s fields)."""

    input_name: str
    output_name: str
    layout: str  # "NHWC" | "NCHW"
    output_layout: str
    input_size: tuple[int, int]  # (w, h)
    content: tuple[int, int, int, int]  # (x, y, w, h) of the picture inside the input
    colour: str  # "RGB" | "BGR"
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output_kind: str  # "probability" | "logits"
    person_channel: int
    output_channels: int
    output_size: tuple[int, int]  # (w, h) of the model's output


def build_segmentation(
    model: onnx.ModelProto, work: tuple[int, int], lay: SegmentationLayout, s: PostSettings
) -> onnx.ModelProto:
    """A segmentation model with the frame in and the mask out (``jump.matte.engine``'s
    pre-processing, probability, soft threshold, guided filter, feather, smoothing)."""
    w, h = work
    mw, mh = lay.input_size
    cx, cy, cw, ch = lay.content
    g = _Builder()
    bgra = _frame_nchw(g, w, h)
    pixels = g.pick(bgra, _channel_weights(lay.colour))  # model's colour order, 0–255
    small = g.downscale(pixels, (w, h), (cw, ch), 3)
    grey_w = np.asarray([[0.299, 0.587, 0.114]], np.float32)
    grey = g.pick(small, grey_w if lay.colour == "RGB" else grey_w[:, ::-1].copy())
    std = np.asarray(lay.std, np.float32)
    norm = g.pick(small, np.diag(1.0 / std), -np.asarray(lay.mean, np.float32) / std)
    if (cw, ch) != (mw, mh):  # letterbox: black bars, normalised like any pixel
        pad = (0.0 - np.asarray(lay.mean, np.float32)) / std
        norm = _letterbox(g, norm, pad, (cx, cy, cw, ch), (mw, mh))
    if lay.layout == "NHWC":
        g.op("Transpose", norm, out=lay.input_name, perm=[0, 2, 3, 1])
    else:
        g.op("Identity", norm, out=lay.input_name)
    g.model_goes_here()
    prob = _probability(g, lay)
    ow, oh = lay.output_size
    if (ow, oh) != (mw, mh):
        prob = g.resize(prob, mw, mh, 1)
    if (cw, ch) != (mw, mh):
        prob = g.slice(prob, [cy, cx], [cy + ch, cx + cw], [2, 3])
    prob = g.clip(prob, 0.0, 1.0)
    mask = _soft_threshold(g, prob, s.threshold, s.soft_edge)
    if s.refine == "colour":
        guide = g.scale(g.pick(bgra, _channel_weights(lay.colour)), 1.0 / 255.0)
        alpha = _guided_colour(g, mask, g.scale(small, 1.0 / 255.0), guide, (cw, ch), (w, h), s)
    elif s.refine == "grey":
        guide = g.pick(bgra, np.asarray([GREY_BGRA], np.float32) / 255.0)
        alpha = _guided_grey(g, mask, guide, (cw, ch), (w, h), s)
    else:
        alpha = g.resize(mask, w, h, 1)
    alpha = _feather(g, alpha, s.feather_px, w, h)
    alpha = _smooth(g, alpha, grey, (cw, ch), s, w, h)
    names = _outputs(g, alpha, grey, bgra, s, w, h)
    inputs = [_io(FRAME, TensorProto.UINT8, [h, w, 4]), *_state_inputs(w, h, (cw, ch))]
    return _assemble(model, g, inputs, _common_outputs(names, w, h, (cw, ch)))


def _letterbox(
    g: _Builder, x: str, pad: np.ndarray, rect: tuple[int, int, int, int], size: tuple[int, int]
) -> str:
    cx, cy, cw, ch = rect
    mw, mh = size
    fill = pad.astype(np.float32)[None, :, None, None]
    if cx:
        x = g.op(
            "Concat",
            g.const(np.broadcast_to(fill, (1, 3, ch, cx))),
            x,
            g.const(np.broadcast_to(fill, (1, 3, ch, mw - cw - cx))),
            axis=3,
        )
    if cy:
        x = g.op(
            "Concat",
            g.const(np.broadcast_to(fill, (1, 3, cy, mw))),
            x,
            g.const(np.broadcast_to(fill, (1, 3, mh - ch - cy, mw))),
            axis=2,
        )
    return x


def _probability(g: _Builder, lay: SegmentationLayout) -> str:
    """Person probability [1,1,h,w] at the model's output size."""
    out = lay.output_name
    if lay.output_layout == "NHWC":
        out = g.op("Transpose", out, perm=[0, 3, 1, 2])
    c, n = lay.person_channel, lay.output_channels
    if lay.output_kind == "logits" and n > 2:
        return g.slice(g.op("Softmax", out, axis=1), [c], [c + 1], [1])
    if lay.output_kind == "logits" and n == 2:
        w = np.zeros((1, 2), np.float32)
        w[0, c], w[0, 1 - c] = 1.0, -1.0
        return g.op("Sigmoid", g.pick(out, w))
    if lay.output_kind == "logits":
        return g.op("Sigmoid", out)
    return g.slice(out, [c], [c + 1], [1]) if n > 1 else out


def _soft_threshold(g: _Builder, prob: str, threshold: float, width: float) -> str:
    width = max(width, 1e-3)  # the engine's hard step, as a ramp a thousandth wide
    lo = threshold - 0.5 * width
    x = g.clip(g.scale(prob, 1.0 / width, -lo / width), 0.0, 1.0)
    return g.op("Mul", g.op("Mul", x, x), g.scale(x, -2.0, 3.0))


def _coarse(g: _Builder, x: str, size: tuple[int, int], sub: int, channels: int) -> str:
    w, h = size
    return g.downscale(x, (w, h), (max(1, w // sub), max(1, h // sub)), channels)


def _guided_grey(
    g: _Builder,
    mask: str,
    guide: str,
    low: tuple[int, int],
    work: tuple[int, int],
    s: PostSettings,
) -> str:
    """``refine.guided_upsample``: coefficients at model resolution, applied at work size."""
    lw, lh = low
    i_low = g.downscale(guide, work, low, 1)
    r = max(1, s.refine_radius)
    mean_i, mean_p = g.box(i_low, r), g.box(mask, r)
    cov = g.op("Sub", g.box(g.op("Mul", i_low, mask), r), g.op("Mul", mean_i, mean_p))
    var = g.op("Sub", g.box(g.op("Mul", i_low, i_low), r), g.op("Mul", mean_i, mean_i))
    a = g.op("Div", cov, g.op("Add", var, g.const(s.refine_eps)))
    b = g.op("Sub", mean_p, g.op("Mul", a, mean_i))
    w, h = work
    a = g.resize(g.box(a, r), w, h, 1) if (lw, lh) != work else g.box(a, r)
    b = g.resize(g.box(b, r), w, h, 1) if (lw, lh) != work else g.box(b, r)
    return g.op("Add", g.op("Mul", a, guide), b)


def _guided_colour(
    g: _Builder,
    mask: str,
    pixels: str,
    guide: str,
    low: tuple[int, int],
    work: tuple[int, int],
    s: PostSettings,
) -> str:
    """``refine.guided_upsample_colour``: the 3×3 covariance solved per pixel by
    cofactors on the coarse grid, ``q = Σ aₖ·Iₖ + b`` at work size."""
    sub = max(1, s.gf_subsample)
    p_low = _coarse(g, mask, low, sub, 1) if sub > 1 else mask
    i_low = _coarse(g, pixels, low, sub, 3) if sub > 1 else pixels
    r = max(1, round(s.refine_radius / sub)) if sub > 1 else max(1, s.refine_radius)
    ch = [g.slice(i_low, [k], [k + 1], [1]) for k in range(3)]
    mean_p = g.box(p_low, r)
    mean = [g.box(c, r) for c in ch]
    cov_p = [
        g.op("Sub", g.box(g.op("Mul", c, p_low), r), g.op("Mul", m, mean_p))
        for c, m in zip(ch, mean, strict=True)
    ]

    def cov(i: int, j: int, eps: float = 0.0) -> str:
        v = g.op("Sub", g.box(g.op("Mul", ch[i], ch[j]), r), g.op("Mul", mean[i], mean[j]))
        return g.op("Add", v, g.const(eps)) if eps else v

    e = s.refine_eps
    s00, s01, s02 = cov(0, 0, e), cov(0, 1), cov(0, 2)
    s11, s12, s22 = cov(1, 1, e), cov(1, 2), cov(2, 2, e)

    def mul(a: str, b: str) -> str:
        return g.op("Mul", a, b)

    def sub_(a: str, b: str) -> str:
        return g.op("Sub", a, b)

    def add(*xs: str) -> str:
        out = xs[0]
        for x in xs[1:]:
            out = g.op("Add", out, x)
        return out

    c00 = sub_(mul(s11, s22), mul(s12, s12))
    c01 = sub_(mul(s02, s12), mul(s01, s22))
    c02 = sub_(mul(s01, s12), mul(s02, s11))
    c11 = sub_(mul(s00, s22), mul(s02, s02))
    c12 = sub_(mul(s01, s02), mul(s00, s12))
    c22 = sub_(mul(s00, s11), mul(s01, s01))
    det = add(mul(s00, c00), mul(s01, c01), mul(s02, c02))
    inv_det = g.op("Div", g.const(1.0), det)
    v0, v1, v2 = cov_p
    a0 = mul(add(mul(c00, v0), mul(c01, v1), mul(c02, v2)), inv_det)
    a1 = mul(add(mul(c01, v0), mul(c11, v1), mul(c12, v2)), inv_det)
    a2 = mul(add(mul(c02, v0), mul(c12, v1), mul(c22, v2)), inv_det)
    b = sub_(sub_(sub_(mean_p, mul(a0, mean[0])), mul(a1, mean[1])), mul(a2, mean[2]))
    coeffs = g.op("Concat", g.box(a0, r), g.box(a1, r), g.box(a2, r), g.box(b, r), axis=1)
    w, h = work
    coeffs = g.resize(coeffs, w, h, 4)
    # q = a·I + b: a 1×1 convolution cannot take per-pixel weights, so multiply and sum
    prod = g.op("Mul", coeffs, g.op("Concat", guide, _ones_like_channel(g, guide), axis=1))
    return g.pick(prod, np.ones((1, 4), np.float32))


def layout_for(
    proto: onnx.ModelProto, spec: ModelSpec, work: tuple[int, int]
) -> SegmentationLayout:
    """The layout of ``proto`` as its manifest entry ``spec`` describes it, for a work
    picture of ``work`` (w, h); MatteModelError if its output shape is not fixed."""
    ww, wh = work
    graph = proto.graph
    inits = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    in_name = spec.input_name or inputs[0].name
    out = next((o for o in graph.output if o.name == spec.output_name), graph.output[0])
    dims = [d.dim_value for d in out.type.tensor_type.shape.dim]
    if len(dims) != 4 or min(dims[1:]) <= 0:
        raise MatteModelError(f"model {spec.id!r}: output shape {dims} is not fixed")
    if spec.output_layout == "NHWC":
        oh, ow, oc = dims[1], dims[2], dims[3]
    else:
        oc, oh, ow = dims[1], dims[2], dims[3]
    mw, mh = spec.input_size
    return SegmentationLayout(
        input_name=in_name,
        output_name=out.name,
        layout=spec.layout,
        output_layout=spec.output_layout,
        input_size=(mw, mh),
        content=tuple(fit_rect(ww, wh, mw, mh, spec.resize)),  # type: ignore[arg-type]
        colour=spec.colour,
        mean=spec.mean,
        std=spec.std,
        output_kind=spec.output_kind,
        person_channel=spec.person_channel,
        output_channels=oc,
        output_size=(ow, oh),
    )
