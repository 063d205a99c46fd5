"""`python -m jump demo OUTDIR`: both engines end to end on bundled inputs, with scores.

It runs the command line's defaults (DeepFilterNet3 and RVM: ``jump.commands.denoise`` /
``jump.commands.matte``), and says what the OBS filters' Auto would run on this machine
and why (the filters' own choosers, measured here).

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
    out = Path(args.outdir)
    safe = out.resolve()
    if safe.exists() and not safe.is_dir():
        from jump.commands.errors import UsageError

        raise UsageError(f"{out} is a file: the demo writes into a folder")
    out.mkdir(parents=True, exist_ok=True)
    demo_denoise(out, args.models)
    return demo_matte(out, args.models)


def _write_wav(path: Path, x, rate: int) -> None:
    import soundfile as sf

    from jump.commands.safe_output import atomic

    with atomic(path) as tmp:
        sf.write(str(tmp), x, rate, format="WAV")


def demo_denoise(out: Path, models_dir: str | None) -> None:
    from dataclasses import replace

    from jump.commands.audio import denoise_array
    from jump.commands.denoise import DEFAULT_MODEL, MODEL_ALIASES
    from jump.denoise import Denoiser
    from jump.denoise.settings import DenoiseSettings
    from jump.lab.denoise.metrics import si_sdr

    clean, noisy, what = demo_audio()
    _write_wav(out / "demo-noisy.wav", noisy, RATE)
    settings = DenoiseSettings(neural_model=MODEL_ALIASES.get(DEFAULT_MODEL, DEFAULT_MODEL))
    d, providers = _loading(Denoiser, RATE, 1, settings, models_dir)
    t0 = time.process_time()
    cleaned = denoise_array(noisy[None, :], RATE, denoiser=d)[0]
    cpu_ms = 1000 * (time.process_time() - t0) / (noisy.size / 480)
    _write_wav(out / "demo-denoised.wav", cleaned, RATE)
    auto = Denoiser(RATE, 1, replace(settings, neural_model="auto"), models_dir)
    print(f"Jump Denoise on {what}, command-line default ({DEFAULT_MODEL}):")
    print(f"  ran: {d.status}")
    print(f"  on:  {providers}; {cpu_ms:.2f} ms CPU per 10 ms of audio")
    print(
        f"  SI-SDR {si_sdr(clean, noisy):5.1f} dB (noisy) -> {si_sdr(clean, cleaned):5.1f} dB "
        f"(denoised)   {out / 'demo-noisy.wav'} -> {out / 'demo-denoised.wav'}"
    )
    print(f"  in OBS here, the filter's Auto would run: {auto.status}")


def demo_matte(out: Path, models_dir: str | None) -> int:
    import cv2
    import numpy as np

    from jump.commands.auto_choice import matte_auto
    from jump.commands.composite import straight_rgba
    from jump.commands.matte import DEFAULT_MODEL
    from jump.commands.safe_output import atomic
    from jump.images import read_image, write_image
    from jump.matte import MatteEngine, MatteSettings

    rgba = read_image(BUNDLED / "matte" / "foregrounds" / PORTRAIT, cv2.IMREAD_UNCHANGED)
    h, w = rgba.shape[:2]
    scenery = read_image(BUNDLED / "matte" / "backgrounds" / SCENERY)
    backdrop = cv2.resize(scenery, (w, h), interpolation=cv2.INTER_AREA)
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255
    frame = (alpha * rgba[:, :, :3] + (1 - alpha) * backdrop + 0.5).astype(np.uint8)
    with atomic(out / "demo-photo.png") as tmp:
        write_image(tmp, frame)
    settings = MatteSettings(model=DEFAULT_MODEL)
    matter, providers = _loading(MatteEngine, settings, models_dir)
    times = []
    for _ in range(5):  # best of 5: the first call also warms the session up
        matter.reset()
        t0 = time.perf_counter()
        matte = matter.process(frame, "bgr")
        times.append(time.perf_counter() - t0)
    with atomic(out / "demo-cutout.png") as tmp:
        write_image(tmp, straight_rgba(frame, matte))
    truth = alpha[:, :, 0] > 0.5
    got = matte > 127
    iou = (truth & got).sum() / max(1, (truth | got).sum())
    print(f"Jump Matte on a P3M portrait ({w}x{h}) composited over {SCENERY} (true alpha known), "
          f"command-line default ({DEFAULT_MODEL}):")  # fmt: skip
    print(f"  ran: model {matter.settings.model}; {providers}; "
          f"{1000 * min(times):.1f} ms per frame (best of 5)")  # fmt: skip
    print(f"  IoU {iou:.3f}   {out / 'demo-photo.png'} -> {out / 'demo-cutout.png'}")
    choice = matte_auto(MatteSettings(model="auto"), models_dir, frame, 30.0)
    print(f"  in OBS here (a {w}x{h} camera at 30 fps), the filter's Auto would run "
          f"{choice.rung.label}: {choice.reason}")  # fmt: skip
    return 0
