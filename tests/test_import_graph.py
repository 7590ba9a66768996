"""The import graph of the project: no circles, and no import from a lower layer to a higher one.

Layers, lowest first: ``brud_analysis`` (symbolic core, no JAX), ``verify`` (JAX training),
``paper_checks``, and on top the command line, the package ``brud_analysis/cli/``: it is the only
layer that wires the others together (it may import any of them), and nothing below it imports
it. Its symbolic commands (``brud analyse``, ``condition``, ``pjap-field``, ...) stay free of JAX:
the verify and HalfCheetah command modules import ``verify`` inside their handlers. Every import
counts, also one inside a function (a lazy import is still a dependency) and
``importlib.import_module("literal")``.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("brud_analysis", "verify", "paper_checks")
ENTRY_POINT = "brud_analysis.cli"
#: The command line's modules that serve the symbolic commands: like the core, no JAX, no verify.
SYMBOLIC_CLI = ("brud_analysis.cli.options", "brud_analysis.cli.symbolic",
                "brud_analysis.cli.critic", "brud_analysis.cli.parametric")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The project module an import name refers to (a module, or the package it names)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """Project modules and top-level external packages that ``module`` imports, anywhere."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the module pkg.sub when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        for name in names:
            found.add(_resolve(name) or name.split(".")[0])
    found.discard(module)
    return found


@functools.cache
def _graph() -> dict[str, set[str]]:
    """Every project module's imports (parsed on first use, not when pytest collects this file:
    each xdist worker imports every test module)."""
    return {m: imports_of(m) for m in MODULES}


def __getattr__(name: str) -> dict[str, set[str]]:  # GRAPH, for scripts/import_graph.py
    if name == "GRAPH":
        return _graph()
    raise AttributeError(name)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    # Tarjan's strongly connected components; a component of more than one module is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_the_graph_is_read() -> None:
    # the analysis sees real edges (a check that cannot fail is worth nothing)
    assert "brud_analysis.game" in _graph()["brud_analysis.catalogue"]
    assert {"brud_analysis.cli.verify", "brud_analysis.cli.paper"} <= _graph()[ENTRY_POINT]
    assert ("brud_analysis.cli.halfcheetah_experiment"
            in _graph()["brud_analysis.cli.halfcheetah"])
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def _in_cli(module: str) -> bool:
    return module == ENTRY_POINT or module.startswith(ENTRY_POINT + ".")


def _upward_imports(graph: dict[str, set[str]]) -> list[str]:
    upward = []
    for module, targets in graph.items():
        for target in targets:
            if not _in_cli(module) and _in_cli(target):
                upward.append(f"{module} -> {target}")  # nothing below imports the command line
            if module.startswith("brud_analysis") and (
                    not _in_cli(module) or module in SYMBOLIC_CLI) and (
                    target.startswith(("verify", "paper_checks")) or target in ("jax", "jaxlib")):
                upward.append(f"{module} -> {target}")
            if module.startswith("verify") and target.startswith("paper_checks"):
                upward.append(f"{module} -> {target}")
    return upward


def test_layers_import_only_downwards() -> None:
    assert set(SYMBOLIC_CLI) <= set(_graph())
    assert _upward_imports(_graph()) == []
    # the rule sees each kind of upward edge (a check that cannot fail is worth nothing)
    for module, target in [("brud_analysis.game", "brud_analysis.cli.options"),
                           ("verify.harness", "brud_analysis.cli"),
                           ("brud_analysis.cli.symbolic", "jax"),
                           ("brud_analysis.cli.options", "verify.harness"),
                           ("brud_analysis.fields", "verify"),
                           ("verify.plots", "paper_checks.claims")]:
        assert _upward_imports({module: {target}}) == [f"{module} -> {target}"]
    assert _upward_imports({"brud_analysis.cli.verify": {"verify.harness", "jax"},
                            "brud_analysis.cli.paper": {"paper_checks.claims"}}) == []


def test_help_imports_no_heavy_library() -> None:
    # `brud --help` builds the whole parser; the libraries load only in a subcommand's handler
    code = ("import sys; from brud_analysis.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('sympy', 'numpy', 'jax', 'mujoco', 'matplotlib', 'scipy') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"
