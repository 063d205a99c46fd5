"""One-time ONNX graph edits that make a recurrent mask model stream hop by hop.

NSNet2's exporter hid the GRU state: each GRU starts from a zero tensor built inside the
graph. Two edits are offered, chosen by the manifest entry:

* ``expose_gru_state`` (``"precision": "fp32"``): each GRU's ``initial_h`` becomes a graph
  input and its ``Y_h`` a graph output; any number of hops per call, bit-exact with the
  original model run on the whole sequence.
* ``unroll_gru_step`` + ``quantize_int8`` (``"precision": "int8"``): each GRU becomes the
  explicit equations of one step (two MatMuls and element-wise ops), so ONNX Runtime's
  dynamic int8 quantisation can reach the GRU weights, which hold 80 % of NSNet2's
  parameters. One hop per call; several times faster on CPUs, at a small mask error.
  The first MatMul (fed with log-power features) stays float: its activations span a
  range that 8-bit dynamic quantisation resolves badly.

Edited models are cached per user, keyed by the manifest checksum and the edit.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from jump.catalogue import ModelEntry

log = logging.getLogger("jump.denoise")

STATE_PREFIX = "jump_state_in_"
EDIT_VERSION = 1


def expose_gru_state(model: Any) -> None:
    """Edit an ONNX ModelProto in place: state inputs ``jump_state_in_<i>``, ``Y_h`` outputs."""
    from onnx import TensorProto, helper

    grus = [n for n in model.graph.node if n.op_type == "GRU"]
    if not grus:
        raise ValueError("no GRU node found to expose")
    for i, node in enumerate(grus):
        hidden = _attr(node, "hidden_size")
        directions = 2 if _attr(node, "direction", b"forward") == b"bidirectional" else 1
        name = f"{STATE_PREFIX}{i}"
        while len(node.input) < 6:
            node.input.append("")
        node.input[5] = name
        if len(node.output) < 2 or not node.output[1]:
            raise ValueError("GRU node has no Y_h output to expose")
        shape = [directions, "batch", hidden]
        model.graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        model.graph.output.append(
            helper.make_tensor_value_info(node.output[1], TensorProto.FLOAT, shape)
        )


def unroll_gru_step(model: Any) -> None:
    """Replace every forward GRU (linear_before_reset=1) by the equations of a single step."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    nodes = []
    k = 0
    for node in graph.node:
        if node.op_type != "GRU":
            nodes.append(node)
            continue
        if (
            _attr(node, "direction", b"forward") != b"forward"
            or _attr(node, "linear_before_reset", 0) != 1
        ):
            raise ValueError("only forward GRUs with linear_before_reset=1 can be unrolled")
        h = _attr(node, "hidden_size")
        x, w, r, b = node.input[:4]
        y, y_h = node.output[:2]
        w_ = numpy_helper.to_array(weights[w])[0]
        r_ = numpy_helper.to_array(weights[r])[0]
        b_ = numpy_helper.to_array(weights[b])[0]
        p = f"jump_gru{k}_"
        state = f"{STATE_PREFIX}{k}"
        graph.input.append(helper.make_tensor_value_info(state, TensorProto.FLOAT, [1, "batch", h]))
        graph.output.append(helper.make_tensor_value_info(y_h, TensorProto.FLOAT, [1, "batch", h]))
        for name, value in (
            ("axis0", np.array([0], np.int64)),
            ("split", np.array([h, h, h], np.int64)),
            ("wt", np.ascontiguousarray(w_.T)),  # [input, 3h], gates z, r, h
            ("rt", np.ascontiguousarray(r_.T)),
            ("wb", b_[: 3 * h]),
            ("rb", b_[3 * h :]),
        ):
            graph.initializer.append(numpy_helper.from_array(value, p + name))

        def op(kind: str, ins: list[str], outs: list[str], **attrs: Any) -> None:
            nodes.append(helper.make_node(kind, ins, outs, name=outs[0], **attrs))

        q = p  # short alias for the names below
        op("Squeeze", [x, q + "axis0"], [q + "x"])
        op("Squeeze", [state, q + "axis0"], [q + "h"])
        op("MatMul", [q + "x", q + "wt"], [q + "gx0"])
        op("Add", [q + "gx0", q + "wb"], [q + "gx"])
        op("MatMul", [q + "h", q + "rt"], [q + "gh0"])
        op("Add", [q + "gh0", q + "rb"], [q + "gh"])
        op("Split", [q + "gx", q + "split"], [q + "xz", q + "xr", q + "xh"], axis=1)
        op("Split", [q + "gh", q + "split"], [q + "hz", q + "hr", q + "hh"], axis=1)
        op("Add", [q + "xz", q + "hz"], [q + "z0"])
        op("Sigmoid", [q + "z0"], [q + "z"])
        op("Add", [q + "xr", q + "hr"], [q + "r0"])
        op("Sigmoid", [q + "r0"], [q + "r"])
        op("Mul", [q + "r", q + "hh"], [q + "rh"])  # linear_before_reset: r * (R h + Rb)
        op("Add", [q + "xh", q + "rh"], [q + "n0"])
        op("Tanh", [q + "n0"], [q + "n"])
        op("Sub", [q + "h", q + "n"], [q + "hd"])  # h' = (1 - z) n + z h = n + z (h - n)
        op("Mul", [q + "z", q + "hd"], [q + "zhd"])
        op("Add", [q + "n", q + "zhd"], [q + "hn"])
        op("Unsqueeze", [q + "hn", q + "axis0"], [y_h])  # [1, batch, h]
        op("Unsqueeze", [y_h, q + "axis0"], [y])  # [time=1, directions=1, batch, h]
        k += 1
    if k == 0:
        raise ValueError("no GRU node found to unroll")
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for i, n in enumerate(graph.node):
        if not n.name:
            n.name = f"jump_node{i}"


