"""Draw the project's import layers from the code: ``python scripts/import_graph.py``.

Reads every module of ``brud_analysis``, ``verify`` and ``paper_checks`` that exists (the
graph is the one ``tests/test_import_graph.py`` checks, read with ``ast``: every import counts,
a lazy one inside a function too), and draws one box per module: a column per package, a row
per *depth* (the longest chain of project imports below the module; 0 = imports no project
module), so every arrow points down. Arrows between packages are coloured by the importing
package; the command line (the package ``brud_analysis/cli/``, the one layer allowed to wire
the others together) has a colour of its own. Writes ``docs/architecture.png`` with the
graph's fingerprint in its metadata, and the module index (each module's first docstring line)
between the markers in ``docs/architecture.md``; ``tests/test_docs.py`` compares both with the
code, so a module moved, added or rewired without re-running this script fails there.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# the import reading lives in the test, so the picture and the layer rules read one graph
from tests.test_import_graph import ENTRY_POINT, GRAPH, MODULES, PACKAGES  # noqa: E402

OUT = ROOT / "docs" / "architecture.png"
PAGE = ROOT / "docs" / "architecture.md"
START, END = "<!-- module index: scripts/import_graph.py -->", "<!-- end of module index -->"
FINGERPRINT_KEY = "brud-import-graph"
_PALETTE = ("#3a6ea5", "#c0632b", "#4f8a3c", "#8a4f9e", "#9e8a2f", "#2f8a8a")
# one colour per top-level package, in the layer order of the import-graph test (a package added
# there gets the next colour), and one for the command line, the top layer
COLOURS = {p: _PALETTE[i % len(_PALETTE)] for i, p in enumerate((*PACKAGES, ENTRY_POINT))}


def in_cli(module: str) -> bool:
    """Whether a module belongs to the command line (the package ``brud_analysis/cli/``).

    Example:
        >>> in_cli("brud_analysis.cli"), in_cli("brud_analysis.cli.verify"), in_cli("verify")
        (True, True, False)
    """
    return module == ENTRY_POINT or module.startswith(ENTRY_POINT + ".")


def project_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (external packages dropped)."""
    return {m: {t for t in targets if t in MODULES and t != m} for m, targets in GRAPH.items()}


def fingerprint(graph: dict[str, set[str]]) -> str:
    """A short hash of the modules and their import edges: changes when either does.

    Example:
        >>> fingerprint({"a": {"b"}, "b": set()}) == fingerprint({"b": set(), "a": {"b"}})
        True
        >>> fingerprint({"a": {"b"}, "b": set()}) == fingerprint({"a": set(), "b": set()})
        False
    """
    text = "\n".join(f"{m} -> {' '.join(sorted(graph[m]))}" for m in sorted(graph))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def depths(graph: dict[str, set[str]]) -> dict[str, int]:
    """The longest import chain below each module. An import circle (which
    ``tests/test_import_graph.py`` forbids) must not stop the picture that shows it: the import
    closing a circle is left out of the depths, and the drawing marks it as pointing upwards.

    Example:
        >>> depths({"top": {"mid", "low"}, "mid": {"low"}, "low": set()})
        {'top': 2, 'mid': 1, 'low': 0}
        >>> depths({"a": {"b"}, "b": {"a"}})
        {'a': 1, 'b': 0}
    """
    out: dict[str, int] = {}
    on_path: set[str] = set()

    def visit(m: str) -> int:
        if m not in out:
            on_path.add(m)
            out[m] = 1 + max((visit(t) for t in graph[m] if t not in on_path), default=-1)
            on_path.discard(m)
        return out[m]

    for m in graph:
        visit(m)
    return {m: out[m] for m in graph}


def package_of(module: str) -> str:
    """The package (folder) a module lives in; a package's ``__init__`` lives in itself.

    Example:
        >>> package_of("verify.halfcheetah.learner"), package_of("verify")
        ('verify.halfcheetah', 'verify')
    """
    path = MODULES.get(module)
    if path is not None and path.name == "__init__.py":
        return module
    return module.rpartition(".")[0] or module


