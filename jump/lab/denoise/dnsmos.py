"""DNSMOS P.835: SIG, BAK and OVRL quality scores that need no clean reference.

Microsoft's DNS-Challenge model (``dnsmos_sig_bak_ovr.onnx``, CC-BY-4.0) scores 9.01 s
windows of 16 kHz audio (``input_1 [N, 144160]``); the raw outputs are mapped with the
published third-order fits (the non-personalised ones of ``DNSMOS/dnsmos_local.py``) and
averaged over windows that start every second. Clips shorter than a window are repeated
to fill one, as the reference script does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jump.lab.denoise.metrics import METRIC_RATE, to_16k

WINDOW_S = 9.01
# Published fits, highest power first: raw model output -> MOS.
FIT_SIG = (-0.08397278, 1.22083953, 0.0052439)
FIT_BAK = (-0.13166888, 1.60915514, -0.39604546)
FIT_OVRL = (-0.06766283, 1.11546468, 0.04602535)


@dataclass
class Dnsmos:
    sig: float
    bak: float
    ovrl: float


class DnsmosScorer:
    """Loads the P.835 model once; ``score(x, rate)`` for any clip."""

    def __init__(self, model_path: str | Path) -> None:
        from jump.sessions import create_session

        self._session: Any = create_session(model_path, threads=1)
        self._input = self._session.get_inputs()[0].name

    def score(self, x: np.ndarray, rate: int) -> Dnsmos:
        audio = to_16k(np.asarray(x, dtype=np.float64), rate).astype(np.float32)
        window = int(WINDOW_S * METRIC_RATE)
        if audio.size == 0:
            raise ValueError("empty clip")
        while audio.size < window:
            audio = np.concatenate((audio, audio))
        starts = range(0, int(np.floor(audio.size / METRIC_RATE - WINDOW_S)) + 1)
        batch = np.stack([audio[s * METRIC_RATE : s * METRIC_RATE + window] for s in starts])
        raw = self._session.run(None, {self._input: batch})[0]  # [windows, 3]: sig, bak, ovr
        return Dnsmos(
            sig=float(np.mean(np.polyval(FIT_SIG, raw[:, 0]))),
            bak=float(np.mean(np.polyval(FIT_BAK, raw[:, 1]))),
            ovrl=float(np.mean(np.polyval(FIT_OVRL, raw[:, 2]))),
        )
