"""`python -m jump eval matte`: raw model output vs Jump's refined matte on ground truth.

"Raw" is the model's person probability upsampled bilinearly to the frame, as
obs-backgroundremoval shows it; "refined" is ``MatteEngine.process`` with the given settings.
Both come from the same inference on the same frame.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from jump.lab.matte import metrics, synth
from jump.matte.engine import MatteEngine
from jump.matte.model import ModelSpec

log = logging.getLogger("jump.matte")


@dataclass
class Scores:
    """Per-frame metrics, averaged on demand."""

    iou: list[float] = field(default_factory=list)
    mad: list[float] = field(default_factory=list)
    edge_mad: list[float] = field(default_factory=list)
    grad: list[float] = field(default_factory=list)
    flicker: list[float] = field(default_factory=list)

    def add(self, pred: np.ndarray, truth: np.ndarray) -> None:
        self.iou.append(metrics.iou(pred, truth))
        self.mad.append(metrics.mad(pred, truth))
        e, g = metrics.edge_errors(pred, truth)
        self.edge_mad.append(e)
        self.grad.append(g)

    def mean(self) -> dict[str, float]:
        def m(v: list[float]) -> float:
            return float(np.mean(v)) if v else float("nan")

        return {
            "iou": m(self.iou),
            "mad": m(self.mad),
            "edge_mad": m(self.edge_mad),
            "grad": m(self.grad),
            "flicker": m(self.flicker),
        }


def _raw_engine(matter: MatteEngine) -> MatteEngine:
    """An engine that shows the bare model: same model, no low-light assist on its input."""
    if matter.settings.low_light == "off":
        return matter
    return MatteEngine(matter.settings.with_(low_light="off"), matter.models_dir)


def evaluate_stills(matter: MatteEngine, samples: Iterable[synth.Sample]) -> tuple[Scores, Scores]:
    """(raw, refined) scores on single pictures (no temporal state between them)."""
    raw, refined = Scores(), Scores()
    bare = _raw_engine(matter)
    for s in samples:
        matter.reset()
        r = matter.process_detailed(s.frame, "bgr")
        raw_alpha = r.raw if bare is matter else bare.process_detailed(s.frame, "bgr").raw
        raw.add(raw_alpha, s.alpha)
        refined.add(r.alpha, s.alpha)
    return raw, refined


def evaluate_clip(
    matter: MatteEngine, frames: Iterable[synth.ClipFrame], every: int = 3
) -> tuple[Scores, Scores]:
    """(raw, refined) scores on a clip: accuracy on every ``every``-th frame, flicker on
    every frame whose truth did not change (the still stretches)."""
    raw, refined = Scores(), Scores()
    bare = _raw_engine(matter)
    matter.reset()
    prev = prev_raw = None
    for f in frames:
        r = matter.process_detailed(f.frame, "bgr")
        raw_alpha = r.raw if bare is matter else bare.process_detailed(f.frame, "bgr").raw
        if f.index % every == 0:
            raw.add(raw_alpha, f.alpha)
            refined.add(r.alpha, f.alpha)
        if prev is not None and f.truth_still:
            raw.flicker.append(metrics.flicker(prev_raw, raw_alpha))
            refined.flicker.append(metrics.flicker(prev.alpha, r.alpha))
        prev, prev_raw = r, raw_alpha
    return raw, refined


def preprocessing_variants(spec: ModelSpec) -> list[tuple[str, ModelSpec]]:
    """The manifest's pre-processing and single changes to it, to check each choice."""
    out = [("as in the manifest", spec)]
    out.append(
        ("colour order swapped", replace(spec, colour="RGB" if spec.colour == "BGR" else "BGR"))
    )
    other = "stretch" if spec.resize == "letterbox" else "letterbox"
    out.append((f"{other} instead of {spec.resize}", replace(spec, resize=other)))
    if spec.mean != (0.0, 0.0, 0.0) or spec.std != (255.0, 255.0, 255.0):
        out.append(
            ("pixels / 255 instead of mean/std", replace(spec, mean=(0.0,) * 3, std=(255.0,) * 3))
        )
    else:
        imagenet = replace(spec, mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4))
        out.append(("ImageNet mean/std instead of / 255", imagenet))
    return out


