"""One formatter for the lab's reports: evaluations return rows (``Table``), this prints them.

Markdown, because the tables go straight into docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass
class Table:
    columns: Sequence[str]
    rows: list[Sequence[object]] = field(default_factory=list)
    caption: str = ""  # a line above the table
    right: Sequence[bool] = ()  # per column: right-aligned (numbers); default none


def head(columns: Sequence[str], right: Sequence[bool] = ()) -> str:
    """The header and separator lines of a table."""
    align = [("---:" if i < len(right) and right[i] else "---") for i in range(len(columns))]
    return f"| {' | '.join(columns)} |\n|{'|'.join(align)}|"


def row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render(tables: Iterable[Table | str]) -> str:
    """Tables (and free text lines) separated by blank lines, as markdown."""
    lines: list[str] = []
    for t in tables:
        if lines:
            lines.append("")
        if isinstance(t, str):
            lines.append(t)
            continue
        if t.caption:
            lines += [t.caption, ""]
        lines += head(t.columns, t.right).split("\n")
        lines += [row(r) for r in t.rows]
    return "\n".join(lines) + "\n"
