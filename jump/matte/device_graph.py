"""ONNX graphs Jump builds around a matte model, so one session run does the whole mask.

The work frame the filter stages (BGRA uint8, HxWx4) goes in; colour order and scaling,
the resize to the model input, the model itself, and the post-processing the numpy
engine does (``jump.matte.engine``: soft threshold, guided filter, outward feather,
motion-adaptive smoothing, blur-fusion decontamination) run on the session's execution
provider, and only the uint8 alpha and the shader's edge-colour texture come back. The
states that carry from one mask to the next (RVM's ``r1…r4``, the smoothed alpha, the
grey picture motion is measured on) are graph inputs and outputs, which
``jump.matte.device_path`` keeps on the device with IO binding.

Only operators that ONNX Runtime's DirectML and CoreML (ML Program) providers run are
used around the model (``OPS_USED`` lists them; ``tests/test_matte_device_graph.py``
checks every built graph against both providers' tables): no Gather, Pad, Abs, Min or
comparisons — channel picks are 1×1 convolutions, borders are handled by pooling that
does not count the outside (``count_include_pad=0``) or by dividing by a known weight
map, ``min`` is ``−max(−a, −b)``.

What the graphs do not do (the engine on the CPU still does, ``device_engine`` hands
those settings to it): the segmentation models' blob clean-up (connected components),
auto-framing, low-light assist, the user's corrections (plate, zones, grow/shrink).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from jump.matte.decontaminate import FADE, TRACE

OPSET = 12  # the shipped models' own opset: their nodes go in unchanged
# Every operator the graphs below add around the model. Each is in ONNX Runtime's
# DirectML kernel table (docs/OperatorKernels.md, DmlExecutionProvider) and in its CoreML
# ML Program table (onnxruntime/tools/mobile_helpers/coreml_supported_mlprogram_ops.md).
OPS_USED = frozenset(
    {
        "Add", "AveragePool", "Cast", "Ceil", "Clip", "Concat", "Conv", "Div", "Identity", "Max",
        "Mul", "Reshape", "Resize", "Round", "Sigmoid", "Slice", "Softmax", "Sub",
        "Transpose",
    }
)  # fmt: skip
PREFIX = "jump_"  # names of Jump's nodes and tensors (the model's never start with it)
# Gray from BGRA the way cv2.COLOR_BGRA2GRAY weighs it (Rec. 601)
GREY_BGRA = (0.114, 0.587, 0.299, 0.0)
JUMP = 0.5  # jump.matte.temporal.MotionAdaptiveSmoother's default


@dataclass(frozen=True)
class PostSettings:
    """The engine settings a graph bakes in, already in work-picture pixels."""

    feather_px: float = 0.0  # outward feather radius, work pixels (0 = off)
    temporal: float = 0.8  # MotionAdaptiveSmoother strength (0 = off)
    motion_px: float = 6.0
    decontaminate_px: float = 0.0  # blur-fusion radius, work pixels (0 = off)
    # segmentation models only
    threshold: float = 0.5
    soft_edge: float = 0.3
    refine: str = "colour"  # "colour" | "grey" | "off"
    refine_radius: int = 2  # guided-filter radius in model-input pixels
    refine_eps: float = 1e-4
    gf_subsample: int = 2


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


# Names of the graph's own inputs and outputs (states go out and come back in)
FRAME = "frame"
ALPHA8 = "alpha"
COLOUR8 = "edge_colour"
PREV_ALPHA, NEXT_ALPHA = "prev_alpha", "next_alpha"
PREV_GREY, NEXT_GREY = "prev_grey", "next_grey"
HAS_PREV = "has_prev"
RVM_STATES = ("r1", "r2", "r3", "r4")


class _Builder:
    """Nodes and constants with unique ``jump_`` names; ``op`` returns the output name."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0
        self.pre = 0  # nodes [0, pre) feed the model; the rest read its outputs

    def model_goes_here(self) -> None:
        self.pre = len(self.nodes)

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{PREFIX}{hint}_{self._n}"

    def const(self, value: np.ndarray | float | list, dtype: type = np.float32) -> str:
        arr = np.asarray(value, dtype)
        name = self.name("c")
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs: object) -> str:
        out = out or self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    # -- arithmetic on [1, C, H, W] float tensors ------------------------------------

    def scale(self, x: str, k: float, add: float = 0.0) -> str:
        y = self.op("Mul", x, self.const(k))
        return self.op("Add", y, self.const(add)) if add else y

    def clip(self, x: str, lo: float, hi: float) -> str:
        return self.op("Clip", x, self.const(lo), self.const(hi))

    def neg(self, x: str) -> str:
        return self.op("Mul", x, self.const(-1.0))

    def minimum(self, a: str, b: str) -> str:
        return self.neg(self.op("Max", self.neg(a), self.neg(b)))

    def absolute(self, x: str) -> str:
        return self.op("Max", x, self.neg(x))

    def box(self, x: str, r: int) -> str:
        """Mean over a (2r+1)² window, two 1-D passes; the outside does not count."""
        if r < 1:
            return x
        k = 2 * r + 1
        common = {"count_include_pad": 0}
        x = self.op("AveragePool", x, kernel_shape=[1, k], pads=[0, r, 0, r], **common)
        return self.op("AveragePool", x, kernel_shape=[k, 1], pads=[r, 0, r, 0], **common)

    def resize(self, x: str, w: int, h: int, channels: int) -> str:
        """Bilinear with half-pixel centres (cv2.INTER_LINEAR)."""
        sizes = self.const([1, channels, h, w], np.int64)
        return self.op(
            "Resize",
            x,
            self.const(np.zeros(0, np.float32)),
            self.const(np.zeros(0, np.float32)),
            sizes,
            mode="linear",
            coordinate_transformation_mode="half_pixel",
        )

    def downscale(self, x: str, src: tuple[int, int], dst: tuple[int, int], channels: int) -> str:
        """cv2.INTER_AREA's result where the factor is a whole number, bilinear elsewhere."""
        (sw, sh), (dw, dh) = src, dst
        if (sw, sh) == (dw, dh):
            return x
        if sw % dw == 0 and sh % dh == 0 and sw // dw == sh // dh:
            f = sw // dw
            return self.op("AveragePool", x, kernel_shape=[f, f], strides=[f, f])
        return self.resize(x, dw, dh, channels)

    def pick(self, x: str, weights: np.ndarray, bias: np.ndarray | None = None) -> str:
        """1×1 convolution: channel order, scaling and weighting in one operator."""
        w = weights.astype(np.float32).reshape(weights.shape[0], weights.shape[1], 1, 1)
        ins = [x, self.const(w)]
        if bias is not None:
            ins.append(self.const(bias.astype(np.float32)))
        return self.op("Conv", *ins)

    def slice(self, x: str, starts: list[int], ends: list[int], axes: list[int]) -> str:
        return self.op(
            "Slice",
            x,
            self.const(starts, np.int64),
            self.const(ends, np.int64),
            self.const(axes, np.int64),
        )