def check_preprocessing(
    matter: MatteEngine, samples: list[synth.Sample]
) -> list[tuple[str, float]]:
    """Raw-output IoU on ``samples`` for each variant of the model's pre-processing."""
    model = matter.model
    base = model.spec
    rows = []
    try:
        for label, spec in preprocessing_variants(base):
            model.set_normalisation(spec)
            ious = []
            for s in samples:
                h, w = s.frame.shape[:2]
                _, _, cw, ch = model.content_rect(w, h)
                small = cv2.resize(s.frame, (cw, ch), interpolation=cv2.INTER_AREA)
                pixels = small if spec.colour == "BGR" else cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
                prob = model.probability(model.run(model.tensor(pixels)))
                ious.append(metrics.iou(cv2.resize(prob, (w, h)), s.alpha))
            rows.append((label, float(np.mean(ious))))
    finally:
        model.set_normalisation(base)
    return rows


def clip_sources(root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The clip's subject and background: a single person over a busy real photo."""
    fgs = {p.stem: p for p in synth.foreground_paths(root)}
    bgs = synth.background_paths(root)
    fg = synth.load_rgba(fgs.get("person-2") or next(iter(fgs.values())))
    bg = synth.load_bgr(next((p for p in bgs if "car-2" in p.name), bgs[0]))
    return fg, bg


def figure(
    matter: MatteEngine, sample: synth.Sample, path: Path, background_bgr: np.ndarray | None = None
) -> None:
    """input | raw mask | refined mask | composite over another picture, one row, PNG."""
    from jump.lab.matte import composite

    matter.reset()
    r = matter.process_detailed(sample.frame, "bgr")
    h, w = sample.frame.shape[:2]
    if background_bgr is None:
        background_bgr = np.full((h, w, 3), (60, 160, 60), np.uint8)
    comp = composite.over_image(sample.frame, r.alpha, background_bgr)
    tiles = [
        sample.frame,
        cv2.cvtColor(r.raw, cv2.COLOR_GRAY2BGR),
        cv2.cvtColor(r.alpha, cv2.COLOR_GRAY2BGR),
        comp,
    ]
    labels = ["input", "raw model (bilinear)", "Jump refined", "composite"]
    scale = 480 / w
    row = []
    for tile, label in zip(tiles, labels, strict=True):
        t = cv2.resize(tile, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        row.append(_label(t, label))
    grid = np.vstack([np.hstack(row[:2]), np.hstack(row[2:])])
    # third row: the window with the most partly transparent truth (hair) at full size
    ch, cw = max(16, h // 4), max(16, w // 4)
    partial = ((sample.alpha > 0.05) & (sample.alpha < 0.95)).astype(np.float32)
    if partial.any():
        score = cv2.boxFilter(partial, -1, (cw, ch), normalize=False)
        cy, cx = np.unravel_index(int(np.argmax(score)), score.shape)
        x0 = int(np.clip(cx - cw // 2, 0, w - cw))
        y0 = int(np.clip(cy - ch // 2, 0, h - ch))
        crops = []
        tw = grid.shape[1] // 3
        for tile, label in zip(tiles[:3], labels[:3], strict=True):
            c = tile[y0 : y0 + ch, x0 : x0 + cw]
            size = (tw, round(c.shape[0] * tw / max(1, c.shape[1])))
            c = cv2.resize(c, size, interpolation=cv2.INTER_NEAREST)
            crops.append(_label(c, label + ", detail"))
        strip = np.hstack(crops)
        strip = np.pad(strip, ((0, 0), (0, grid.shape[1] - strip.shape[1]), (0, 0)))
        grid = np.vstack([grid, strip])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(os.fspath(path), grid)


def _label(img: np.ndarray, text: str) -> np.ndarray:
    # white on a dark band: an outlined text read as two overlapping labels on bright tiles
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.6
    (tw, th), base = cv2.getTextSize(text, font, scale, 1)
    band = img[: th + base + 12, : tw + 16]
    band[:] = (band.astype(np.float32) * 0.35).astype(np.uint8)
    cv2.putText(img, text, (8, th + 6), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return img


COLUMNS = ("model", "output", "IoU ↑", "MAD×10³ ↓", "edge MAD×10³ ↓", "edge grad err×10³ ↓",
           "flicker×10³ ↓")  # fmt: skip


def row_cells(name: str, kind: str, m: dict[str, float]) -> list[str]:
    """One model's scores as table cells (``jump.lab.report`` prints them)."""

    def f(v: float, scale: float = 1.0, digits: int = 1) -> str:
        return "–" if v != v else f"{v * scale:.{digits}f}"

    return [name, kind, f(m["iou"], 1, 3), f(m["mad"], 1e3), f(m["edge_mad"], 1e3),
            f(m["grad"], 1e3), f(m["flicker"], 1e3, 2)]  # fmt: skip


def fmt_row(name: str, kind: str, m: dict[str, float]) -> str:
    from jump.lab.report import row

    return row(row_cells(name, kind, m))


def _head() -> str:
    from jump.lab.report import head

    return head(COLUMNS)


TABLE_HEAD = _head()
