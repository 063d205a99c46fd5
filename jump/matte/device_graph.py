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
used around the model (``OPS_USED`` lists them; ``tests/unit/test_matte_device_graph.py``
checks every built graph against both providers' tables): no Gather, Pad, Abs, Min or
comparisons — channel picks are 1×1 convolutions, borders are handled by pooling that
does not count the outside (``count_include_pad=0``) or by dividing by a known weight
map, ``min`` is ``−max(−a, −b)``.

Not in the graphs: blob clean-up, auto-framing, low-light assist, the user's corrections
(``device_engine`` hands the latter settings to the numpy engine). Segmentation models'
graph: ``device_graph_segmentation``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from jump.matte import guard
from jump.matte.decontaminate import FADE, TRACE

OPSET = 12  # the shipped models' own opset: their nodes go in unchanged
# Every operator the graphs below add around the model. Each is in ONNX Runtime's
# DirectML kernel table (docs/OperatorKernels.md, DmlExecutionProvider) and in its CoreML
# ML Program table (onnxruntime/tools/mobile_helpers/coreml_supported_mlprogram_ops.md).
OPS_USED = frozenset(
    {
        "Add", "AveragePool", "Cast", "Ceil", "Clip", "Concat", "Conv", "Div", "Identity", "Max",
        "Mul", "ReduceMean", "Reshape", "Resize", "Round", "Sigmoid", "Slice", "Softmax",
        "Sub", "Transpose",
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
        self._n = self.pre = 0  # nodes [0, pre) feed the model; the rest read its outputs

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
    model: onnx.ModelProto,
    work: tuple[int, int],
    ratio: float,
    s: PostSettings,
    guard_ratio: float = 0.0,
) -> onnx.ModelProto:
    """RVM with the frame in and the mask out (``jump.matte.models.rvm``'s pre/post-processing).

    Inputs: ``frame`` uint8 [H,W,4] BGRA, ``r1i…r4i``, the smoothing states. Outputs:
    ``alpha`` uint8 [H,W], ``edge_colour`` (if decontaminating), ``r1o…r4o``, states.
    The ratio is a constant, so ONNX Runtime folds the model's size arithmetic.
    ``guard_ratio`` > 0: a second copy of RVM at that ratio with its own states
    (``guard_r1i…``), the two alphas fused by ``jump.matte.guard.RULE`` (the guard).
    """
    w, h = work
    prefixes = ("", guard.GUARD_PREFIX) if guard_ratio > 0 else ("",)
    if guard_ratio > 0:
        model = guard.with_second_copy(model, guard_ratio)
    g = _Builder()
    bgra = _frame_nchw(g, w, h)
    g.op("Conv", bgra, g.const(_channel_weights("RGB", 1.0 / 255.0).reshape(3, 4, 1, 1)), out="src")
    grey = g.pick(bgra, np.asarray([GREY_BGRA], np.float32))
    g.inits.append(numpy_helper.from_array(np.asarray([ratio], np.float32), "downsample_ratio"))
    g.model_goes_here()
    alpha = g.clip("pha", 0.0, 1.0)
    if guard_ratio > 0:  # the two sizes' alphas fused (guard.RULE)
        alpha = guard.fuse_in_graph(g, alpha, g.clip(guard.GUARD_PREFIX + "pha", 0.0, 1.0))
    alpha = _feather(g, alpha, s.feather_px, w, h)
    alpha = _smooth(g, alpha, grey, (w, h), s, w, h)
    names = _outputs(g, alpha, grey, bgra, s, w, h)
    dims = [[1, f"{p}{n}_c", f"{p}{n}_h", f"{p}{n}_w"] for p in prefixes for n in RVM_STATES]
    states = [f"{p}{n}" for p in prefixes for n in RVM_STATES]
    state_in = [_io(f"{n}i", TensorProto.FLOAT, d) for n, d in zip(states, dims, strict=True)]
    state_out = [_io(f"{n}o", TensorProto.FLOAT, d) for n, d in zip(states, dims, strict=True)]
    inputs = [_io(FRAME, TensorProto.UINT8, [h, w, 4]), *state_in, *_state_inputs(w, h, (w, h))]
    outputs = [*_common_outputs(names, w, h, (w, h)), *state_out]
    # the model's declared inputs "src"/"downsample_ratio" are now made inside the graph
    return _assemble(model, g, inputs, outputs)


def ops_added(graph: onnx.ModelProto, model: onnx.ModelProto) -> set[str]:
    """Operator types of the nodes Jump added around ``model``."""
    theirs = {o for n in model.graph.node for o in n.output}
    return {n.op_type for n in graph.graph.node if not set(n.output) <= theirs}
