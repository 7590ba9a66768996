"""Every ``$ brud ...`` snippet in README.md and docs/*.md prints what the page says it prints.

A snippet is a line ``$ brud ARGS`` inside a ```-fenced block; the lines after it, up to the
next ``$ `` line or the end of the block, are its expected standard output. Pages are found at
run time (README.md and every docs/*.md), so pages added or rewritten later are checked too.

Each snippet runs in-process (``brud_analysis.cli.main``; those that start JAX, in a fresh
``python -m brud_analysis.cli``) in a temporary directory (relative
output paths such as ``docs/fields.png`` land there; their folders are created first). Its
stdout and the page's text are compared line by line after this normalisation, and only this:

* trailing spaces and trailing empty lines are dropped;
* a duration (``12.3 s``, ``250 ms``, ``3 min``) becomes ``<time>``: it depends on the machine;
* the temporary directory becomes ``.`` and the repository's path ``<repo>``;
* a page line that is exactly ``...`` stands for any number of output lines (an elision the
  page states openly).

The exit code must be 0. ``$ brud halfcheetah ...`` snippets need the recorded HalfCheetah
datasets (about 30 minutes of recording each), so they are checked for their arguments only
(they must parse), not run; every other snippet is run. Those that train (verify, online),
draw (``--plot``, ``--animate``) or sweep are marked ``slow``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from brud_analysis.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_DURATION = re.compile(r"(?<![\w.*/^])\d+(?:\.\d+)? ?(?:ms|s|min)\b")
_SLOW_COMMANDS = {"verify", "online"}
# Commands that start JAX: run in their own interpreter, since a later fork in this process
# (brud's --time-budget worker, the fuzz test) must not inherit JAX's threads.
_JAX_COMMANDS = {"verify", "online", "halfcheetah"}
_SLOW_OPTIONS = {"--plot", "--animate", "--sweep"}
_PARSE_ONLY = {"halfcheetah"}


@dataclass
class Snippet:
    """One ``$ brud`` command of a page and the output the page shows for it."""

    page: str
    line: int
    command: str
    expected: list[str]

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command, comments=True)[1:]  # drop "brud"

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def find_snippets(text: str, page: str) -> list[Snippet]:
    """The ``$ brud`` snippets of one Markdown page (continuation lines ending in ``\\`` joined).

    Example:
        >>> page = "```\\n$ brud analyse x*y\\nreward R = x*y\\n$ ls\\n```\\n"
        >>> [(s.command, s.expected) for s in find_snippets(page, "p.md")]
        [('brud analyse x*y', ['reward R = x*y'])]
    """
    snippets: list[Snippet] = []
    current: Snippet | None = None
    fenced = False
    lines = text.splitlines()
    k = 0
    while k < len(lines):
        line, number = lines[k], k + 1
        k += 1
        if line.lstrip().startswith("```"):
            fenced, current = not fenced, None
            continue
        if not fenced:
            continue
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and k < len(lines):
                command, k = command[:-1] + " " + lines[k].strip(), k + 1
            current = None
            if command.split()[:1] == ["brud"]:
                current = Snippet(page, number, command.strip(), [])
                snippets.append(current)
        elif current is not None:
            current.expected.append(line)
    return snippets


def _all_snippets() -> list[Snippet]:
    return [s for page in PAGES if page.exists()
            for s in find_snippets(page.read_text(), str(page.relative_to(ROOT)))]


def normalise(lines: list[str], tmp: Path | None = None) -> list[str]:
    """The comparison's normalisation (module docstring): durations, paths, trailing space.

    Example:
        >>> normalise(["done in 12.5 s  ", "wrote /tmp/x/a.png", ""], Path("/tmp/x"))
        ['done in <time>', 'wrote ./a.png']
    """
    out = []
    for line in lines:
        if tmp is not None:
            line = line.replace(str(tmp), ".")
        line = line.replace(str(ROOT), "<repo>")
        out.append(_DURATION.sub("<time>", line.rstrip()))
    while out and not out[-1]:
        out.pop()
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` equals ``expected``, where an expected ``...`` line matches any
    number of lines.

    Example:
        >>> matches(["a", "...", "d"], ["a", "b", "c", "d"]), matches(["a"], ["a", "b"])
        (True, False)
    """
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and matches(expected[1:], actual[1:])


def _marks(snippet: Snippet) -> list[pytest.MarkDecorator]:
    argv = snippet.argv
    slow = argv[:1] and (argv[0] in _SLOW_COMMANDS
                         or any(a.split("=")[0] in _SLOW_OPTIONS for a in argv))
    return [pytest.mark.slow] if slow else []


SNIPPETS = _all_snippets()
# A command that two pages show (README.md and docs/verify.md share the 256-seed verify run) is
# run once; each page's text is compared with that one output (its runs are deterministic).
_OWN_PROCESS_RUNS: dict[tuple[str, ...], tuple[int, str, str, Path]] = {}


def _run_in_own_process(argv: tuple[str, ...], tmp_path: Path) -> tuple[int, str, str, Path]:
    """``python -m brud_analysis.cli ARGV`` in ``tmp_path``: exit code, stdout, stderr and the
    directory it ran in (that of the first run of the same command line)."""
    if argv not in _OWN_PROCESS_RUNS:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        run = subprocess.run([sys.executable, "-m", "brud_analysis.cli", *argv], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=1800)
        _OWN_PROCESS_RUNS[argv] = (run.returncode, run.stdout, run.stderr, tmp_path)
    return _OWN_PROCESS_RUNS[argv]


def test_the_pages_have_snippets():
    """Guards the finder itself: a format change must not make every check vanish."""
    assert len(SNIPPETS) >= 5, [p.name for p in PAGES]


@pytest.mark.parametrize("snippet", [pytest.param(s, id=s.id, marks=_marks(s))
                                     for s in SNIPPETS])
def test_snippet_prints_what_the_page_shows(snippet: Snippet, tmp_path, monkeypatch, capsys):
    argv = snippet.argv
    if argv[:1] and argv[0] in _PARSE_ONLY:  # needs the recorded datasets: arguments only
        build_parser().parse_args(argv)
        return
    for word in argv:  # relative output folders (docs/, data/) exist in the scratch directory
        if "/" in word and not word.startswith(("/", "-")) and "(" not in word:
            (tmp_path / word).parent.mkdir(parents=True, exist_ok=True)
    if argv[0] in _JAX_COMMANDS:  # a fresh interpreter: JAX's threads must not meet a fork
        code, out, err, tmp_path = _run_in_own_process(tuple(argv), tmp_path)
    else:
        monkeypatch.chdir(tmp_path)
        code = main(argv)
        captured = capsys.readouterr()
        out, err = captured.out, captured.err
    assert code == 0, f"{snippet.id}: `{snippet.command}` exited {code}: {err}"
    actual = normalise(out.splitlines(), tmp_path)
    expected = normalise(snippet.expected, tmp_path)
    assert matches(expected, actual), (
        f"{snippet.id}: `{snippet.command}` printed\n" + "\n".join(actual)
        + "\n--- the page shows ---\n" + "\n".join(expected))
