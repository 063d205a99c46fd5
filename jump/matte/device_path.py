"""One session run per mask: the graph of ``jump.matte.device_graph`` with its states kept
on the execution provider.

``DevicePath`` owns an InferenceSession of the built graph and an IO binding. Per mask:
the staged work frame (BGRA uint8) is bound as the only host input (ONNX Runtime copies
it to the device), RVM's recurrent states and the smoothing states are bound as the
``OrtValue``s the previous run left on the device, and the uint8 alpha (and edge
colour) are the only outputs copied back. On the CPU provider the same code runs with
the values in host memory, which is how CI tests the graphs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import onnx

from jump import sessions
from jump.matte import device_graph as dg
from jump.matte.guard import GUARD_PREFIX

log = logging.getLogger("jump.matte")

# ORT's device names for OrtValues, by the short provider name jump.sessions reports
DEVICE = {"cuda": "cuda", "tensorrt": "cuda", "dml": "dml"}


class DevicePath:
    """The built graph of one model at one work size, and its states between masks.

    ``run(frame)`` → (alpha uint8 HxW, edge colour uint8 HxWx4 or None). ``reset()``
    forgets every state (the next mask starts fresh: RVM runs ``warmup_passes``).
    ``session_seconds`` accumulates wall time spent inside ``run_with_iobinding``
    (for the bench's "outside the execution provider" figure).

    Every input and output lives in an ``OrtValue`` allocated once on the device, so the
    addresses never change: each state has two buffers, and two IO bindings alternate
    (run *k* reads A and writes B, run *k+1* the reverse). With ``cuda_graph`` each
    binding is captured as its own CUDA graph (``gpu_graph_id`` 1 and 2) and replayed.
    """

    def __init__(
        self,
        graph: onnx.ModelProto,
        work: tuple[int, int],
        providers: str | list,
        threads: int = 2,
        recurrent: bool = False,
        warmup_passes: int = 3,
        name: str = "matte graph",
        cuda_graph: bool = False,
    ) -> None:
        ort = sessions.import_ort()
        self.work = work
        self.recurrent = recurrent
        self.warmup_passes = max(1, warmup_passes)
        if isinstance(providers, str):
            providers = sessions.resolve_providers(providers, cuda_graph=cuda_graph)
        self.session = sessions.create_session(
            graph.SerializeToString(), threads, providers, name=name
        )
        self.provider = sessions.running_provider(self.session)
        self.device = DEVICE.get(self.provider, "cpu")
        self.cuda_graph = self.provider == "cuda" and sessions.cuda_graph_enabled(self.session)
        outputs = [o.name for o in self.session.get_outputs()]
        self.has_colour = dg.COLOUR8 in outputs
        self.session_seconds = 0.0
        self.runs = 0
        self.last_passes = 0
        w, h = work
        shapes = self._state_shapes()

        def value(shape: tuple[int, ...], dtype: type = np.float32) -> Any:
            return ort.OrtValue.ortvalue_from_numpy(np.zeros(shape, dtype), self.device, 0)

        self._frame = value((h, w, 4), np.uint8)
        self._has_prev = value((1,))
        self._alpha = value((h, w), np.uint8)
        self._colour = value((h, w, 4), np.uint8) if self.has_colour else None
        # (input name, output name, shape) of every state, two buffers each
        self._pairs = [(i, o, shapes[o]) for i, o in self._state_names()]
        self._buffers = [[value(shape) for _ in range(2)] for _, _, shape in self._pairs]
        self._bindings = [self._bind(k) for k in range(2)]
        self._runs = [ort.RunOptions() for _ in range(2)]
        if self.cuda_graph:
            for k, options in enumerate(self._runs):
                options.add_run_config_entry("gpu_graph_id", str(k + 1))
        self._turn = 0
        self._fresh = True

    def _state_names(self) -> list[tuple[str, str]]:
        names = [(dg.PREV_ALPHA, dg.NEXT_ALPHA), (dg.PREV_GREY, dg.NEXT_GREY)]
        if self.recurrent:  # RVM's states, and the guard's second copy's where it runs
            inputs = {i.name for i in self.session.get_inputs()}
            for p in ("", GUARD_PREFIX):
                names += [(f"{p}{n}i", f"{p}{n}o") for n in dg.RVM_STATES if f"{p}{n}i" in inputs]
        return names

    def _state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Output shapes of the states: RVM's follow its inner size, so one run tells."""
        w, h = self.work
        feed: dict[str, np.ndarray] = {}
        for i in self.session.get_inputs():
            if i.name == dg.FRAME:
                feed[i.name] = np.zeros((h, w, 4), np.uint8)
            elif i.name == dg.HAS_PREV:
                feed[i.name] = np.zeros(1, np.float32)
            else:
                dims = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
                feed[i.name] = np.zeros(dims, np.float32)
        names = [o for _, o in self._state_names()]
        return {
            n: tuple(v.shape) for n, v in zip(names, self.session.run(names, feed), strict=True)
        }

    def _bind(self, k: int) -> Any:
        b = self.session.io_binding()
        b.bind_ortvalue_input(dg.FRAME, self._frame)
        b.bind_ortvalue_input(dg.HAS_PREV, self._has_prev)
        b.bind_ortvalue_output(dg.ALPHA8, self._alpha)
        if self._colour is not None:
            b.bind_ortvalue_output(dg.COLOUR8, self._colour)
        for (i, o, _), pair in zip(self._pairs, self._buffers, strict=True):
            b.bind_ortvalue_input(i, pair[k])
            b.bind_ortvalue_output(o, pair[1 - k])
        return b

    @property
    def fresh(self) -> bool:
        return self._fresh

    def reset(self) -> None:
        self._fresh = True

    def _clear(self) -> None:
        """Zero the states the next run reads (a fresh RVM state is all zeros)."""
        self._has_prev.update_inplace(np.zeros(1, np.float32))
        for (_, _, shape), pair in zip(self._pairs, self._buffers, strict=True):
            pair[self._turn].update_inplace(np.zeros(shape, np.float32))

    def run(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Alpha (and edge colour) for one uint8 HxWx4 BGRA work frame of ``work`` size."""
        w, h = self.work
        if frame.shape != (h, w, 4) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} is not {h}×{w}×4 uint8")
        self._frame.update_inplace(np.ascontiguousarray(frame))
        passes = 1
        if self._fresh:
            self._clear()
            passes = self.warmup_passes if self.recurrent else 1
        for _ in range(passes):
            t0 = time.perf_counter()
            self.session.run_with_iobinding(self._bindings[self._turn], self._runs[self._turn])
            self.session_seconds += time.perf_counter() - t0
            self._turn = 1 - self._turn
        if self._fresh:  # warm-up passes of one still do not smooth against each other
            self._has_prev.update_inplace(np.ones(1, np.float32))
            self._fresh = False
        self.runs += 1
        self.last_passes = passes
        alpha = self._alpha.numpy()
        return alpha, (self._colour.numpy() if self._colour is not None else None)
