"""Convert MediaPipe's selfie segmentation (landscape) .tflite to ONNX, op for op.

Why our own converter: the shipped matte model must be one whose licence we can show, so
it is built from Google's Apache-2.0 ``selfie_segmentation_landscape.tflite`` as the
``mediapipe`` wheel on PyPI carries it, by a short program anyone can read and rerun.
Generic converters (tf2onnx, onnx2tf) pull in TensorFlow and do not know MediaPipe's
custom ``Convolution2DTransposeBias``.

Only the ops that model uses are handled; anything else raises, so a different model
fails loudly instead of converting wrongly:

    DEQUANTIZE (fp16 weights, folded to float32 initializers; fp16 -> fp32 is exact),
    CONV_2D, DEPTHWISE_CONV_2D, Convolution2DTransposeBias (custom), ADD, MUL, RELU,
    HARD_SWISH, LOGISTIC, MEAN (over H, W), RESIZE_BILINEAR.

TFLite is NHWC throughout; the ONNX graph transposes the input to NCHW once, runs every
op in NCHW (what ONNX convolutions want) and transposes the output back, so the model's
edges keep TFLite's names, shapes and layout (1x144x256x3 RGB in 0..1 -> 1x144x256x1
person probability). The output is the same bytes for the same input (no timestamps).

    python -m jump.lab.tflite_to_onnx mediapipe-0.10.21-...whl models/matte/selfie_segmentation_landscape.onnx

The input may be the .tflite or the wheel (the model is read from inside it).
Lab tooling: needs ``tflite`` (schema bindings) and ``onnx``; the runtime never imports it.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

WHEEL_MEMBER = "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite"
OPSET = 17
IR_VERSION = 8  # readable by every onnxruntime Jump supports

_NUMPY_TYPE = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32}


def read_tflite_bytes(path: Path) -> bytes:
    """The .tflite's bytes, from the file itself or from inside a mediapipe wheel."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(WHEEL_MEMBER)
    return path.read_bytes()


def _enum_name(enum_class: type, value: int) -> str:
    return next(k for k, v in vars(enum_class).items() if v == value and not k.startswith("_"))


