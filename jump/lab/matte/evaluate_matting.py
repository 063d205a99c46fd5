"""`python -m jump eval matte --matting`: raw RVM vs Jump-RVM vs Jump-MediaPipe.

Alpha quality (IoU, MAD, edge MAD) and the colour a composite shows at soft edges:
the composites are built from cut-outs, so the true foreground colour ``F`` is known
wherever α > 0 and ``|F̂ − F|`` is measured in the same boundary band as edge MAD,
weighted by what both the truth and the matte show (``metrics.edge_colour_error``).

Sets (normal brightness, sensor noise σ = 2, 1280×720): *mixed* — every cut-out but the
P3M portraits over the backgrounds at the four webcam placements (rotated as in
``synth.still_set``); *portraits* — the P3M portraits (hair-level alpha) likewise.

"Raw RVM" is the network as its authors run it on a still: long side 768,
``downsample_ratio`` 0.5, three recurrent passes, alpha upsampled bilinearly, the
camera's colour as is. Flicker comes from the synthetic moving clip (``synth.moving_clip``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from jump.lab.matte import metrics, synth
from jump.matte import decontaminate
from jump.matte.engine import MatteEngine
from jump.matte.models.rvm import RecurrentMattingModel
from jump.matte.settings import MatteSettings

log = logging.getLogger("jump.matte")

SIZE = (1280, 720)
RAW_RVM_LONG = 768
RAW_RVM_RATIO = 0.5


@dataclass
class ColourSample:
    name: str
    frame: np.ndarray  # BGR uint8
    alpha: np.ndarray  # float32 0–1 truth
    colour: np.ndarray  # float32 0–1 BGR: the true foreground where alpha > 0


def matting_set(
    kind: str, root: Path | None = None, size: tuple[int, int] = SIZE
) -> Iterator[ColourSample]:
    """``kind`` "mixed" (every cut-out but the P3M portraits) or "portraits" (P3M)."""
    w, h = size
    fgs = [
        p for p in synth.foreground_paths(root) if p.stem.startswith("p3m") == (kind == "portraits")
    ]
    bgs = [synth.load_bgr(p) for p in synth.background_paths(root)]
    for i, fg_path in enumerate(fgs):
        fg = clean_cutout(synth.load_rgba(fg_path))
        for j in range(3):
            bi = (i + j) % len(bgs)
            pi = (i + 2 * j) % len(synth.PLACEMENTS)
            pre, alpha = synth.place(fg, w, h, *synth.PLACEMENTS[pi])
            bg = synth.cover(bgs[bi], w, h)
            rng = np.random.default_rng(1000 * i + 10 * j + 6)
            frame = synth.compose(pre, alpha, bg, 1.0, 2.0, rng)
            colour = pre / np.maximum(alpha, 1e-6)[..., None]
            yield ColourSample(f"{fg_path.stem}/bg{bi}/p{pi}", frame, alpha, np.clip(colour, 0, 1))


CONFIDENT = 0.95  # cut-out alpha from which its colour is taken as the person's own


def clean_cutout(bgra: np.ndarray) -> np.ndarray:
    """The cut-out with its soft-edge colour replaced by the nearby confident colour.

    The cut-outs' colour where 0 < α < 1 is not a foreground colour: the P3M and U-2-Net
    ones carry their original photo's background there, person-1/2 are premultiplied.
    A composite's truth is exact whatever ``F`` is, but a decontamination score needs ``F``
    to be the person's: hair keeps the colour of the hair next to it. Normalised blurs
    at growing radii carry the confident colour outward (finest scale that reaches wins).
    """
    colour = bgra[..., :3].astype(np.float32)
    alpha = bgra[..., 3].astype(np.float32) * (1.0 / 255.0)
    known = (alpha >= CONFIDENT).astype(np.float32)
    out = colour.copy()
    todo = alpha < CONFIDENT
    for sigma in (2, 4, 8, 16, 32, 64):
        weight = cv2.GaussianBlur(known, (0, 0), sigma)
        fill = cv2.GaussianBlur(colour * known[..., None], (0, 0), sigma)
        reach = todo & (weight > 1e-3)
        out[reach] = fill[reach] / weight[reach][:, None]
        todo &= ~reach
    result = bgra.copy()
    result[..., :3] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return result


@dataclass
class MattingScores:
    iou: list[float] = field(default_factory=list)
    mad: list[float] = field(default_factory=list)
    edge_mad: list[float] = field(default_factory=list)
    colour: list[float] = field(default_factory=list)
    flicker: list[float] = field(default_factory=list)

    def add(self, alpha: np.ndarray, colour: np.ndarray, s: ColourSample) -> None:
        self.iou.append(metrics.iou(alpha, s.alpha))
        self.mad.append(metrics.mad(alpha, s.alpha))
        self.edge_mad.append(metrics.edge_errors(alpha, s.alpha)[0])
        band = metrics.boundary_band(s.alpha, max(2, round(0.01 * s.alpha.shape[0])))
        est = colour.astype(np.float32) * (1.0 / 255.0)
        shown = np.minimum(s.alpha, alpha.astype(np.float32) * (1.0 / 255.0))
        self.colour.append(metrics.edge_colour_error(est, s.colour, shown, band))

    def mean(self) -> dict[str, float]:
        def m(v: list[float]) -> float:
            return float(np.nanmean(v)) if v else float("nan")

        return {k: m(getattr(self, k)) for k in ("iou", "mad", "edge_mad", "colour", "flicker")}


# A method maps a BGR frame to (alpha uint8, shown colour uint8 BGR), both at frame size.
Method = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class RawRVM:
    """RVM as its authors run a still: fixed long side and ratio, bilinear upsampling."""

    def __init__(self, models_dir: str | os.PathLike[str] | None, threads: int) -> None:
        self.model = RecurrentMattingModel("rvm", models_dir, threads, "cpu")
        self.model.inner_long = round(RAW_RVM_LONG * RAW_RVM_RATIO)

    def reset(self) -> None:
        self.model.reset()

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = frame.shape[:2]
        scale = RAW_RVM_LONG / max(w, h)
        small = cv2.resize(
            frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
        )
        m = self.model
        alpha = m.probability(m.run(m.tensor(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))))
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
        return to_u8(alpha), frame


class JumpMethod:
    """``MatteEngine.process_detailed`` and the colour the CLI's compositor shows.

    ``colour``: "shader" (the OBS shader's decontamination through its numpy twin, as the
    CLI shows it, or the camera's pixel when it is off), "work" (the engine's blur fusion
    at work size, which the shader replaced) or "fgr" (RVM's own foreground prediction).
    """

    def __init__(self, matter: MatteEngine, colour: str = "shader") -> None:
        self.matter, self.colour = matter, colour

    def reset(self) -> None:
        self.matter.reset()

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = self.matter.process_detailed(frame, "bgr", want_raw=False)
        if self.colour == "fgr":
            fgr = r.foreground
            h, w = fgr.shape[:2]
            work = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            delta = decontaminate.foreground_delta(fgr, work, "bgr")
            return r.alpha, decontaminate.apply_delta(frame, delta)
        if self.colour == "work" and r.delta is not None:
            return r.alpha, decontaminate.apply_delta(frame, r.delta)
        if self.colour == "shader" and self.matter.settings.decontaminate:
            h, w = frame.shape[:2]
            work_size = self.matter.work_size(w, h)
            return r.alpha, decontaminate.decontaminate_frame(frame, r.alpha, work_size)
        return r.alpha, frame


def to_u8(alpha: np.ndarray) -> np.ndarray:
    return np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)


def score_stills(method, samples: list[ColourSample]) -> MattingScores:
    scores = MattingScores()
    for s in samples:
        method.reset()
        alpha, colour = method(s.frame)
        scores.add(alpha, colour, s)
    return scores


def score_clip_flicker(method, frames: list[synth.ClipFrame]) -> float:
    """Mean |α_t − α_{t−1}| over the clip's still stretches (×1, 0–1 units)."""
    method.reset()
    prev, values = None, []
    for f in frames:
        alpha, _ = method(f.frame)
        if prev is not None and f.truth_still:
            values.append(metrics.flicker(prev, alpha))
        prev = alpha
    return float(np.mean(values)) if values else float("nan")


def methods(
    models_dir: str | os.PathLike[str] | None, threads: int
) -> list[tuple[str, Callable[[], object]]]:
    """(label, factory) of every row; factories so a missing model skips only its rows."""
    base = MatteSettings(threads=threads, provider="cpu")
    rvm, mediapipe = base.with_(model="rvm"), base.with_(model="mediapipe")
    return [
        ("raw RVM (768, ratio 0.5, 3 passes, bilinear)", lambda: RawRVM(models_dir, threads)),
        ("Jump-RVM", lambda: JumpMethod(MatteEngine(rvm, models_dir))),
        (
            "Jump-RVM, colour = work-size blur fusion on the CPU (before the shader's)",
            lambda: JumpMethod(MatteEngine(rvm, models_dir), "work"),
        ),
        ("Jump-RVM, colour = RVM's fgr", lambda: JumpMethod(MatteEngine(rvm, models_dir), "fgr")),
        ("Jump-MediaPipe", lambda: JumpMethod(MatteEngine(mediapipe, models_dir))),
        (
            "Jump-MediaPipe, no decontamination",
            lambda: JumpMethod(MatteEngine(mediapipe.with_(decontaminate=False), models_dir)),
        ),
    ]


TABLE_HEAD = (
    "| method | set | IoU ↑ | MAD×10³ ↓ | edge MAD×10³ ↓ | edge colour err×10³ ↓ | "
    "clip flicker×10³ ↓ |\n|---|---|---|---|---|---|---|"
)


def fmt_row(label: str, set_name: str, m: dict[str, float]) -> str:
    def f(v: float, scale: float = 1e3, digits: int = 1) -> str:
        return "–" if v != v else f"{v * scale:.{digits}f}"

    return (
        f"| {label} | {set_name} | {f(m['iou'], 1, 3)} | {f(m['mad'])} | {f(m['edge_mad'])} | "
        f"{f(m['colour'])} | {f(m['flicker'], 1e3, 2)} |"
    )


def run(
    models_dir: str | os.PathLike[str] | None = None,
    threads: int = 2,
    quick: bool = False,
    only: list[str] | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, dict[str, dict[str, float]]]:
    """Print the table row by row; returns {label: {set: means}}."""
    sets = {k: list(matting_set(k)) for k in ("mixed", "portraits")}
    if quick:
        sets = {k: v[::4] for k, v in sets.items()}
    fg, bg = _clip_sources()
    clip = list(synth.moving_clip(fg, bg, SIZE, frames=60 if quick else 90))
    out(TABLE_HEAD)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for label, factory in methods(models_dir, threads):
        if only and not any(o.lower() in label.lower() for o in only):
            continue
        try:
            method = factory()
        except Exception as exc:  # a missing model skips its rows, with the reason
            out(f"| {label} | – | skipped: {exc} | | | | |")
            continue
        flicker = score_clip_flicker(method, clip)
        for set_name, samples in sets.items():
            m = score_stills(method, samples).mean()
            m["flicker"] = flicker
            results.setdefault(label, {})[set_name] = m
            out(fmt_row(label, f"{set_name} ({len(samples)})", m))
    return results


def _clip_sources() -> tuple[np.ndarray, np.ndarray]:
    fgs = {p.stem: p for p in synth.foreground_paths()}
    bgs = synth.background_paths()
    fg = synth.load_rgba(fgs.get("person-2") or next(iter(fgs.values())))
    bg = synth.load_bgr(next((p for p in bgs if "car-2" in p.name), bgs[0]))
    return fg, bg


if __name__ == "__main__":  # pragma: no cover - measurement entry for docs/benchmarks.md
    import sys

    logging.basicConfig(level=logging.WARNING)
    run(
        os.environ.get("JUMP_MODELS"),
        quick="--quick" in sys.argv,
        only=[a for a in sys.argv[1:] if not a.startswith("--")] or None,
    )
