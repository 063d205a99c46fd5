"""CLI subcommands of this engine (placeholder until the engine lands)."""

from __future__ import annotations

import argparse


def register(
    sub: argparse._SubParsersAction,
    eval_sub: argparse._SubParsersAction,
    bench_sub: argparse._SubParsersAction,
) -> None:
    return None
