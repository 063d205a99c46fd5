"""The runtime OBS loads stands apart from the lab: checked on the source, not by convention."""

from __future__ import annotations

import ast
from pathlib import Path

from jump.lab.paths import REPO

JUMP = REPO / "jump"
ENTRY = {JUMP / "cli.py", JUMP / "__main__.py"}  # the CLI may import the lab
MAX_LINES = 400
# User commands that use a research tool, and why (everything else in jump/commands is apart)
COMMANDS_USING_THE_LAB = {
    JUMP / "commands" / "demo.py",  # scores its results with the lab's mixtures and metrics
    JUMP / "commands" / "models.py",  # `models fetch` of a variant builds it (conversion);
    # optimize / compare / bench are the lab's actions in the same group
    JUMP / "commands" / "matte.py",  # `matte --live` plays through the worker and scores
}


def runtime_modules() -> list[Path]:
    files = [REPO / "jump_obs.py", *JUMP.rglob("*.py")]
    return [f for f in files if JUMP / "lab" not in f.parents and f not in ENTRY]


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_runtime_never_imports_the_lab_or_tests() -> None:
    modules = [f for f in runtime_modules() if f not in COMMANDS_USING_THE_LAB]
    assert len(modules) > 30  # the walk found the runtime
    offenders = {
        str(f.relative_to(REPO)): sorted(
            n for n in imported(f) if n.split(".")[0] == "tests" or n.startswith("jump.lab")
        )
        for f in modules
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_runtime_module_is_over_400_lines() -> None:
    sizes = {str(f.relative_to(REPO)): len(f.read_text().splitlines()) for f in runtime_modules()}
    assert {k: n for k, n in sizes.items() if n > MAX_LINES} == {}
