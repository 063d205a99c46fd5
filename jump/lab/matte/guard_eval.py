"""`python -m jump.lab.matte.guard_eval`: RVM at one inner size against two sizes fused.

RVM's quality grows with its inner pass on average but fails on some pictures at one size
and not at its neighbours (issue 18: a dim portrait whose dark jacket half vanishes at
448). This measures every single size and every candidate rule that fuses two sizes, on

- ``stills``: the evaluation stills (``synth.still_set``: every cut-out over real photos,
  normal, dim and dark light; ``../shared`` when present, else ``tests/data``);
- ``portrait``: the dim 1080p portrait (``DIM_PORTRAIT``, its jacket is lost at 448);
- ``portraits``: the shipped portraits (``tests.helpers.matte_data.HANDFUL``, the tests' composites), normal
  light and dimmed;
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
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from jump.lab.matte import metrics, moving_clips, synth
from jump.lab.paths import REPO
from jump.matte.auto import GPU_LADDER
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


def portraits(level: str) -> Iterator[synth.Sample]:
    """The shipped portraits at 720p as the tests composite them, normal light (noise σ 2,
    seed 0) or dimmed."""
    from tests.helpers.matte_data import HANDFUL

    folder = REPO / "tests" / "data" / "matte"
    w, h = 1280, 720
    for fg_name, bg_name, placement in HANDFUL:
        fg = synth.load_rgba(folder / "foregrounds" / f"{fg_name}.png")
        bg = synth.load_bgr(next((folder / "backgrounds").glob(f"{bg_name}.*")))
        colour, alpha = synth.place(fg, w, h, *placement)
        gain, noise = (1.0, 2.0) if level == "normal" else (DIM_GAIN, DIM_NOISE)
        rng = np.random.default_rng(0)
        frame = synth.compose(colour, alpha, synth.cover(bg, w, h), gain, noise, rng)
        yield synth.Sample(f"{fg_name}/{bg_name}/{level}", frame, alpha)


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

    def add(self, group: str, label: str, pred: np.ndarray, truth: np.ndarray, band) -> None:
        """``band``: ``metrics.boundary_band`` of the truth (edge MAD as ``edge_errors``)."""
        r = self.rows[(group, label)]
        r["iou"].append(metrics.iou(pred, truth))
        err = np.abs(pred - truth)
        r["mad"].append(float(err.mean()))
        r["edge"].append(float(err[band].mean()) if band.any() else 0.0)

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
        rows = [(lab, self.summary(group, lab)) for lab in labels if (group, lab) in self.rows]
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


def rule_summary(
    table: Table, sizes: list[int], groups: list[str], only: set[tuple[int, int]] | None = None
) -> None:
    """Per rule, over every pair and the ``groups``: the change against the pair's main
    (larger) size alone — mean ΔIoU, mean ΔMAD, pictures under ``FAIL_IOU`` — and how
    often it is the pair's best rule by IoU."""
    pairs = [p for p in itertools.combinations(sizes, 2) if only is None or p in only]
    stats = {r: {"diou": [], "dmad": [], "dfail": [], "best": 0} for r in RULES}
    for g in groups:
        for a, b in pairs:
            if (g, f"{a}+{b} max") not in table.rows:
                continue
            alone = table.summary(g, f"{b}")
            ious = {}
            for r in RULES:
                m = table.summary(g, f"{a}+{b} {r}")
                stats[r]["diou"].append(m["iou"] - alone["iou"])
                stats[r]["dmad"].append(m["mad"] - alone["mad"])
                stats[r]["dfail"].append(m["fails"] - alone["fails"])
                ious[r] = m["iou"]
            stats[max(ious, key=ious.get)]["best"] += 1
    n = len(stats["max"]["diou"])
    which = "the pairs of Auto's GPU ladder" if only else "every pair"
    print(f"\nrules over {n} (pair, set) cases ({which}), against the larger size alone\n")
    print("| rule | mean ΔIoU | mean ΔMAD×10³ | Δ pictures < 0.9 (sum) | best rule of the pair |")
    print("|---|---|---|---|---|")
    for r, st in stats.items():
        print(
            f"| {r} | {np.mean(st['diou']):+.4f} | {np.mean(st['dmad']) * 1e3:+.2f} "
            f"| {int(np.sum(st['dfail'])):+d} | {st['best']} |"
        )