def quantize_int8(src: Path, dst: Path, keep_float_inputs: tuple[str, ...]) -> None:
    """Dynamic int8 weights for every MatMul except those reading ``keep_float_inputs``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(src))
    exclude = [
        n.name
        for n in model.graph.node
        if n.op_type == "MatMul" and n.input[0] in keep_float_inputs
    ]
    quantize_dynamic(
        str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=exclude
    )


def prepared_copy(entry: ModelEntry, path: Path) -> Path:
    """The streaming version of ``path`` for this entry, built once and cached per user.

    The cache name carries the manifest checksum and the edit, so a new upstream file or a
    new edit gets a new copy. If the user cache is not writable a temp folder is used.
    """
    import onnx

    from jump.sessions import user_cache_dir

    precision = entry.spec.get("precision", "fp32")
    name = f"{entry.id}-{entry.sha256[:12]}-{precision}-v{EDIT_VERSION}.onnx"
    for folder in (user_cache_dir() / "denoise", Path(tempfile.gettempdir()) / "jump-denoise"):
        target = folder / name
        if target.is_file():
            return target
        try:
            folder.mkdir(parents=True, exist_ok=True)
            model = onnx.load(str(path))
            tmp = target.with_name(f"{target.stem}.{os.getpid()}.part.onnx")
            if precision == "int8":
                unroll_gru_step(model)
                onnx.save(model, str(tmp))
                quantize_int8(tmp, tmp, (entry.spec.get("input", "input"),))
            else:
                expose_gru_state(model)
                onnx.save(model, str(tmp))
            tmp.replace(target)
            log.info("denoise: prepared %s (%s, state exposed) at %s", entry.id, precision, target)
            return target
        except OSError as exc:
            log.warning("denoise: cannot write %s (%s)", target, exc)
    raise OSError("no writable folder for the streaming copy of the model")


def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    if default is None:
        raise ValueError(f"{node.op_type} node lacks attribute {name}")
    return default
