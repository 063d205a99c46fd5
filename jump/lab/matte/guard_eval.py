"""`python -m jump.lab.matte.guard_eval`: RVM at one inner size against two sizes fused.

RVM's quality grows with its inner pass on average but fails on some pictures at one size
and not at its neighbours (issue 18: a dim portrait whose dark jacket half vanishes at
448). This measures every single size and every candidate rule that fuses two sizes, on

- ``stills``: the evaluation stills (``synth.still_set``: every cut-out over real photos,
  normal, dim and dark light; ``../shared`` when present, else ``tests/data``);
- ``portrait``: the dim 1080p portrait (``DIM_PORTRAIT``, its jacket is lost at 448);
- ``clips``: the moving clips (``moving_clips.frames``, exact truth) in normal light and
  darkened the way ``synth`` darkens a still (gain 0.45 and sensor noise).

Each size runs in its own numpy engine (``MatteEngine``, CPU provider; the device graph
gives the same masks, docs/benchmarks.md), its own recurrent state; the rules fuse the
engines' alphas per frame. Prints one markdown table per set: mean IoU, MAD, edge MAD,
the worst picture's IoU and how many pictures fall under ``FAIL_IOU``.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from jump.lab.matte import metrics, moving_clips, synth
from jump.lab.paths import REPO
from jump.matte.engine import MatteEngine
from jump.matte.guard import RULES
from jump.matte.settings import MatteSettings

FAIL_IOU = 0.9
DIM_GAIN, DIM_NOISE = synth.BRIGHTNESS["dim"], 3.0
# (cut-out, background, placement index, size): person-2 (dark jacket, from behind) beside a tiger
DIM_PORTRAIT = ("person-2", "animal-1", 1, (1920, 1080))


def dim_portrait(root: Path | None = None) -> synth.Sample:
    """The dim 1080p portrait (tests/data is enough): gain 0.45 and noise σ 3, seed 0."""
    fg_name, bg_name, placement, (w, h) = DIM_PORTRAIT
    folder = (root or REPO / "tests" / "data") / "matte"
    fg = synth.load_rgba(folder / "foregrounds" / f"{fg_name}.png")
    bg = synth.cover(synth.load_bgr(next((folder / "backgrounds").glob(f"{bg_name}.*"))), w, h)
    colour, alpha = synth.place(fg, w, h, *synth.PLACEMENTS[placement])
    frame = synth.compose(colour, alpha, bg, DIM_GAIN, DIM_NOISE, np.random.default_rng(0))
    return synth.Sample(f"{fg_name}/{bg_name}/p{placement}/dim-1080p", frame, alpha)


def darken(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A frame as a dim room gives it: ``synth.compose``'s gain and noise on the picture."""
    f = frame.astype(np.float32) * DIM_GAIN + rng.normal(0.0, DIM_NOISE, frame.shape)
    return np.clip(f + 0.5, 0, 255).astype(np.uint8)