def package_order(graph: dict[str, set[str]]) -> list[str]:
    """Packages left to right so that imports between packages point left: a package comes
    after every package it mostly imports from.

    Example:
        >>> package_order({"verify.a": {"core.b"}, "verify.d": {"core.b"}, "core.b": set(),
        ...                "core.c": {"verify.a"}})
        ['core', 'verify']
    """
    count: dict[tuple[str, str], int] = defaultdict(int)
    for m, targets in graph.items():
        for t in targets:
            if package_of(m) != package_of(t):
                count[package_of(m), package_of(t)] += 1
    below: dict[str, set[str]] = defaultdict(set)
    for (p, q), n in count.items():
        if n > count.get((q, p), 0):  # both ways (an errors module, say): the main direction
            below[p].add(q)
    level: dict[str, int] = {}

    def visit(p: str, path: frozenset[str]) -> int:
        if p not in level:
            level[p] = 1 + max((visit(q, path | {p}) for q in below[p] if q not in path),
                               default=-1)
        return level[p]

    packages = sorted({package_of(m) for m in graph})
    for p in packages:
        visit(p, frozenset())
    return sorted(packages, key=lambda p: (level[p], _top_index(p), p))


def _colour(module: str) -> str:
    return COLOURS[ENTRY_POINT] if in_cli(module) else COLOURS.get(module.split(".")[0], "0.3")


def _top_index(module: str) -> int:
    top = module.split(".")[0]
    return PACKAGES.index(top) if top in PACKAGES else len(PACKAGES)


def _label(module: str) -> str:
    return "__init__" if package_of(module) == module else module.rpartition(".")[2]


