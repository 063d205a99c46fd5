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


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(modules: list[Path]) -> dict[str, set[str]]:
    """module -> the runtime modules it imports (at the top or inside a function).

    ``from jump.matte import refine`` imports ``jump.matte.refine``, not the package."""
    names = {module_name(f): f for f in modules}

    def resolve(imp: str) -> str:  # "jump.obs.registry.Source" -> "jump.obs.registry"
        while imp and imp not in names:
            imp = imp.rpartition(".")[0]
        return imp

    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(resolve(a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets.update(resolve(f"{node.module}.{a.name}") for a in node.names)
        graph[name] = targets - {"", name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each once (depth-first search for back edges)."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_no_import_cycle_in_jump_obs_or_between_runtime_packages() -> None:
    graph = import_graph(runtime_modules())
    assert "jump.obs.registry" in graph["jump.filters.matte"]  # the walk sees imports
    obs = {k: {t for t in v if t.startswith("jump.obs")} for k, v in graph.items()}
    assert [c for c in cycles(obs) if c[0].startswith("jump.obs")] == []
    # the layers: jump.obs below the filters; the engines never see OBS or the filters
    layer_of = {"jump.obs": 0, "jump.matte": 1, "jump.denoise": 1, "jump.filters": 2}
    upward = [
        (a, b)
        for a, targets in graph.items()
        for b in targets
        for pa, la in layer_of.items()
        for pb, lb in layer_of.items()
        if a.startswith(pa) and b.startswith(pb) and lb > la
    ]
    engines_to_obs = [
        (a, b)
        for a, targets in graph.items()
        for b in targets
        if a.startswith(("jump.matte", "jump.denoise")) and b.startswith("jump.obs")
    ]
    assert upward == [] and engines_to_obs == []
    assert cycles(graph) == []