def _frame_nchw(g: _Builder, w: int, h: int) -> str:
    """The uint8 HxWx4 frame as float [1,4,H,W], 0–255, BGRA."""
    x = g.op("Cast", FRAME, to=TensorProto.FLOAT)
    x = g.op("Reshape", x, g.const([1, h, w, 4], np.int64))
    return g.op("Transpose", x, perm=[0, 3, 1, 2])


def _channel_weights(order: str, k: float = 1.0) -> np.ndarray:
    """[3, 4] picking R, G, B (``order``) out of BGRA, times ``k``."""
    index = {"B": 0, "G": 1, "R": 2}
    w = np.zeros((3, 4), np.float32)
    for out, c in enumerate(order):
        w[out, index[c]] = k
    return w


def _feather(g: _Builder, alpha: str, px: float, w: int, h: int) -> str:
    """``refine.feather_outward``: Gaussian blur doubled, max with the original. The blur
    divides by the weight the picture had under the kernel, so the border is neither
    darkened nor padded (cv2 replicates the border; within the tolerance of the tests)."""
    if px < 0.5:
        return alpha
    r = round(px)
    k = 2 * r + 1
    sigma = px / 2.0
    t = np.arange(k, dtype=np.float64) - r
    kern = np.exp(-(t * t) / (2 * sigma * sigma))
    kern /= kern.sum()
    row = g.const(kern.astype(np.float32).reshape(1, 1, 1, k))
    col = g.const(kern.astype(np.float32).reshape(1, 1, k, 1))
    x = g.op("Conv", alpha, row, pads=[0, r, 0, r])
    x = g.op("Conv", x, col, pads=[r, 0, r, 0])
    # weight of the inside under the kernel, per pixel: 1 away from the border
    wx = np.convolve(np.ones(w), kern, mode="same")
    wy = np.convolve(np.ones(h), kern, mode="same")
    weight = (wy[:, None] * wx[None, :]).astype(np.float32)[None, None]
    x = g.op("Mul", x, g.const(2.0 / weight))
    grown = g.clip(x, -1e9, 1.0)
    return g.op("Max", alpha, grown)


