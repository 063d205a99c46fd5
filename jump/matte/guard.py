"""The inner-size guard: RVM at two inner sizes on the same frame, fused into one alpha.

RVM's quality grows with its inner pass on average, but one size can fail on a picture
its neighbours get right (issue 18: a dim portrait in a dark jacket that 448 loses and
384 keeps). Where an accelerator leaves room for a second run per mask, the device
graph (``jump.matte.device_graph.build_rvm`` with ``guard_ratio``) runs the model at
the main inner size and at ``MatteSettings.rvm_guard``, each with its own recurrent
state (``r1…r4`` and ``GUARD_PREFIX`` + ``r1…r4``), and fuses the two alphas before the
post-processing.

``RULES`` are the candidate fusions in numpy (``jump.lab.matte.guard_eval`` measures
each); ``RULE`` is the one the graph builds, chosen by those measurements
(docs/benchmarks.md, "The inner-size guard").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


AGREE = 0.9  # masks (alpha ≥ 0.5) whose IoU is at least this agree


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of the two sizes' masks (1 when both are empty)."""
    ma, mb = a >= 0.5, b >= 0.5
    union = np.count_nonzero(ma | mb)
    return 1.0 if union == 0 else np.count_nonzero(ma & mb) / union


def _agree_max(main: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The main size where the two agree; where they do not, one dropped a part: max."""
    return main if agreement(main, second) >= AGREE else np.maximum(main, second)


def _agree_larger(main: np.ndarray, second: np.ndarray) -> np.ndarray:
    return main if agreement(main, second) >= AGREE else _larger(main, second)


# (main size's alpha, the guard size's alpha) → fused alpha, all float 0–1 HxW
RULES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "max": _max,
    "mean": _mean,
    "larger": _larger,
    "confident": _confident,
    "agree-max": _agree_max,
    "agree-larger": _agree_larger,
}
# max and agree-max tie on the means; max lowers normal-light portraits where the sizes
# agree (the smaller size's background comes in), agree-max leaves them alone
RULE = "agree-max"


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


def fuse_in_graph(g: Any, main: str, second: str, rule: str = "") -> str:
    """``RULE`` (or ``rule``) on two [1,1,H,W] alphas in 0–1, as nodes of the device
    graph's builder ``g`` (``jump.matte.device_graph._Builder``), with the operators its
    ``OPS_USED`` allows plus ReduceMean (DirectML and CoreML run it; the model has it).
    The mask is ``Round`` (≥ 0.5 → 1 but for exactly 0.5, which rounds to even)."""
    rule = rule or RULE
    both = g.op("Max", main, second)
    if rule == "max":
        return both
    if rule != "agree-max":
        raise ValueError(f"no graph form for the guard rule {rule!r}")
    ma, mb = g.op("Round", main), g.op("Round", second)
    inter = g.op("ReduceMean", g.op("Mul", ma, mb), axes=[2, 3], keepdims=1)
    union = g.op("ReduceMean", g.op("Max", ma, mb), axes=[2, 3], keepdims=1)
    agree = g.op("Div", inter, g.op("Add", union, g.const(1e-9)))
    # 1 where the masks disagree (IoU < AGREE), else 0: a steep ramp clipped to 0–1
    pick = g.clip(g.op("Mul", g.op("Sub", g.const(AGREE), agree), g.const(1e6)), 0.0, 1.0)
    return g.op("Add", main, g.op("Mul", pick, g.op("Sub", both, main)))
