"""The inner-size guard: RVM at two inner sizes on the same frame, fused into one alpha.

RVM's quality grows with its inner pass on average, but one size can fail on a picture
its neighbours get right (issue 18: a dim portrait whose dark jacket half vanishes at
448 and holds at 384). Where an accelerator leaves room for a second run per mask, the
device graph (``jump.matte.device_graph.build_rvm`` with ``guard``) runs the model at
the main inner size and at ``MatteSettings.rvm_guard``, each with its own recurrent
state (``r1…r4`` and ``GUARD_PREFIX`` + ``r1…r4``), and fuses the two alphas before the
post-processing.

``RULES`` are the candidate fusions in numpy (``jump.lab.matte.guard_eval`` measures
each); ``RULE`` is the one the graph builds, chosen by those measurements
(docs/benchmarks.md, "The inner-size guard").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from onnx import numpy_helper

GUARD_PREFIX = "guard_"  # names of the second copy's tensors and states in the graph


def _max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A pixel is the person's where either size says so (a size that drops part of the
    person is overruled; a size that adds background is not)."""
    return np.maximum(a, b)


def _mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 0.5 * (a + b)


def _larger(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per frame, the size that finds more of the person (the failure drops a part)."""
    return a if float(a.mean()) >= float(b.mean()) else b


def _confident(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per frame, the size whose alpha is less undecided (less mass between 0 and 1)."""
    ua = float(np.minimum(a, 1.0 - a).mean())
    ub = float(np.minimum(b, 1.0 - b).mean())
    return a if ua <= ub else b


RULES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "max": _max,
    "mean": _mean,
    "larger": _larger,
    "confident": _confident,
}
RULE = "max"


def with_second_copy(model: onnx.ModelProto, ratio: float) -> onnx.ModelProto:
    """``model`` and a second copy of it in one graph: the copy's every node, tensor and
    weight renamed with ``GUARD_PREFIX`` except ``src`` (both sizes read the same frame),
    its ``downsample_ratio`` a constant ``ratio``. The copy's states are
    ``guard_r1i…``/``guard_r1o…``, its alpha ``guard_pha``. Weights are duplicated (the
    session holds RVM twice, 15 MB more): sharing them would tie the two copies' constant
    folding to one ratio."""
    keep = {"src"}

    def rename(name: str) -> str:
        return name if not name or name in keep else GUARD_PREFIX + name

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    nodes = []
    for node in copy.graph.node:
        node.name = rename(node.name)
        node.input[:] = [rename(n) for n in node.input]
        node.output[:] = [rename(n) for n in node.output]
        nodes.append(node)
    inits = []
    for init in copy.graph.initializer:
        init.name = rename(init.name)
        inits.append(init)
    ratio_init = numpy_helper.from_array(
        np.asarray([ratio], np.float32), GUARD_PREFIX + "downsample_ratio"
    )
    merged = onnx.ModelProto()
    merged.CopyFrom(model)
    merged.graph.node.extend(nodes)
    merged.graph.initializer.extend([*inits, ratio_init])
    return merged
