"""`python -m jump demo OUTDIR`: both engines end to end on bundled inputs, with scores.

The inputs ship with Jump in `tests/data` (redistributable; see its README), so the demo
runs offline on a fresh clone: LibriSpeech sentences mixed with the bundled fan noise at
5 dB SNR (scored by SI-SDR against the clean speech), and a P3M portrait with hair-level
alpha composited over a photo (scored by IoU against that alpha).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported when a demo runs, so `doctor` works without it
    import numpy as np

log = logging.getLogger("jump.demo")
BUNDLED = Path(__file__).resolve().parents[2] / "tests" / "data"
RATE = 48000
PORTRAIT, SCENERY = "p3m-bac3c1ff.png", "car-2.jpg"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run both engines on bundled inputs and score them")
    p.add_argument("outdir", nargs="?", default="out", help="where the results go")
    p.add_argument("--models", metavar="DIR", help="extra model folder searched first")
    p.set_defaults(func=run)


class _ProviderLog(logging.Handler):
    """Keeps jump.sessions's "<file> runs on <provider>" lines: what actually ran."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if " runs on " in message:
            self.lines.append(message)


def _loading(fn, *args):
    handler = _ProviderLog()
    logger = logging.getLogger("jump.sessions")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        return fn(*args), "; ".join(handler.lines) or "no ONNX model loaded"
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def demo_audio() -> tuple[np.ndarray, np.ndarray, str]:
    from jump.lab.denoise import mixtures

    spec = mixtures.MixtureSpec(
        "fan", ("speech/spk1_snt1.wav", "speech/spk1_snt2.wav"), "noise/fan.wav"
    )
    mix = mixtures.build(spec, 5.0, BUNDLED / "audio")
    return mix.clean, mix.noisy, "LibriSpeech speech + fan noise (tests/data), 5 dB SNR"


def run(args: argparse.Namespace) -> int:
    import soundfile as sf

    from jump.denoise import Denoiser
    from jump.lab.denoise.files import denoise_array
    from jump.lab.denoise.metrics import si_sdr

    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    clean, noisy, what = demo_audio()
    sf.write(out / "demo-noisy.wav", noisy, RATE)
    d, providers = _loading(Denoiser, RATE, 1, None, args.models)
    t0 = time.process_time()
    cleaned = denoise_array(noisy[None, :], RATE, denoiser=d)[0]
    cpu_ms = 1000 * (time.process_time() - t0) / (noisy.size / 480)
    sf.write(out / "demo-denoised.wav", cleaned, RATE)
    print(f"Jump Denoise on {what}:")
    print(f"  ran: {d.status}")
    print(f"  on:  {providers}; {cpu_ms:.2f} ms CPU per 10 ms of audio")
    print(
        f"  SI-SDR {si_sdr(clean, noisy):5.1f} dB (noisy) -> {si_sdr(clean, cleaned):5.1f} dB "
        f"(denoised)   {out / 'demo-noisy.wav'} -> {out / 'demo-denoised.wav'}"
    )
    return demo_matte(out, args.models)


def demo_matte(out: Path, models_dir: str | None) -> int:
    import cv2
    import numpy as np

    from jump.lab.matte.composite import straight_rgba
    from jump.matte import MatteEngine, MatteSettings

    rgba = cv2.imread(str(BUNDLED / "matte" / "foregrounds" / PORTRAIT), cv2.IMREAD_UNCHANGED)
    h, w = rgba.shape[:2]
    scenery = cv2.imread(str(BUNDLED / "matte" / "backgrounds" / SCENERY))
    backdrop = cv2.resize(scenery, (w, h), interpolation=cv2.INTER_AREA)
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255
    frame = (alpha * rgba[:, :, :3] + (1 - alpha) * backdrop + 0.5).astype(np.uint8)
    cv2.imwrite(str(out / "demo-photo.png"), frame)
    matter, providers = _loading(MatteEngine, MatteSettings(), models_dir)
    times = []
    for _ in range(5):  # best of 5: the first call also warms the session up
        matter.reset()
        t0 = time.perf_counter()
        matte = matter.process(frame, "bgr")
        times.append(time.perf_counter() - t0)
    cv2.imwrite(str(out / "demo-cutout.png"), straight_rgba(frame, matte))
    truth = alpha[:, :, 0] > 0.5
    got = matte > 127
    iou = (truth & got).sum() / max(1, (truth | got).sum())
    print(f"Jump Matte on a P3M portrait ({w}x{h}) composited over {SCENERY} (true alpha known):")
    print(
        f"  ran: model {MatteSettings().model}; {providers}; {1000 * min(times):.1f} ms per frame (best of 5)"
    )
    print(f"  IoU {iou:.3f}   {out / 'demo-photo.png'} -> {out / 'demo-cutout.png'}")
    return 0
