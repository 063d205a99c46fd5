"""`python -m jump models optimize | compare | bench`: model conversion and speed (lab).

`models list` and `models fetch` are user commands: jump/commands/models.py."""

from __future__ import annotations

import argparse
import json

from jump import catalogue
from jump.commands.errors import number
from jump.sessions import PROVIDER_CHOICES


def register(msub: argparse._SubParsersAction) -> None:
    """The research actions of ``python -m jump models`` (jump/commands/models.py owns the group)."""
    op = msub.add_parser("optimize", help="build FP16 / INT8 variants of a model")
    op.add_argument("model", nargs="?", help="base model id, e.g. mediapipe")
    op.add_argument("--fp16", action="store_true", help="float16 weights and maths (GPUs)")
    op.add_argument("--int8", action="store_true", help="static int8, calibrated on composites")
    op.add_argument("--out", default=str(catalogue.PROJECT_MODELS), help="model folder to write to")
    op.add_argument(
        "--calibration", type=number(1, 10000, int), default=24, help="calibration frames (int8)"
    )
    op.add_argument(
        "--refresh", action="store_true", help="re-derive models/variants.json from the bases"
    )
    op.set_defaults(func=cmd_optimize)

    cp = msub.add_parser("compare", help="quality of variants vs FP32 on held-out composites")
    cp.add_argument("model", help="base model id")
    cp.add_argument("--variants", default="fp16,int8", help="comma list of precisions")
    cp.add_argument("--provider", default="cpu", choices=PROVIDER_CHOICES)
    cp.add_argument("--limit", type=number(1, 100000, int), help="first N composites only")
    cp.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    cp.set_defaults(func=cmd_compare)

    bp = msub.add_parser("bench", help="masks/s per model, variant, provider and input size")
    bp.add_argument("model", nargs="+", help="base model ids")
    bp.add_argument("--variants", default="fp32,fp16,int8", help="comma list of precisions")
    bp.add_argument("--provider", default="auto", choices=PROVIDER_CHOICES)
    bp.add_argument("--sizes", default="720p,1080p,4k", help="comma list of 720p,1080p,4k")
    bp.add_argument("--frames", type=number(1, 100000, int), default=300)
    bp.add_argument(
        "--threads", type=number(1, 64, int), default=2, help="intra-op threads (CPU provider)"
    )
    bp.add_argument("--cuda-graph", action="store_true", help="replay the model as a CUDA graph")
    bp.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    bp.set_defaults(func=cmd_bench)


def cmd_optimize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jump.lab import optimize

    if args.refresh:
        print(f"refreshed {', '.join(optimize.refresh_variants())} in {optimize.VARIANTS_FILE}")
        return 0
    precisions = [p for p in optimize.PRECISIONS if getattr(args, p)]
    if not precisions or not args.model:
        print("nothing to do: give a model and --fp16 and/or --int8 (or --refresh)")
        return 2
    try:
        entry = catalogue.get_entry(args.model)
        built = []
        for precision in precisions:
            path = optimize.build_variant(
                args.model, precision, Path(args.out), args.models, args.calibration
            )
            built.append(optimize.variant_entry(entry, precision))
            print(f"{optimize.variant_id(args.model, precision)}: {path}")
    except catalogue.ModelError as exc:
        print(f"error: {exc}")
        return 1
    optimize.record_variants(built)
    print(f"recorded in {optimize.VARIANTS_FILE}")
    return 0


def _variant_path(model_id: str, precision: str, user_dir: str | None) -> str | None:
    """Path of a built variant (None for fp32, the base model itself)."""
    from jump.lab.optimize import variant_file

    if precision == "fp32":
        return None
    entry = catalogue.get_entry(model_id)
    for folder in catalogue.search_dirs(user_dir):
        candidate = folder / variant_file(entry, precision)
        if candidate.is_file():
            return str(candidate)
    raise catalogue.ModelError(
        f"{model_id}-{precision} is not built: run "
        f"`python -m jump models optimize {model_id} --{precision}`"
    )


def cmd_compare(args: argparse.Namespace) -> int:
    from jump.lab import optimize

    rows = []
    for precision in args.variants.split(","):
        path = _variant_path(args.model, precision, args.models)
        if path is None:
            continue
        result = optimize.compare(args.model, path, args.provider, args.limit)
        rows.append(result.row())
        print(json.dumps(rows[-1]))
    if args.json:
        _append_json(args.json, rows)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from jump.lab import model_bench

    rows = []
    sizes = args.sizes.split(",")
    for model_id in args.model:
        for precision in args.variants.split(","):
            try:
                path = _variant_path(model_id, precision, args.models)
            except catalogue.ModelError as exc:
                print(f"skipped: {exc}")
                continue
            rows += model_bench.bench_model(
                model_id, path, args.provider, sizes, args.frames, args.threads, args.cuda_graph
            )
    print(model_bench.table(rows))
    if args.json:
        _append_json(args.json, [r.row() for r in rows])
    return 0


def _append_json(path: str, rows: list[dict]) -> None:
    from pathlib import Path

    target = Path(path)
    old = json.loads(target.read_text()) if target.is_file() else []
    target.write_text(json.dumps(old + rows, indent=1) + "\n")
