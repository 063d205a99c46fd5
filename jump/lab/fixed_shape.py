"""One-input models of fixed shape run with IO binding (the model benchmark's runner).

Lab-only: the runtime's device path (``jump.matte.device_path``) binds its own buffers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jump.sessions import import_ort, running_provider


class FixedShapeRunner:
    """Runs a one-input model of fixed shape with IO binding and no per-frame allocation.

    The caller writes the model input into ``input_buffer`` (pre-processing straight into
    it saves a copy) and calls ``run()``, which returns the first output.

    On the CPU both buffers are bound by pointer: ORT reads and writes them in place, and
    the returned array is reused (copy it to keep it past the next call). On CUDA the
    input and outputs live in device buffers bound once, so ORT plans one fixed execution;
    the host copies are one ``update_inplace`` before and one ``numpy()`` after. With the
    CUDA option ``enable_cuda_graph`` (``resolve_providers(..., cuda_graph=True)``) the
    model is replayed as one CUDA graph, removing the per-kernel launch cost that
    dominates small models; that needs exactly these fixed device buffers.
    """

    def __init__(self, session: Any) -> None:
        import numpy as np  # here, not at the top: `python -m jump --help` stays instant

        ort = import_ort()
        numpy_types = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
        self.session = session
        self.provider = running_provider(session)
        inp = session.get_inputs()[0]
        self.input_name = inp.name
        self.input_buffer = np.zeros(_fixed_shape(inp.shape), np.float32)
        outs = session.get_outputs()
        self.output_names = [o.name for o in outs]
        self.outputs = [np.zeros(_fixed_shape(o.shape), numpy_types[o.type]) for o in outs]
        self._binding = session.io_binding()
        self._device_in: Any = None
        self._device_out: list[Any] = []
        if self.provider in ("cuda", "tensorrt"):
            make = ort.OrtValue.ortvalue_from_shape_and_type
            self._device_in = make(self.input_buffer.shape, np.float32, "cuda", 0)
            self._binding.bind_ortvalue_input(self.input_name, self._device_in)
            self._device_out = [make(o.shape, o.dtype, "cuda", 0) for o in self.outputs]
            for name, value in zip(self.output_names, self._device_out, strict=True):
                self._binding.bind_ortvalue_output(name, value)
        else:
            self._binding.bind_cpu_input(self.input_name, self.input_buffer)
            for name, arr in zip(self.output_names, self.outputs, strict=True):
                self._binding.bind_output(name, "cpu", 0, arr.dtype, arr.shape, arr.ctypes.data)

    def run(self) -> Any:
        """Run on the current ``input_buffer``; returns the first output."""
        if self._device_in is None:
            self.session.run_with_iobinding(self._binding)
            return self.outputs[0]
        self._device_in.update_inplace(self.input_buffer)
        self.session.run_with_iobinding(self._binding)
        return self._device_out[0].numpy()


def _fixed_shape(shape: Sequence[Any]) -> tuple[int, ...]:
    if not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"FixedShapeRunner needs a model of fixed shapes, got {list(shape)}")
    return tuple(shape)
