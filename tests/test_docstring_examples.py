"""Every docstring example in the three packages (brud_analysis, verify, paper_checks) is a
passing doctest: one test per module that has an example, found by reading the sources, so a
new module's examples are run without anyone listing it here. (The scripts' examples are run in
tests/test_docs.py and tests/test_gpu_route.py.)"""

from __future__ import annotations

import doctest
import importlib
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("brud_analysis", "verify", "paper_checks")

# Modules whose examples use JAX, train or draw (more than ~0.75 s of CPU: measured 2026-12-07,
# one process): in the slow tier. Everything under verify/ imports JAX, so all of it is slow.
SLOW_MODULES = frozenset({
    "brud_analysis.conditions", "brud_analysis.phase_diagrams", "brud_analysis.pjap",
    "brud_analysis.strategies", "brud_analysis.cli.verify", "brud_analysis.cli.verify_critic",
    "brud_analysis.cli.parametric", "brud_analysis.figure_files",
    "brud_analysis.parametric.stationary", "brud_analysis.critic_pjap",
})


def _modules_with_examples() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ">>>" in path.read_text(encoding="utf-8"):
                parts = path.relative_to(ROOT).with_suffix("").parts
                names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def _param(module: str) -> object:
    slow = module in SLOW_MODULES or not module.startswith("brud_analysis")
    return pytest.param(module, marks=pytest.mark.slow) if slow else module


def test_the_modules_are_found():
    # The search itself can fail (a moved package, a changed layout): then no test would run.
    assert {"brud_analysis.game", "verify.harness", "paper_checks.claims"} <= set(MODULES)


@pytest.mark.parametrize("module", [_param(m) for m in MODULES])
def test_docstring_examples_pass(module):
    mod = importlib.import_module(module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Hypothesis warns that .example() is for exploring
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if result.attempted == 0:  # only allowed where every example is marked as not runnable
        prompts = [line for line in Path(mod.__file__).read_text(encoding="utf-8").splitlines()
                   if ">>>" in line]
        assert all("doctest: +SKIP" in line for line in prompts), (
            f"{module} has '>>>' but doctest found no example")