def draw(out: Path = OUT) -> Path:
    """Draw the picture into ``out`` (PNG) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as MplPath

    graph = project_graph()
    depth = depths(graph)
    by_package: dict[str, list[str]] = defaultdict(list)
    for m in graph:
        by_package[package_of(m)].append(m)
    order = package_order(graph)
    box_w, box_h, gap = 1.3, 0.42, 0.12
    pos: dict[str, tuple[float, float]] = {}
    columns: dict[str, tuple[float, float]] = {}
    x = 0.0
    for p in order:
        rows: dict[int, list[str]] = defaultdict(list)
        for m in sorted(by_package[p], key=_label):
            rows[depth[m]].append(m)
        width = max(len(r) for r in rows.values())
        for d, row in rows.items():
            left = x + (width - len(row)) * (box_w + gap) / 2
            for i, m in enumerate(row):
                pos[m] = (left + i * (box_w + gap) + box_w / 2, float(d))
        columns[p] = (x, x + width * (box_w + gap) - gap)
        x += width * (box_w + gap) + 0.6
    top = max(depth.values())
    fig, (arcs, ax) = plt.subplots(
        2, 1, sharex=True, figsize=(max(12.0, 0.95 * x), 0.62 * (top + 1) + 4.0),
        gridspec_kw={"height_ratios": [2.6, 0.62 * (top + 1) + 0.8], "hspace": 0.02})
    centre = {p: (a + b) / 2 for p, (a, b) in columns.items()}
    # between packages: one arc per (importer, imported) pair, from the importer's column
    between: dict[tuple[str, str], int] = defaultdict(int)
    for m, targets in graph.items():
        for t in targets:
            if package_of(m) != package_of(t):
                between[package_of(m), package_of(t)] += 1
    apex = {pq: 0.12 * abs(centre[pq[0]] - centre[pq[1]]) + 0.3 for pq in between}
    for (p, q), n in sorted(between.items()):
        colour = _colour(p)
        # a quadratic Bezier in data coordinates (arc3 bends in pixels, so its apex is not
        # where a label computed in data units would sit); its apex is half the control height
        mid, h = (centre[p] + centre[q]) / 2, apex[p, q]
        curve = MplPath([(centre[p], 0.0), (mid, 2 * h), (centre[q], 0.0)],
                        [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3])
        arcs.add_patch(FancyArrowPatch(path=curve, arrowstyle="-|>,head_width=4,head_length=8",
                                       lw=0.8 + 0.12 * n, color=colour, alpha=0.8))
        arcs.text(mid, h, str(n), ha="center", va="center", fontsize=8, color=colour,
                  weight="bold", bbox=dict(fc="white", ec="none", pad=0.5))
    arcs.set_ylim(-0.2, 1.15 * max(apex.values(), default=1.0) + 0.3)
    arcs.axis("off")
    arcs.set_title(f"Import layers of brud-analysis, read from the code: {len(graph)} modules, "
                   f"{sum(len(t) for t in graph.values())} imports between them", fontsize=11)
    for p, (left, right) in columns.items():
        colour = _colour(p)
        ax.add_patch(FancyBboxPatch((left - 0.1, -0.45), right - left + 0.2, top + 0.9,
                                    boxstyle="round,pad=0.02", fc=colour, alpha=0.07, ec="none"))
        ax.text(centre[p], top + 0.55, p.replace(".", "/") + "/", ha="center", va="bottom",
                fontsize=9, weight="bold", color=colour)
    upward = 0
    for m, targets in graph.items():
        for t in targets:
            up = depth[t] >= depth[m]  # closes an import circle: the layer test fails on it
            upward += up
            if package_of(m) != package_of(t) and not up:
                continue
            (x0, y0), (x1, y1) = pos[m], pos[t]
            ax.annotate("", xy=(x1, y1 - box_h / 2 if up else y1 + box_h / 2),
                        xytext=(x0, y0 + box_h / 2 if up else y0 - box_h / 2),
                        arrowprops=dict(arrowstyle="-|>", lw=1.6 if up else 0.6, shrinkA=0,
                                        shrinkB=0, alpha=0.9 if up else 0.35,
                                        color="red" if up else "0.5", zorder=5 if up else 1))
    for m, (cx, cy) in pos.items():
        colour = _colour(m)
        lines = MODULES[m].read_text().count("\n")
        ax.add_patch(FancyBboxPatch((cx - box_w / 2, cy - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02", fc="white", ec=colour,
                                    lw=1.8 if m == ENTRY_POINT else 0.9, zorder=3))
        ax.text(cx, cy + 0.05, _label(m), ha="center", va="center", fontsize=7, zorder=4)
        ax.text(cx, cy - 0.12, f"{lines} lines", ha="center", va="center", fontsize=5.5,
                color="0.4", zorder=4)
    ax.set_xlim(-0.5, x - 0.3)
    ax.set_ylim(-0.7, top + 1.1)
    ax.set_yticks(range(top + 1))
    ax.set_ylabel("depth: the longest chain of project imports below a module")
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.legend(handles=[
        Line2D([], [], color="0.5", lw=1, label="import within a package (importer above)"),
        *(Line2D([], [], color=c, lw=2, label=f"{k}: its imports from another package, "
                 "summed (arc, above the columns)") for k, c in COLOURS.items()),
        Line2D([], [], color=_colour(ENTRY_POINT), lw=1.8,
               label=f"{ENTRY_POINT}: the command line, the one layer that wires the others"),
        *([Line2D([], [], color="red", lw=1.6, label=f"{upward} import(s) closing an import "
                  "circle (tests/test_import_graph.py fails)")] if upward else []),
    ], loc="upper left", fontsize=7.5, frameon=False, bbox_to_anchor=(0.0, 0.0), ncol=2)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight",
                metadata={FINGERPRINT_KEY: fingerprint(graph)})
    plt.close(fig)
    return out


def _summary(module: str) -> str:
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text())) or ""
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.split()).replace("|", "\\|")


def module_index(graph: dict[str, set[str]] | None = None) -> str:
    """The Markdown module index: per package (in layer order), each module and the first
    paragraph of its docstring.

    Example:
        >>> "| `brud_analysis.game` |" in module_index()
        True
    """
    graph = graph if graph is not None else project_graph()
    out = [START, ""]
    for p in package_order(graph):
        out += [f"**`{p.replace('.', '/')}/`**", "", "| module | what it holds |", "|---|---|"]
        for m in sorted(m for m in graph if package_of(m) == p):
            out.append(f"| `{m}` | {_summary(m)} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


def update_page(page: Path = PAGE) -> Path:
    """Replace the module index between the markers of ``page`` (the rest is hand-written)."""
    text = page.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    page.write_text(head + module_index() + tail)
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"PNG to write (default {OUT})")
    parser.add_argument("--page", type=Path, default=PAGE,
                        help=f"page whose module index is rewritten (default {PAGE})")
    args = parser.parse_args(argv)
    print(draw(args.out))
    print(update_page(args.page))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