class _Converter:
    """One pass over the TFLite subgraph, emitting ONNX nodes and initializers."""

    def __init__(self, buf: bytes) -> None:
        import tflite

        self.tfl = tflite
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        if self.model.SubgraphsLength() != 1:
            raise ValueError("expected one subgraph")
        self.graph = self.model.Subgraphs(0)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.consts: dict[int, np.ndarray] = {}  # tensor index -> value (weights)
        self.alias: dict[int, str] = {}  # tensor index -> ONNX name, where not its own
        self._names: set[str] = set()

    # --- tensors -------------------------------------------------------------------
    def name(self, index: int) -> str:
        return self.alias.get(index) or self.graph.Tensors(index).Name().decode()

    def shape(self, index: int) -> list[int]:
        return [int(d) for d in self.graph.Tensors(index).ShapeAsNumpy()]

    def buffer_value(self, index: int) -> np.ndarray | None:
        """A tensor's constant data, or None for an activation."""
        t = self.graph.Tensors(index)
        data = self.model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(data, int) or data.size == 0:  # DataAsNumpy gives 0 when empty
            return None
        dtype = _NUMPY_TYPE[_enum_name(self.tfl.TensorType, t.Type())]
        return np.frombuffer(data.tobytes(), dtype=dtype).reshape(self.shape(index))

    def const(self, index: int) -> np.ndarray:
        if index in self.consts:
            return self.consts[index]
        value = self.buffer_value(index)
        if value is None:
            raise ValueError(f"{self.name(index)} is not a constant")
        return value

    def fresh(self, base: str) -> str:
        name, n = base, 0
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return name

    def initializer(self, base: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    # --- ops ---------------------------------------------------------------------------
    def options(self, op: Any, cls_name: str) -> Any:
        table = op.BuiltinOptions()
        opts = getattr(self.tfl, cls_name)()
        opts.Init(table.Bytes, table.Pos)
        return opts

    def fused(self, value: str, activation: int, out: str) -> str:
        """Apply a fused activation; the pre-activation gets a derived name."""
        kind = _enum_name(self.tfl.ActivationFunctionType, activation)
        if kind == "NONE":
            return value
        if kind == "RELU":
            return self.node("Relu", [value], out)
        if kind == "RELU6":
            return self.node("Clip", [value, self.scalar(0.0), self.scalar(6.0)], out)
        raise NotImplementedError(f"fused activation {kind}")

    def scalar(self, v: float) -> str:
        return self.initializer("const", np.array(v, dtype=np.float32))

    def pads(self, padding: int, in_hw: list[int], k_hw: list[int], s_hw: list[int]) -> list[int]:
        """Explicit ONNX pads for TFLite SAME/VALID (SAME puts the odd pixel after)."""
        if _enum_name(self.tfl.Padding, padding) == "VALID":
            return [0, 0, 0, 0]
        begin, end = [], []
        for size, k, s in zip(in_hw, k_hw, s_hw, strict=True):
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            begin.append(total // 2)
            end.append(total - total // 2)
        return begin + end

    def conv(self, op: Any, ins: list[int], out: str, depthwise: bool) -> str:
        cls = "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions"
        o = self.options(op, cls)
        if o.DilationHFactor() != 1 or o.DilationWFactor() != 1:
            raise NotImplementedError("dilated convolution")
        kernel = self.const(ins[1])  # conv: OHWI; depthwise: 1 x H x W x C
        bias = self.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
        if depthwise:
            if kernel.shape[0] != 1 or o.DepthMultiplier() not in (0, 1):
                raise NotImplementedError("depth multiplier != 1")
            w = kernel.transpose(3, 0, 1, 2)  # -> C x 1 x H x W, one group per channel
            group = w.shape[0]
        else:
            w, group = kernel.transpose(0, 3, 1, 2), 1  # -> O x I x H x W
        strides = [o.StrideH(), o.StrideW()]
        in_hw = self.shape(ins[0])[1:3]
        pads = self.pads(o.Padding(), in_hw, list(w.shape[2:]), strides)
        base = self.name(ins[1]).rsplit("/", 1)[0]
        args = [self.name(ins[0]), self.initializer(f"{base}/W", w)]
        if bias is not None:
            args.append(self.initializer(f"{base}/B", bias))
        pre = out if o.FusedActivationFunction() == 0 else self.fresh(f"{out}/pre_act")
        self.node("Conv", args, pre, strides=strides, pads=pads, group=group,
                  kernel_shape=list(w.shape[2:]))  # fmt: skip
        return self.fused(pre, o.FusedActivationFunction(), out)

    def transpose_conv_bias(self, op: Any, ins: list[int], out: str) -> str:
        """MediaPipe's Convolution2DTransposeBias: TRANSPOSE_CONV plus a bias.

        Its options are a raw TfLiteTransposeConvParams {padding, stride_w, stride_h}
        (three int32), not a flexbuffer.
        """
        padding, stride_w, stride_h = struct.unpack("<3i", op.CustomOptionsAsNumpy().tobytes())
        kernel = self.const(ins[1])  # O x H x W x I
        w = kernel.transpose(3, 0, 1, 2)  # ONNX ConvTranspose wants I x O x H x W
        in_hw, out_hw = self.shape(ins[0])[1:3], self.shape(op.Outputs(0))[1:3]
        if _enum_name(self.tfl.Padding, padding) == "SAME":
            # TFLite picks the padding that gives out = in * stride; say so explicitly.
            total = [
                max((i - 1) * s + k - o, 0)
                for i, s, k, o in zip(in_hw, (stride_h, stride_w), w.shape[2:], out_hw, strict=True)
            ]
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        else:
            pads = [0, 0, 0, 0]
        base = self.name(ins[1]).rsplit("/", 1)[0]
        args = [self.name(ins[0]), self.initializer(f"{base}/W", w),
                self.initializer(f"{base}/B", self.const(ins[2]))]  # fmt: skip
        return self.node("ConvTranspose", args, out, strides=[stride_h, stride_w], pads=pads,
                         kernel_shape=list(w.shape[2:]), output_shape=out_hw)  # fmt: skip

    def binary(self, onnx_op: str, op: Any, ins: list[int], out: str, cls: str) -> str:
        args = []
        for i in ins:
            value = self.consts.get(i, self.buffer_value(i))
            if value is None:
                args.append(self.name(i))
            else:  # a constant operand, NHWC -> NCHW like everything else
                if value.ndim == 4:
                    value = value.transpose(0, 3, 1, 2)
                args.append(self.initializer(self.name(i), value.astype(np.float32)))
        act = self.options(op, cls).FusedActivationFunction()
        pre = out if act == 0 else self.fresh(f"{out}/pre_act")
        self.node(onnx_op, args, pre)
        return self.fused(pre, act, out)

    def mean(self, op: Any, ins: list[int], out: str) -> str:
        axes = sorted(int(a) for a in self.const(ins[1]))
        keep = self.options(op, "ReducerOptions").KeepDims()
        if axes != [1, 2] or not keep:
            raise NotImplementedError(f"MEAN over {axes} keep_dims={keep}")
        return self.node("GlobalAveragePool", [self.name(ins[0])], out)  # H, W in NCHW

    def resize_bilinear(self, op: Any, ins: list[int], out: str) -> str:
        o = self.options(op, "ResizeBilinearOptions")
        if o.AlignCorners():
            mode = "align_corners"
        elif o.HalfPixelCenters():
            mode = "half_pixel"  # TF's half-pixel rule for upscaling
        else:
            mode = "asymmetric"  # TF's legacy rule: src = dst * in / out
        n, c = self.shape(ins[0])[0], self.shape(ins[0])[3]
        h, w = (int(v) for v in self.const(ins[1]))
        sizes = self.initializer(f"{out}/sizes", np.array([n, c, h, w], dtype=np.int64))
        return self.node("Resize", [self.name(ins[0]), "", "", sizes], out, mode="linear",
                         coordinate_transformation_mode=mode)  # fmt: skip

    # --- graph ---------------------------------------------------------------------------
    def convert(self) -> Any:
        from onnx import TensorProto, helper

        g = self.graph
        (inp,), (outp,) = (int(i) for i in g.InputsAsNumpy()), (int(i) for i in g.OutputsAsNumpy())
        in_name, out_name = self.name(inp), self.name(outp)
        for i in range(g.TensorsLength()):
            self._names.add(self.name(i))
        # The graph's input and output keep their TFLite names and NHWC shapes; inside,
        # the ops see NCHW copies under derived names.
        self.alias[inp] = self.fresh(f"{in_name}/nchw")
        self.alias[outp] = self.fresh(f"{out_name}/nchw")
        self.node("Transpose", [in_name], self.alias[inp], perm=[0, 3, 1, 2])
        for k in range(g.OperatorsLength()):
            op = g.Operators(k)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            builtin = _enum_name(
                self.tfl.BuiltinOperator, max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            )
            ins, out_idx = [int(i) for i in op.InputsAsNumpy()], int(op.OutputsAsNumpy()[0])
            out = self.name(out_idx)
            if builtin == "DEQUANTIZE":  # fp16 weight -> fp32 constant, folded
                self.consts[out_idx] = self.const(ins[0]).astype(np.float32)
            elif builtin == "CONV_2D":
                self.conv(op, ins, out, depthwise=False)
            elif builtin == "DEPTHWISE_CONV_2D":
                self.conv(op, ins, out, depthwise=True)
            elif builtin == "CUSTOM" and code.CustomCode() == b"Convolution2DTransposeBias":
                self.transpose_conv_bias(op, ins, out)
            elif builtin == "ADD":
                self.binary("Add", op, ins, out, "AddOptions")
            elif builtin == "MUL":
                self.binary("Mul", op, ins, out, "MulOptions")
            elif builtin == "RELU":
                self.node("Relu", [self.name(ins[0])], out)
            elif builtin == "HARD_SWISH":
                self.node("HardSwish", [self.name(ins[0])], out)
            elif builtin == "LOGISTIC":
                self.node("Sigmoid", [self.name(ins[0])], out)
            elif builtin == "MEAN":
                self.mean(op, ins, out)
            elif builtin == "RESIZE_BILINEAR":
                self.resize_bilinear(op, ins, out)
            else:
                raise NotImplementedError(f"TFLite op {builtin} {code.CustomCode()!r}")
        self.node("Transpose", [self.alias[outp]], out_name, perm=[0, 2, 3, 1])

        def value_info(name: str, shape: list[int]) -> Any:
            return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

        graph = helper.make_graph(
            self.nodes,
            "selfie_segmentation_landscape",
            [value_info(in_name, self.shape(inp))],
            [value_info(out_name, self.shape(outp))],
            self.initializers,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="jump.lab.tflite_to_onnx",
            ir_version=IR_VERSION,
        )
        return model


def convert(tflite_bytes: bytes) -> Any:
    """The ONNX ModelProto for a TFLite flatbuffer (checked by onnx.checker)."""
    import onnx

    model = _Converter(tflite_bytes).convert()
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("source", type=Path, help="the .tflite, or a mediapipe wheel holding it")
    p.add_argument("output", type=Path, help="the .onnx to write")
    args = p.parse_args(argv)
    model = convert(read_tflite_bytes(args.source))
    args.output.write_bytes(model.SerializeToString())
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