def engines(sizes: list[int]) -> dict[int, MatteEngine]:
    s = MatteSettings(model="rvm", provider="cpu", low_light="off")
    return {i: MatteEngine(s.with_(rvm_inner=i)) for i in sizes}


class Cache:
    """Every scored picture's alphas per size and its truth, as PNGs under ``root``
    (16-bit truth), so the rules are scored without running RVM again; a rerun skips
    what is there."""

    def __init__(self, root: Path, tag: str = "all") -> None:
        self.root = root
        self.index_path = root / f"index-{tag}.json"  # one per writer: runs may overlap
        self.index: dict[str, str] = {}
        for path in sorted(root.glob("index-*.json")):
            self.index.update(json.loads(path.read_text()))
        self._mine: dict[str, str] = (
            json.loads(self.index_path.read_text()) if self.index_path.exists() else {}
        )

    def has(self, key: str, sizes: list[int]) -> bool:
        return key in self.index and all((self.root / f"{key}_{i}.png").exists() for i in sizes)

    def put(self, key: str, group: str, alphas: dict[int, np.ndarray], truth: np.ndarray) -> None:
        (self.root / key).parent.mkdir(parents=True, exist_ok=True)
        for i, a in alphas.items():
            cv2.imwrite(str(self.root / f"{key}_{i}.png"), a)
        t16 = np.clip(metrics.as_float(truth) * 65535.0 + 0.5, 0, 65535).astype(np.uint16)
        cv2.imwrite(str(self.root / f"{key}_truth.png"), t16)
        self.index[key] = self._mine[key] = group
        self.index_path.parent.mkdir(parents=True, exist_ok=True)
        self.index_path.write_text(json.dumps(self._mine, indent=0))

    def load(self, key: str, sizes: list[int]) -> tuple[dict[int, np.ndarray], np.ndarray]:
        alphas = {
            i: cv2.imread(str(self.root / f"{key}_{i}.png"), cv2.IMREAD_GRAYSCALE) for i in sizes
        }
        t16 = cv2.imread(str(self.root / f"{key}_truth.png"), cv2.IMREAD_UNCHANGED)
        return alphas, t16.astype(np.float32) / 65535.0


def collect_stills(cache: Cache, group: str, samples, sizes: list[int]) -> None:
    eng = None
    for n, s in enumerate(samples):
        key = f"{group}/{s.name}".replace(" ", "_")
        if cache.has(key, sizes):
            continue
        eng = eng or engines(sizes)
        alphas = {}
        for i, e in eng.items():
            e.reset()  # a fresh state per still: RVM's warm-up passes
            alphas[i] = e.process_detailed(s.frame, "bgr", want_raw=False).alpha
        level = s.name.rsplit("/", 1)[-1]
        cache.put(key, f"{group}, {level}", alphas, s.alpha)
        print(f"{group}: {n + 1} {s.name}", file=sys.stderr, flush=True)


def collect_clip(
    cache: Cache, group: str, name: str, frames, sizes: list[int], every: int = 3
) -> None:
    """Every frame runs (the recurrent states carry); every ``every``-th is kept."""
    if cache.has(f"{group}/{name}/{0:03d}".replace(" ", "_"), sizes):
        return
    eng = engines(sizes)
    for t, (frame, truth) in enumerate(frames):
        alphas = {i: e.process_detailed(frame, "bgr", want_raw=False).alpha for i, e in eng.items()}
        if t % every == 0:
            cache.put(f"{group}/{name}/{t:03d}".replace(" ", "_"), group, alphas, truth)
    print(f"{group}: {name} done", file=sys.stderr, flush=True)


def score(cache: Cache, sizes: list[int], table: Table) -> list[str]:
    """Every candidate on every cached picture; returns the candidates' labels."""
    cands = candidates(sizes)
    for key, group in cache.index.items():
        have = [i for i in sizes if (cache.root / f"{key}_{i}.png").exists()]
        alphas, truth = cache.load(key, have)
        fl = {i: metrics.as_float(a) for i, a in alphas.items()}
        band = metrics.boundary_band(truth, max(2, round(0.01 * truth.shape[0])))
        for label, pair, rule in cands:
            if not set(pair) <= set(have):
                continue
            # the larger inner size is the main one, the smaller the guard
            pred = fl[pair[0]] if rule == "single" else RULES[rule](fl[pair[1]], fl[pair[0]])
            table.add(group, label, pred, truth, band)
    return [c[0] for c in cands]