def _smooth(
    g: _Builder, alpha: str, grey: str, grey_size: tuple[int, int], s: PostSettings, w: int, h: int
) -> str:
    """``MotionAdaptiveSmoother``: new = prev + rate·(alpha − prev), rate from motion and
    the size of the change; ``has_prev`` 0 makes the rate 1 (first mask, after a reset)."""
    if s.temporal <= 0:
        return alpha
    diff = g.absolute(g.op("Sub", grey, PREV_GREY))
    motion = g.scale(g.box(diff, 1), 1.0 / s.motion_px)
    if grey_size != (w, h):
        motion = g.resize(motion, w, h, 1)
    delta = g.op("Sub", alpha, PREV_ALPHA)
    rate = g.op("Max", g.scale(g.absolute(delta), 1.0 / JUMP), motion)
    first = g.op("Sub", g.const(1.0), HAS_PREV)  # 1 when there is nothing to smooth with
    rate = g.op("Max", rate, first)
    rate = g.clip(rate, 1.0 - 0.85 * s.temporal, 1.0)
    return g.op("Add", PREV_ALPHA, g.op("Mul", rate, delta))


def _decontaminate(g: _Builder, bgra: str, alpha: str, radius: float) -> str:
    """``decontaminate.EdgeDecontaminator`` (blur fusion, two rounds) → Δ = F̂ − I
    [1,3,H,W] in the frame's channel order (B, G, R)."""
    image = g.pick(bgra, _channel_weights("BGR", 1.0 / 255.0))
    a = g.clip(alpha, 0.0, 1.0)
    fg_a = g.op("Mul", a, image)
    bg_1a = g.op("Sub", image, fg_a)
    # 1 where nothing is drawn (α ≤ 0), else 0: the mask cv2.copyTo uses in the engine
    not_drawn = g.op("Sub", g.const(1.0), g.op("Ceil", a))
    base = max(1, round(radius))
    rounds = (base, max(1, base // 8))
    fg = image
    for k, r in enumerate(rounds):
        blur_a = g.box(a, r)
        inv_a = g.op("Div", g.const(1.0), g.op("Add", blur_a, g.const(1e-5)))
        inv_b = g.op("Div", g.const(1.0), g.op("Sub", g.const(1.0 + 1e-5), blur_a))
        mean_f = g.op("Mul", g.box(fg_a, r), inv_a)
        mean_b = g.op("Mul", g.box(bg_1a, r), inv_b)
        t = g.op("Mul", g.op("Sub", mean_f, mean_b), a)
        fg = g.op("Sub", g.op("Sub", image, mean_b), t)
        fg = g.clip(g.op("Add", g.op("Mul", fg, a), mean_f), 0.0, 1.0)
        if k + 1 < len(rounds):
            drawn = g.op("Sub", g.const(1.0), not_drawn)
            mean_b = g.op("Add", g.op("Mul", mean_b, drawn), g.op("Mul", image, not_drawn))
            bg_1a = g.op("Sub", mean_b, g.op("Mul", mean_b, a))
            fg_a = g.op("Mul", fg, a)
    lo, hi = FADE
    fade = g.clip(g.scale(a, -1.0 / (hi - lo), hi / (hi - lo)), 0.0, 1.0)
    fade = g.minimum(fade, g.scale(a, 1.0 / TRACE))
    return g.op("Mul", g.op("Sub", fg, image), g.op("Mul", fade, a))


def _outputs(
    g: _Builder, alpha: str, grey: str, bgra: str, s: PostSettings, w: int, h: int
) -> list[str]:
    """uint8 alpha (HxW), the shader's edge colour (HxWx4) if on, and the states."""
    a8 = g.clip(g.op("Round", g.scale(alpha, 255.0)), 0.0, 255.0)
    a8 = g.op("Reshape", a8, g.const([h, w], np.int64))
    g.op("Cast", a8, out=ALPHA8, to=TensorProto.UINT8)
    g.op("Identity", alpha, out=NEXT_ALPHA)
    g.op("Identity", grey, out=NEXT_GREY)
    names = [ALPHA8, NEXT_ALPHA, NEXT_GREY]
    if s.decontaminate_px > 0:
        delta = _decontaminate(g, bgra, alpha, s.decontaminate_px)
        # encode_delta_bgra: Δ·127.5 + 128, clipped, truncated; alpha channel 255
        enc = g.clip(g.scale(delta, 127.5, 128.0), 0.0, 255.0)
        # truncation as numpy's astype(uint8) does: round(x − 0.5 + tiny) for x ≥ 0
        enc = g.op("Round", g.scale(enc, 1.0, -0.5 + 1e-4))
        enc = g.clip(enc, 0.0, 255.0)
        opaque = g.scale(_ones_like_channel(g, enc), 255.0)
        enc = g.op("Concat", enc, opaque, axis=1)
        enc = g.op("Transpose", enc, perm=[0, 2, 3, 1])
        enc = g.op("Reshape", enc, g.const([h, w, 4], np.int64))
        g.op("Cast", enc, out=COLOUR8, to=TensorProto.UINT8)
        names.append(COLOUR8)
    return names


def _ones_like_channel(g: _Builder, x: str) -> str:
    """[1,1,H,W] of ones shaped like one channel of ``x`` (ORT folds it to a constant)."""
    return g.op("Add", g.op("Mul", g.slice(x, [0], [1], [1]), g.const(0.0)), g.const(1.0))


def _io(name: str, elem: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _assemble(
    model: onnx.ModelProto,
    g: _Builder,
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [*g.nodes[: g.pre], *_model_nodes(model), *g.nodes[g.pre :]],
        "jump_matte",
        inputs,
        outputs,
        initializer=[*model.graph.initializer, *g.inits],
    )
    out = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="jump"
    )
    out.ir_version = 7
    return out


def _model_nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets.get("", OPSET) > OPSET:
        raise ValueError(f"model opset {opsets['']} is newer than the graph's {OPSET}")
    return list(model.graph.node)


def _state_inputs(w: int, h: int, grey_size: tuple[int, int]) -> list[onnx.ValueInfoProto]:
    gw, gh = grey_size
    return [
        _io(PREV_ALPHA, TensorProto.FLOAT, [1, 1, h, w]),
        _io(PREV_GREY, TensorProto.FLOAT, [1, 1, gh, gw]),
        _io(HAS_PREV, TensorProto.FLOAT, [1]),
    ]


def _common_outputs(
    names: list[str], w: int, h: int, grey_size: tuple[int, int]
) -> list[onnx.ValueInfoProto]:
    gw, gh = grey_size
    shapes = {
        ALPHA8: (TensorProto.UINT8, [h, w]),
        NEXT_ALPHA: (TensorProto.FLOAT, [1, 1, h, w]),
        NEXT_GREY: (TensorProto.FLOAT, [1, 1, gh, gw]),
        COLOUR8: (TensorProto.UINT8, [h, w, 4]),
    }
    return [_io(n, *shapes[n]) for n in names]


def build_rvm(
    model: onnx.ModelProto, work: tuple[int, int], ratio: float, s: PostSettings
) -> onnx.ModelProto:
    """RVM with the frame in and the mask out (``jump.matte.rvm``'s pre/post-processing).

    Inputs: ``frame`` uint8 [H,W,4] BGRA, ``r1i…r4i``, the smoothing states. Outputs:
    ``alpha`` uint8 [H,W], ``edge_colour`` (if decontaminating), ``r1o…r4o``, states.
    The ratio is a constant, so ONNX Runtime folds the model's size arithmetic.
    """
    w, h = work
    g = _Builder()
    bgra = _frame_nchw(g, w, h)
    g.op("Conv", bgra, g.const(_channel_weights("RGB", 1.0 / 255.0).reshape(3, 4, 1, 1)), out="src")
    grey = g.pick(bgra, np.asarray([GREY_BGRA], np.float32))
    g.inits.append(numpy_helper.from_array(np.asarray([ratio], np.float32), "downsample_ratio"))
    g.model_goes_here()
    alpha = g.clip("pha", 0.0, 1.0)
    alpha = _feather(g, alpha, s.feather_px, w, h)
    alpha = _smooth(g, alpha, grey, (w, h), s, w, h)
    names = _outputs(g, alpha, grey, bgra, s, w, h)
    state_in = [
        _io(f"{n}i", TensorProto.FLOAT, [1, f"{n}_c", f"{n}_h", f"{n}_w"]) for n in RVM_STATES
    ]
    state_out = [
        _io(f"{n}o", TensorProto.FLOAT, [1, f"{n}_c", f"{n}_h", f"{n}_w"]) for n in RVM_STATES
    ]
    inputs = [_io(FRAME, TensorProto.UINT8, [h, w, 4]), *state_in, *_state_inputs(w, h, (w, h))]
    outputs = [*_common_outputs(names, w, h, (w, h)), *state_out]
    # the model's declared inputs "src"/"downsample_ratio" are now made inside the graph
    return _assemble(model, g, inputs, outputs)


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


def ops_added(graph: onnx.ModelProto, model: onnx.ModelProto) -> set[str]:
    """Operator types of the nodes Jump added around ``model`` (for the provider check)."""
    theirs = {o for n in model.graph.node for o in n.output}
    return {n.op_type for n in graph.graph.node if not set(n.output) <= theirs}