def clip_frames(name: str, dim: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(17)
    for frame, alpha in moving_clips.frames(name):
        yield (darken(frame, rng) if dim else frame), alpha


def candidates(sizes: list[int]) -> list[tuple[str, tuple[int, ...], str]]:
    """(label, sizes, rule): every size alone, every pair under every rule."""
    out = [(f"{s}", (s,), "single") for s in sizes]
    for a, b in itertools.combinations(sizes, 2):
        out += [(f"{a}+{b} {rule}", (a, b), rule) for rule in RULES]
    return out


class Table:
    """Per (set, candidate): the per-picture scores."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def add(self, group: str, label: str, pred: np.ndarray, truth: np.ndarray) -> None:
        r = self.rows[(group, label)]
        r["iou"].append(metrics.iou(pred, truth))
        r["mad"].append(metrics.mad(pred, truth))
        r["edge"].append(metrics.edge_errors(pred, truth)[0])

    def summary(self, group: str, label: str) -> dict[str, float]:
        r = self.rows[(group, label)]
        iou = np.asarray(r["iou"])
        return {
            "n": len(iou),
            "iou": float(iou.mean()),
            "mad": float(np.mean(r["mad"])),
            "edge": float(np.mean(r["edge"])),
            "worst": float(iou.min()),
            "fails": int(np.count_nonzero(iou < FAIL_IOU)),
        }

    def groups(self) -> list[str]:
        return list(dict.fromkeys(g for g, _ in self.rows))

    def print(self, group: str, labels: list[str], top: int = 0) -> None:
        rows = [(label, self.summary(group, label)) for label in labels]
        if top:  # singles and the best ``top`` fused candidates by mean IoU
            single = [r for r in rows if "+" not in r[0]]
            fused = sorted((r for r in rows if "+" in r[0]), key=lambda r: -r[1]["iou"])
            rows = single + fused[:top]
        n = rows[0][1]["n"]
        print(f"\n{group} ({n} pictures)\n")
        print("| inner | IoU ↑ | MAD×10³ ↓ | edge MAD×10³ ↓ | worst IoU ↑ | IoU < 0.9 |")
        print("|---|---|---|---|---|---|")
        for label, m in rows:
            print(
                f"| {label} | {m['iou']:.4f} | {m['mad'] * 1e3:.2f} | {m['edge'] * 1e3:.1f} "
                f"| {m['worst']:.3f} | {m['fails']} |"
            )


def engines(sizes: list[int]) -> dict[int, MatteEngine]:
    s = MatteSettings(model="rvm", provider="cpu", low_light="off")
    return {i: MatteEngine(s.with_(rvm_inner=i)) for i in sizes}


def score_all(
    table: Table,
    group: str,
    cands: list[tuple[str, tuple[int, ...], str]],
    alphas: dict[int, np.ndarray],
    truth: np.ndarray,
    fuse: Callable[[str, np.ndarray, np.ndarray], np.ndarray],
) -> None:
    for label, sizes, rule in cands:
        pred = alphas[sizes[0]] if rule == "single" else fuse(rule, *(alphas[s] for s in sizes))
        table.add(group, label, pred, truth)


def run_stills(table, group, samples, eng, cands, fuse) -> None:
    for s in samples:
        alphas = {}
        for i, e in eng.items():
            e.reset()  # a fresh state per still: RVM's warm-up passes
            alphas[i] = e.process_detailed(s.frame, "bgr", want_raw=False).alpha
        level = s.name.rsplit("/", 1)[-1]
        score_all(table, f"{group}, {level}", cands, alphas, s.alpha, fuse)


def run_clip(table, group, frames, eng, cands, fuse, every: int = 3) -> None:
    for e in eng.values():
        e.reset()
    for t, (frame, truth) in enumerate(frames):
        alphas = {i: e.process_detailed(frame, "bgr", want_raw=False).alpha for i, e in eng.items()}
        if t % every == 0:
            score_all(table, group, cands, alphas, truth, fuse)


def _fuse_uint8(rule: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    fa, fb = metrics.as_float(a), metrics.as_float(b)
    return RULES[rule](fa, fb)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="320,384,448,576")
    p.add_argument("--sets", default="portrait,stills,clips")
    p.add_argument("--quick", action="store_true", help="the quick still set (6 subjects)")
    p.add_argument("--top", type=int, default=8, help="fused candidates shown per table")
    p.add_argument("--json", type=Path, help="write every summary here")
    a = p.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",")]
    cands = candidates(sizes)
    labels = [c[0] for c in cands]
    eng = engines(sizes)
    table = Table()
    sets = a.sets.split(",")
    if "portrait" in sets:
        run_stills(table, "dim portrait 1080p", [dim_portrait()], eng, cands, _fuse_uint8)
    if "stills" in sets:
        shared = REPO.parent / "shared"
        root = shared if (shared / "data" / "matte").is_dir() else REPO / "tests"
        samples = synth.still_set((1280, 720), quick=a.quick, root=root)
        run_stills(table, "stills 720p", samples, eng, cands, _fuse_uint8)
    if "clips" in sets:
        for dim in (False, True):
            for name in moving_clips.CLIPS:
                group = f"moving clips, {'dim' if dim else 'normal'}"
                run_clip(table, group, clip_frames(name, dim), eng, cands, _fuse_uint8)
    for group in table.groups():
        table.print(group, labels, a.top)
    if a.json:
        out = {g: {lab: table.summary(g, lab) for lab in labels} for g in table.groups()}
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