def graph_clip(name: str, dim: bool, inner: int, second: int) -> dict[str, float]:
    """One moving clip through the device graph (CPU provider) at ``inner``, guarded by
    ``second`` (0: alone): the graph fuses before its smoothing, as it runs on a GPU."""
    from jump.matte.device_engine import DeviceMatteEngine

    s = MatteSettings(model="rvm", provider="cpu", low_light="off", rvm_inner=inner)
    engine = DeviceMatteEngine(s.with_(rvm_guard=second))
    preds, truth = [], []
    for frame, alpha in clip_frames(name, dim):
        preds.append(engine.process_detailed(frame, "bgr", want_raw=False).alpha.copy())
        truth.append(alpha)
    return moving_clips.score(preds, np.stack(truth), [moving_clips.CUT])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="320,384,448,576")
    p.add_argument("--sets", default="portrait,portraits,stills,clips")
    p.add_argument("--quick", action="store_true", help="the quick still set (6 subjects)")
    p.add_argument("--top", type=int, default=8, help="fused candidates shown per table")
    p.add_argument("--cache", type=Path, default=REPO / "out" / "guard" / "cache")
    p.add_argument("--score-only", action="store_true", help="score what the cache holds")
    p.add_argument("--json", type=Path, help="write every summary here")
    p.add_argument(
        "--graph-clip",
        metavar="NAME",
        help="only: this moving clip through the device graph, --graph-inner alone and guarded",
    )
    p.add_argument("--graph-inner", default="576,384", help="main,guard for --graph-clip")
    p.add_argument("--dim", action="store_true", help="--graph-clip darkened")
    a = p.parse_args(argv)
    if a.graph_clip:
        inner, second = (int(x) for x in a.graph_inner.split(","))
        print("| clip | light | inner | IoU ↑ | MAD×10³ ↓ | edge MAD×10³ ↓ | dtSSD×10³ ↓ |")
        print("|---|---|---|---|---|---|---|")
        for g in (0, second):
            m = graph_clip(a.graph_clip, a.dim, inner, g)
            label = f"{inner} + {g} guard" if g else f"{inner}"
            print(
                f"| {a.graph_clip} | {'dim' if a.dim else 'normal'} | {label} | {m['iou']:.4f} "
                f"| {m['mad'] * 1e3:.2f} | {m['edge_mad'] * 1e3:.1f} | {m['dtssd'] * 1e3:.2f} |",
                flush=True,
            )
        return 0
    sizes = [int(s) for s in a.sizes.split(",")]
    cache = Cache(a.cache, a.sets.replace(",", "-"))
    sets = a.sets.split(",")
    if not a.score_only:
        if "portrait" in sets:
            collect_stills(cache, "dim portrait 1080p", [dim_portrait()], sizes)
        if "portraits" in sets:
            for level in ("normal", "dim"):
                collect_stills(cache, "shipped portraits 720p", portraits(level), sizes)
        if "stills" in sets:
            shared = REPO.parent / "shared"
            root = shared if (shared / "data" / "matte").is_dir() else REPO / "tests"
            samples = synth.still_set((1280, 720), quick=a.quick, root=root)
            collect_stills(cache, "stills 720p", samples, sizes)
        if "clips" in sets:
            for dim in (False, True):
                for name in moving_clips.CLIPS:
                    group = f"moving clips, {'dim' if dim else 'normal'}"
                    collect_clip(cache, group, name, clip_frames(name, dim), sizes)
    table = Table()
    labels = score(cache, sizes, table)
    for group in table.groups():
        table.print(group, labels, a.top)
    rule_summary(table, sizes, table.groups())
    guarded = {(r.guard, r.inner) for r in GPU_LADDER if r.guard}
    rule_summary(table, sizes, table.groups(), guarded)
    if a.json:
        out = {
            g: {lab: table.summary(g, lab) for lab in labels if (g, lab) in table.rows}
            for g in table.groups()
        }
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
