"""mypy over the public packages, with the settings in pyproject.toml ([tool.mypy]).

The same check as ``make typecheck``. It runs mypy in-process (``mypy.api.run``) with the
incremental cache in ``.mypy_cache`` (gitignored): about 20 s cold, about 1 s warm.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

from brud_analysis.bounded import run_process

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("brud_analysis", "verify", "paper_checks")

_ERROR = re.compile(r"^(?P<file>[^:\s]+\.py):\d+(?::\d+)?: error: ", re.MULTILINE)


@pytest.fixture(scope="module")
def mypy_report(monkeypatch_module: pytest.MonkeyPatch) -> tuple[str, int]:
    monkeypatch_module.chdir(ROOT)  # [tool.mypy] and the cache are found from the repo root
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                      "--cache-dir", str(ROOT / ".mypy_cache"), *PACKAGES])
    assert status in (0, 1), f"mypy did not run (exit {status}):\n{stderr}{stdout}"
    return stdout, status


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _errors(report: str) -> list[tuple[str, str]]:
    return [(m["file"].replace("\\", "/"), line) for line in report.splitlines()
            if (m := _ERROR.match(line))]


def test_mypy_clean(mypy_report: tuple[str, int]) -> None:
    stdout, status = mypy_report
    assert status == 0 and not _errors(stdout), stdout


def test_the_installed_packages_are_visible_to_a_users_mypy(tmp_path: Path) -> None:
    """A user's own mypy, on a file outside the repository and with no MYPYPATH, finds the
    installed packages and their types (issue 26 item 5). setuptools' default editable install
    is an import hook that static checkers cannot follow; the Makefile installs in "compat"
    mode (a plain path in a .pth file), and every package ships py.typed."""
    import os
    import sys

    use = tmp_path / "use.py"
    use.write_text("import brud_analysis.game\nimport paper_checks.claims\nimport verify\n"
                   "reveal_type(brud_analysis.game.Game)\n"
                   "reveal_type(paper_checks.claims.Context)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    run = run_process([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"),
                       "--follow-imports=silent", "--no-error-summary", str(use)],
                      cpu_limit=600, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    revealed = [line.split("Revealed type is ", 1)[1] for line in run.stdout.splitlines()
                if "Revealed type is" in line]
    assert len(revealed) == 2, run.stdout
    assert "brud_analysis.game.Game" in revealed[0], revealed
    assert "paper_checks.claims.Context" in revealed[1], revealed
