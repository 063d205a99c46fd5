"""One-time edit of DeepFilterNet3's official ONNX export into one graph that runs one hop.

The export (``enc.onnx``, ``erb_dec.onnx``, ``df_dec.onnx`` in ``DeepFilterNet3_onnx.tar.gz``)
was made for whole sequences: each GRU starts from zeros built inside the graph, and each
convolution with a temporal kernel is preceded by a Pad that adds ``k - 1`` zero frames in
front (the convolutions are causal; DeepFilterNet's lookahead lives outside the networks,
in which frame the outputs are applied to). The edit:

* every GRU's ``initial_h`` becomes an input and its ``Y_h`` an output (the NSNet2 edit,
  ``graph_edit.expose_gru_state``), so the recurrent state is carried by the caller;
* the time Pads go: fed the last ``k`` frames of their input (``erb_conv0`` and
  ``df_conv0``: 3 feature frames; ``df_convp``: 5 frames of ``c0``), each temporal
  convolution yields exactly its one new output frame;
* DeepFilterNet's grouped linear layers (``Einsum btgi,gih->btgh``) become broadcast
  MatMuls, which ORT runs faster at one frame per call;
* the three graphs become one: the encoder's outputs feed both decoders inside, and the
  ``c0`` history (4 earlier frames, an input) is concatenated with the new frame in the
  graph, so a hop is a single ``session.run``. The DF decoder's unused ``alpha`` output goes.

The result is what Jump ships (``models/denoise/deepfilternet3-stream.onnx``), built with
``python -m jump.lab.denoise.dfn3_graph DeepFilterNet3_onnx.tar.gz OUT.onnx``; nothing is
edited at run time. Streaming it hop by hop equals the original graphs run on the whole
sequence within float rounding (tests/unit/test_dfn3.py).
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from jump.denoise.graph_edit import STATE_PREFIX, expose_gru_state

PARTS = ("enc", "erb_dec", "df_dec")
C0_HISTORY = "c0_history"  # the 4 c0 frames before this hop: [batch, 64, 4, nb_df]
C0_OUT = "c0"  # this hop's c0 frame, appended to the history by the caller
OPSET = 17
STATE_NAMES = ("enc_gru", "erb_gru0", "erb_gru1", "df_gru0", "df_gru1")


def _drop_time_pads(graph: Any) -> int:
    """Bypass every Pad node (all of them pad time only in this export); returns the count."""
    pads = [n for n in graph.node if n.op_type == "Pad"]
    for pad in pads:
        src, dst = pad.input[0], pad.output[0]
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name == dst:
                    node.input[i] = src
        graph.node.remove(pad)
    return len(pads)


def _constants_to_initializers(graph: Any) -> None:
    """Constant nodes become initializers (weights ORT can pre-pack, names the edits find)."""
    from onnx import helper

    for node in [n for n in graph.node if n.op_type == "Constant"]:
        attr = node.attribute[0]
        if attr.name != "value":
            continue
        tensor = helper.get_attribute_value(attr)
        tensor.name = node.output[0]
        graph.initializer.append(tensor)
        graph.node.remove(node)


def _grouped_linear_to_matmul(graph: Any) -> int:
    """``Einsum btgi,gih->btgh`` (DeepFilterNet's GroupedLinearEinsum) as a broadcast MatMul
    ``[b,t,g,1,i] @ [g,i,h]``: ORT's generic Einsum costs more than the products themselves
    at one frame per call."""
    from onnx import helper, numpy_helper

    count = 0
    nodes = []
    axes_added = False
    for node in graph.node:
        eq = node.attribute[0].s if node.op_type == "Einsum" else b""
        if eq.replace(b" ", b"") != b"btgi,gih->btgh":
            nodes.append(node)
            continue
        if not axes_added:
            graph.initializer.append(numpy_helper.from_array(np.array([3], np.int64), "jump_ax3"))
            axes_added = True
        x, w = node.input
        p = f"{node.output[0]}_mm"
        nodes.append(helper.make_node("Unsqueeze", [x, "jump_ax3"], [p + "_x"], name=p + "_u"))
        nodes.append(helper.make_node("MatMul", [p + "_x", w], [p + "_y"], name=p))
        nodes.append(
            helper.make_node("Squeeze", [p + "_y", "jump_ax3"], [node.output[0]], name=p + "_s")
        )
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def _prune(graph: Any) -> None:
    """Remove nodes and initializers nothing reaches the graph outputs through."""
    needed = {o.name for o in graph.output}
    keep = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    inits = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    inputs = [i for i in graph.input if i.name in needed]
    del graph.input[:]
    graph.input.extend(inputs)


def _rename(graph: Any, old: str, new: str) -> None:
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new
    for v in list(graph.input) + list(graph.output):
        if v.name == old:
            v.name = new


def _prefixed(model: Any, prefix: str, keep: set[str]) -> Any:
    """Every name in ``model`` gets ``prefix`` except those in ``keep`` (the shared wires)."""
    from onnx import compose

    renamed = compose.add_prefix(model, prefix, rename_inputs=False, rename_outputs=False)
    g = renamed.graph
    for v in list(g.input) + list(g.output):
        if v.name not in keep:
            _rename(g, v.name, prefix + v.name)
    return renamed


def build_streaming_model(enc: Any, erb_dec: Any, df_dec: Any) -> Any:
    """The one-hop graph from the three official ModelProtos."""
    from onnx import TensorProto, helper, version_converter

    # The export is opset 12; Squeeze/Unsqueeze with axes as inputs need 13+.
    enc, erb_dec, df_dec = (
        version_converter.convert_version(m, OPSET) for m in (enc, erb_dec, df_dec)
    )
    for model in (enc, erb_dec, df_dec):
        _drop_time_pads(model.graph)
        _constants_to_initializers(model.graph)
        _grouped_linear_to_matmul(model.graph)
        # Unrolling the GRUs into MatMuls (the NSNet2 int8 edit) was measured no faster here.
        expose_gru_state(model)
    # df_dec: drop the alpha output, feed df_convp from history + the new frame.
    del df_dec.graph.output[1]
    _prune(df_dec.graph)

    # Distinct names per part; the wires between them keep their names.
    enc = _prefixed(enc, "enc/", {"feat_erb", "feat_spec", "e0", "e1", "e2", "e3", "emb", "c0"})
    erb_dec = _prefixed(erb_dec, "erb/", {"emb", "e3", "e2", "e1", "e0"})
    df_dec = _prefixed(df_dec, "df/", {"emb"})
    _rename(df_dec.graph, "df/c0", "df/c0_window")

    concat = helper.make_node(
        "Concat", [C0_HISTORY, "c0"], ["df/c0_window"], axis=2, name="c0_window"
    )
    nodes = [*enc.graph.node, *erb_dec.graph.node, concat, *df_dec.graph.node]
    inits = list(enc.graph.initializer) + list(erb_dec.graph.initializer)
    inits += list(df_dec.graph.initializer)

    def value(name: str, shape: list[Any]) -> Any:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    nb_erb = enc.graph.input[0].type.tensor_type.shape.dim[3].dim_value
    nb_df = enc.graph.input[1].type.tensor_type.shape.dim[3].dim_value
    state_in = [
        i.name
        for m in (enc, erb_dec, df_dec)
        for i in m.graph.input
        if i.name.split("/")[-1].startswith(STATE_PREFIX)
    ]
    state_out = [o.name for m in (enc, erb_dec, df_dec) for o in m.graph.output if "GRU" in o.name]
    if len(state_in) != len(STATE_NAMES) or len(state_out) != len(STATE_NAMES):
        raise ValueError(f"expected {len(STATE_NAMES)} GRUs, found {len(state_in)}")
    inputs = [
        value("feat_erb", ["batch", 1, 3, nb_erb]),
        value("feat_spec", ["batch", 2, 3, nb_df]),
        value(C0_HISTORY, ["batch", 64, 4, nb_df]),
    ]
    outputs = [
        value("gains", ["batch", 1, 1, nb_erb]),
        value("coefs", ["batch", 1, nb_df, None]),
        value("lsnr", ["batch", 1, 1]),
        value(C0_OUT, ["batch", 64, 1, nb_df]),
    ]
    graph = helper.make_graph(nodes, "deepfilternet3_stream", inputs, outputs, inits)
    _rename(graph, "erb/m", "gains")
    _rename(graph, "df/coefs", "coefs")
    _rename(graph, "enc/lsnr", "lsnr")
    for name_in, name_out, short in zip(state_in, state_out, STATE_NAMES, strict=True):
        _rename(graph, name_in, f"{STATE_PREFIX}{short}")
        _rename(graph, name_out, f"jump_state_out_{short}")
        graph.input.append(value(f"{STATE_PREFIX}{short}", [1, "batch", 256]))
        graph.output.append(value(f"jump_state_out_{short}", [1, "batch", 256]))
    _prune(graph)
    model = helper.make_model(graph, opset_imports=list(enc.opset_import))
    model.ir_version = enc.ir_version
    model.producer_name = "jump dfn3_graph"
    return model


def read_tarball(path: Path) -> tuple[dict[str, Any], str]:
    """The three ModelProtos and config.ini's text from the official tarball."""
    import onnx

    models: dict[str, Any] = {}
    config = ""
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            f = tar.extractfile(member)
            if f is None:
                continue
            if name.endswith(".onnx") and name[:-5] in PARTS:
                models[name[:-5]] = onnx.load_from_string(f.read())
            elif name == "config.ini":
                config = f.read().decode()
    missing = [p for p in PARTS if p not in models]
    if missing or not config:
        raise ValueError(f"{path}: missing {missing or 'config.ini'}")
    return models, config


def main(argv: list[str] | None = None) -> int:
    import onnx

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m jump.lab.denoise.dfn3_graph DeepFilterNet3_onnx.tar.gz OUT.onnx")
        return 2
    models, _ = read_tarball(Path(args[0]))
    model = build_streaming_model(models["enc"], models["erb_dec"], models["df_dec"])
    onnx.checker.check_model(model)
    onnx.save(model, args[1])
    print(f"wrote {args[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
