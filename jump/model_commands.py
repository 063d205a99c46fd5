"""`python -m jump models [list|fetch]`."""

from __future__ import annotations

import argparse

from jump import models


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, verify and fetch the ONNX models")
    p.add_argument("--models", metavar="DIR", help="extra model folder searched first")
    msub = p.add_subparsers(dest="action", metavar="ACTION")
    p.set_defaults(func=cmd_list)
    lp = msub.add_parser("list", help="each model, where it was found, checksum state")
    lp.set_defaults(func=cmd_list)
    fp = msub.add_parser("fetch", help="download missing models (checksums verified)")
    fp.add_argument("ids", nargs="*", help="model ids (default: all missing)")
    fp.add_argument("--dest", default=str(models.PROJECT_MODELS), help="target folder")
    fp.add_argument("--base-url", help="mirror serving the same layout as the manifest")
    fp.set_defaults(func=cmd_fetch)


def cmd_list(args: argparse.Namespace) -> int:
    rows = models.status_rows(models.load_manifest().values(), args.models)
    print(f"{'id':<14} {'kind':<9} {'state':<9} {'licence':<12} path")
    for entry, path, ok in rows:
        state = "ok" if ok else ("BAD-SUM" if path else "missing")
        where = path or entry.file
        print(f"{entry.id:<14} {entry.kind:<9} {state:<9} {entry.licence[:12]:<12} {where}")
    return 0 if all(ok for _, _, ok in rows) else 1


def cmd_fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    manifest = models.load_manifest()
    unknown = [i for i in args.ids if i not in manifest]
    if unknown:
        print(f"unknown model id(s): {', '.join(unknown)}; known: {', '.join(manifest)}")
        return 2
    dest = Path(args.dest)
    failed = 0
    for entry in (manifest[i] for i in (args.ids or manifest)):
        existing = dest / entry.file
        if existing.is_file() and models.verify(entry, existing):
            print(f"{entry.id}: already present")
            continue
        try:
            path = models.fetch(entry, dest, base_url=args.base_url)
            print(f"{entry.id}: fetched and verified -> {path}")
        except (OSError, models.ModelError) as exc:
            failed += 1
            print(f"{entry.id}: FAILED: {exc}")
    return 1 if failed else 0
