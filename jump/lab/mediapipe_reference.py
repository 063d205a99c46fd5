"""Check the converted selfie-landscape ONNX against MediaPipe itself, at model resolution.

Three steps, two Python environments (MediaPipe 0.10.21 wants numpy<2, the project has 2):

    .venv/bin/python -m jump.lab.mediapipe_reference inputs /tmp/mpref
    /tmp/mpvenv/bin/python jump/lab/mediapipe_reference.py reference /tmp/mpref
    .venv/bin/python -m jump.lab.mediapipe_reference compare /tmp/mpref \\
        models/matte/selfie_segmentation_landscape.onnx

``inputs`` writes 256×144 RGB PNGs: every in-repo cut-out (tests/data/matte) over every
in-repo background at 1280×720, and each ``*.source.jpg``, shrunk (INTER_AREA) to the
model's size. ``reference`` runs ``mediapipe.solutions.selfie_segmentation`` with
``model_selection=1`` (the landscape model), a fresh graph per picture. Because the
picture already has the model's size, MediaPipe's pre-processing is the identity warp
plus /255, and its post-processing (TensorsToSegmentationCalculator, no activation) is an
identity resize, so its mask is the model's sigmoid output. ``compare`` feeds the same
PNG /255 to the ONNX and prints the per-picture max/mean |difference| and how many
pixels fall on the other side of 0.5.

The ``reference`` step imports nothing from Jump, so it runs as a plain script in the
MediaPipe venv.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

SIZE = (256, 144)


def make_inputs(out: Path) -> None:
    from jump.lab.matte import synth
    from jump.lab.paths import REPO

    data = REPO / "tests" / "data" / "matte"
    out.mkdir(parents=True, exist_ok=True)

    def save(name: str, bgr: np.ndarray) -> None:
        cv2.imwrite(str(out / f"{name}.png"), cv2.resize(bgr, SIZE, interpolation=cv2.INTER_AREA))

    for src in sorted((data / "foregrounds").glob("*.source.jpg")):
        save(src.name.removesuffix(".jpg"), synth.load_bgr(src))
    for fg in sorted((data / "foregrounds").glob("*.png")):
        colour, alpha = synth.place(synth.load_rgba(fg), 1280, 720, 0.95, 0.5, 1.0)
        for bg in sorted((data / "backgrounds").glob("*.jpg")):
            back = synth.cover(synth.load_bgr(bg), 1280, 720)
            frame = synth.compose(colour, alpha, back, 1.0, 2.0, np.random.default_rng(0))
            save(f"{fg.stem}_{bg.stem}", frame)


def reference(folder: Path) -> None:
    import mediapipe as mp

    for png in sorted(folder.glob("*.png")):
        rgb = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
        assert rgb.shape[1::-1] == SIZE, png
        # a fresh graph per picture: nothing carried over from the previous one
        with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1) as seg:
            mask = seg.process(rgb).segmentation_mask
        np.save(png.with_suffix(".mediapipe.npy"), np.asarray(mask, dtype=np.float32))
    print(f"mediapipe {mp.__version__}: {len(list(folder.glob('*.png')))} masks in {folder}")


def compare(folder: Path, model: Path) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    worst = 0.0
    for png in sorted(folder.glob("*.png")):
        ref = np.load(png.with_suffix(".mediapipe.npy"))
        rgb = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        ours = session.run(None, {name: rgb[None]})[0][0, ..., 0]
        diff = np.abs(ours - ref)
        flips = int(((ours > 0.5) != (ref > 0.5)).sum())
        worst = max(worst, float(diff.max()))
        print(f"{png.stem:28s} max {diff.max():.1e}  mean {diff.mean():.1e}  flips {flips}")
    print(f"worst max |ONNX - MediaPipe| = {worst:.2e} (probability, 0..1)")
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("step", choices=["inputs", "reference", "compare"])
    p.add_argument("folder", type=Path)
    p.add_argument("model", type=Path, nargs="?", help="the ONNX (compare only)")
    args = p.parse_args(argv)
    if args.step == "inputs":
        make_inputs(args.folder)
    elif args.step == "reference":
        reference(args.folder)
    else:
        if args.model is None:
            p.error("compare needs the ONNX model")
        return 0 if compare(args.folder, args.model) <= 1e-3 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
