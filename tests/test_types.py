"""mypy over the public packages, with the settings in pyproject.toml ([tool.mypy]).

The same check as ``make typecheck``. It runs mypy in-process (``mypy.api.run``) with the
incremental cache in ``.mypy_cache`` (gitignored): about 20 s cold, about 1 s warm.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

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
