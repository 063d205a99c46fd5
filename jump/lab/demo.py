"""`python -m jump demo OUTDIR`: both engines end to end on a demo input, with scores.

Inputs come from the shared evaluation data next to the checkout (`../shared/data`) when
it is there: real speech mixed with real noise at 5 dB SNR, and a person composited over
a photo (so the true alpha is known). Without it the audio demo synthesises a voiced
signal (a glottal pulse train through vowel formants) in pink noise, and the matte demo
asks for a photo of your own.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from jump.lab.paths import shared_dir

log = logging.getLogger("jump.demo")
RATE = 48000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run both engines on a demo input and score them")
    p.add_argument("outdir", nargs="?", default="out", help="where the results go")
    p.add_argument("--models", metavar="DIR", help="extra model folder searched first")
    p.set_defaults(func=run)


def synthetic_voice(seconds: float = 6.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy): vowels from a 110–150 Hz pulse train and formant resonators, in pink
    noise at 5 dB SNR. Only used when no real speech is available."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f0 = 130 + 20 * np.sin(2 * np.pi * 0.7 * t)
    pulses = (np.diff(np.floor(np.cumsum(f0) / RATE), prepend=0) > 0).astype(np.float64)
    voice = np.zeros(n)
    for formant, bandwidth in ((700, 80), (1200, 90), (2600, 120)):
        r = np.exp(-np.pi * bandwidth / RATE)
        theta = 2 * np.pi * formant / RATE
        voice += lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], pulses)
    syllables = (np.sin(2 * np.pi * 2.5 * t) > -0.2) * (t % 2.0 < 1.5)
    clean = voice * np.convolve(syllables, np.hanning(960) / 480, mode="same")
    clean = (0.05 * clean / np.sqrt(np.mean(clean**2) + 1e-12)).astype(np.float32)
    white = rng.standard_normal(n)
    pink = lfilter(
        [0.049922, -0.095993, 0.050613, -0.004408], [1, -2.494956, 2.017265, -0.522189], white
    )
    pink *= np.sqrt(np.mean(clean**2) / np.mean(pink**2) / 10**0.5)
    return clean, (clean + pink).astype(np.float32)


def demo_audio() -> tuple[np.ndarray, np.ndarray, str]:
    if (shared_dir() / "data" / "audio").is_dir():
        from jump.lab.denoise import mixtures

        spec = next(s for s in mixtures.SPECS if s.name == "fan")
        mix = mixtures.build(spec, 5.0, shared_dir() / "data" / "audio")
        return mix.clean, mix.noisy, f"real speech + real noise ({spec.name}), 5 dB SNR"
    clean, noisy = synthetic_voice()
    return clean, noisy, "synthetic voice in pink noise, 5 dB SNR"


def run(args: argparse.Namespace) -> int:
    import soundfile as sf

    from jump.lab.denoise.files import denoise_array
    from jump.lab.denoise.metrics import si_sdr

    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    clean, noisy, what = demo_audio()
    sf.write(out / "demo-noisy.wav", noisy, RATE)
    cleaned = denoise_array(noisy[None, :], RATE, models_dir=args.models)[0]
    sf.write(out / "demo-denoised.wav", cleaned, RATE)
    print(f"Jump Denoise on {what}:")
    print(
        f"  SI-SDR {si_sdr(clean, noisy):5.1f} dB (noisy) -> {si_sdr(clean, cleaned):5.1f} dB "
        f"(denoised)   {out / 'demo-noisy.wav'} -> {out / 'demo-denoised.wav'}"
    )
    return demo_matte(out, args.models)


def demo_matte(out: Path, models_dir: str | None) -> int:
    import cv2

    from jump.lab.matte.composite import straight_rgba
    from jump.matte import MatteEngine, MatteSettings

    portrait = shared_dir() / "data" / "matte" / "foregrounds" / "person-2.png"
    scenery = shared_dir() / "data" / "matte" / "backgrounds" / "car-1.jpg"
    if not portrait.is_file():
        print("Jump Matte: no demo portrait here; try `python -m jump matte photo.jpg cut.png`")
        return 0
    rgba = cv2.imread(str(portrait), cv2.IMREAD_UNCHANGED)
    h, w = rgba.shape[:2]
    backdrop = cv2.resize(cv2.imread(str(scenery)), (w, h), interpolation=cv2.INTER_AREA)
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255
    frame = (alpha * rgba[:, :, :3] + (1 - alpha) * backdrop + 0.5).astype(np.uint8)
    cv2.imwrite(str(out / "demo-photo.png"), frame)
    matte = MatteEngine(MatteSettings(), models_dir).process(frame, "bgr")
    cv2.imwrite(str(out / "demo-cutout.png"), straight_rgba(frame, matte))
    truth = alpha[:, :, 0] > 0.5
    got = matte > 127
    iou = (truth & got).sum() / max(1, (truth | got).sum())
    print(f"Jump Matte on a person composited over a photo (true alpha known): IoU {iou:.3f}")
    print(f"  {out / 'demo-photo.png'} -> {out / 'demo-cutout.png'}")
    return 0
