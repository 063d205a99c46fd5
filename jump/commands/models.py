"""`python -m jump models [list|fetch]`: which models are here, and fetching optional ones.

The research actions (optimize, compare, bench) live in jump/lab/model_commands.py and are
added to the same group.
"""

from __future__ import annotations

import argparse

from jump import catalogue


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models", help="list and fetch the models (and optimise, compare, benchmark them)"
    )
    p.add_argument("--models", metavar="DIR", help="extra model folder searched first")
    msub = p.add_subparsers(dest="action", metavar="ACTION")
    p.set_defaults(func=cmd_list)
    lp = msub.add_parser("list", help="each model, where it was found, checksum state")
    lp.set_defaults(func=cmd_list)
    fp = msub.add_parser("fetch", help="download missing models (checksums verified)")
    fp.add_argument("ids", nargs="*", help="model ids (default: all missing)")
    fp.add_argument("--dest", default=str(catalogue.PROJECT_MODELS), help="target folder")
    fp.add_argument("--base-url", help="mirror serving the same layout as the manifest")
    fp.set_defaults(func=cmd_fetch)

    from jump.lab import model_commands

    model_commands.register(msub)


def is_variant(entry: catalogue.ModelEntry) -> bool:
    """A precision variant built here from its base model (models/variants.json)."""
    return bool(entry.spec.get("variant_of"))


def cmd_list(args: argparse.Namespace) -> int:
    rows = catalogue.status_rows(catalogue.load_manifest().values(), args.models)
    print(f"{'id':<16} {'kind':<9} {'source':<8} {'state':<9} {'licence':<12} path")
    bad = 0
    for entry, path, ok in rows:
        shipped = bool(entry.spec.get("shipped")) and not is_variant(entry)
        source = "shipped" if shipped else ("built" if is_variant(entry) else "fetch")
        if is_variant(entry):
            # Built locally, so no fixed checksum: present or not is the state.
            state = "built" if path else "optional"
        elif ok:
            state = "ok"
        else:
            # A fetchable model nobody's defaults use is optional; a shipped one must be here.
            state = "BAD-SUM" if path else ("missing" if shipped else "optional")
            bad += bool(path) or shipped
        where = path or entry.file
        print(
            f"{entry.id:<16} {entry.kind:<9} {source:<8} {state:<9} {entry.licence[:12]:<12} {where}"
        )
    return 1 if bad else 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    # variants are built here from their base: model conversion, the lab's
    from jump.lab.optimize import build_variant

    manifest = catalogue.load_manifest()
    unknown = [i for i in args.ids if i not in manifest]
    if unknown:
        print(f"unknown model id(s): {', '.join(unknown)}; known: {', '.join(manifest)}")
        return 2
    dest = Path(args.dest)
    failed = 0
    wanted = [manifest[i] for i in args.ids] or [e for e in manifest.values() if not is_variant(e)]
    for entry in wanted:
        if is_variant(entry):
            # Variants are not downloaded: they are built here from their base model.
            base, precision = entry.spec["variant_of"], entry.spec["precision"]
            print(f"{entry.id}: building from {base} ({precision})")
            try:
                print(f"{entry.id}: built -> {build_variant(base, precision, dest, args.models)}")
            except (OSError, catalogue.ModelError) as exc:
                failed += 1
                print(f"{entry.id}: FAILED: {exc}")
            continue
        existing = dest / entry.file
        if existing.is_file() and catalogue.verify(entry, existing):
            print(f"{entry.id}: already present")
            continue
        if not entry.url:
            failed += 1
            print(
                f"{entry.id}: ships with Jump; restore it with `git checkout -- models/{entry.file}`"
            )
            continue
        try:
            path = catalogue.fetch(entry, dest, base_url=args.base_url)
            print(f"{entry.id}: fetched and verified -> {path}")
        except (OSError, catalogue.ModelError) as exc:
            failed += 1
            print(f"{entry.id}: FAILED: {exc}")
    return 1 if failed else 0
