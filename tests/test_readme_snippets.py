"""Every ``$ brud ...`` snippet in README.md and docs/*.md prints what the page says it prints.

A snippet is a line ``$ brud ARGS`` inside a ```-fenced block; the lines after it, up to the
next ``$ `` line or the end of the block, are its expected standard output. Pages are found at
run time (README.md and every docs/*.md), so pages added or rewritten later are checked too.

Each snippet runs in-process (``brud_analysis.cli.main``; those that start JAX, all of them
one after the other in one fresh interpreter, each by ``brud_analysis.cli.main`` in its own
directory) in a temporary directory (relative
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

import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from brud_analysis.bounded import run_process
from brud_analysis.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_DURATION = re.compile(r"(?<![\w.*/^])\d+(?:\.\d+)? ?(?:ms|s|min)\b")
_SLOW_COMMANDS = {"verify", "online", "paper-checks"}  # train, or derive whole claims
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
# The snippets that start JAX run in one fresh interpreter, one after the other (each by
# brud_analysis.cli.main in its own directory, stdout and stderr captured), started when the
# first of them is checked, for every one of them that this session selected: a fresh
# `python -m brud_analysis.cli` per snippet paid Python's and JAX's start-up (~3 s CPU) each
# time. A command that two pages show (README.md and docs/verify.md share the 256-seed verify
# run) is run once; each page's text is compared with that one output (runs are deterministic).
_OWN_PROCESS_RUNS: dict[tuple[str, ...], tuple[int, str, str, Path]] = {}
_DRIVER = """
import contextlib, io, json, os, sys
from brud_analysis.cli import main
results = []
for argv, cwd in json.load(open(sys.argv[1])):
    os.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append([code, out.getvalue(), err.getvalue()])
with open(sys.argv[2], "w") as f:
    json.dump(results, f)
"""


def _needs_jax(snippet: Snippet) -> bool:
    argv = snippet.argv
    return bool(argv) and argv[0] in _JAX_COMMANDS and argv[0] not in _PARSE_ONLY


def _make_output_folders(argv: list[str], directory: Path) -> None:
    for word in argv:  # relative output folders (docs/, data/) exist in the scratch directory
        if "/" in word and not word.startswith(("/", "-")) and "(" not in word:
            (directory / word).parent.mkdir(parents=True, exist_ok=True)


def _run_in_own_process(argv: tuple[str, ...], request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path]:
    """Exit code, stdout, stderr and the directory that ``brud ARGV`` ran in, from the one
    interpreter that runs every selected JAX snippet (started on the first call)."""
    if argv not in _OWN_PROCESS_RUNS:
        wanted = [tuple(item.callspec.params["snippet"].argv) for item in request.session.items
                  if getattr(item, "callspec", None) is not None
                  and isinstance(item.callspec.params.get("snippet"), Snippet)
                  and _needs_jax(item.callspec.params["snippet"])]
        batch = list(dict.fromkeys([argv, *wanted]))
        batch = [a for a in batch if a not in _OWN_PROCESS_RUNS]
        base = tmp_path_factory.mktemp("jax-snippets")
        dirs = [base / str(k) for k in range(len(batch))]
        for a, d in zip(batch, dirs, strict=True):
            d.mkdir()
            _make_output_folders(list(a), d)
        (base / "batch.json").write_text(json.dumps([[list(a), str(d)]
                                                     for a, d in zip(batch, dirs, strict=True)]))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        run = run_process([sys.executable, "-c", _DRIVER, str(base / "batch.json"),
                           str(base / "results.json")], cpu_limit=3600, cwd=base, env=env)
        assert run.returncode == 0, f"the JAX snippets' interpreter failed:\n{run.stderr[-3000:]}"
        results = json.loads((base / "results.json").read_text())
        for a, d, (code, out, err) in zip(batch, dirs, results, strict=True):
            _OWN_PROCESS_RUNS[a] = (code, out, err, d)
    return _OWN_PROCESS_RUNS[argv]


def test_the_pages_have_snippets():
    """Guards the finder itself: a format change must not make every check vanish."""
    assert len(SNIPPETS) >= 5, [p.name for p in PAGES]


@pytest.mark.parametrize("snippet", [pytest.param(s, id=s.id, marks=_marks(s))
                                     for s in SNIPPETS])
def test_snippet_prints_what_the_page_shows(snippet: Snippet, tmp_path, monkeypatch, capsys,
                                            request, tmp_path_factory):
    argv = snippet.argv
    if argv[:1] and argv[0] in _PARSE_ONLY:  # needs the recorded datasets: arguments only
        build_parser().parse_args(argv)
        return
    if _needs_jax(snippet):  # another interpreter: JAX's threads must not meet a fork here
        code, out, err, tmp_path = _run_in_own_process(tuple(argv), request, tmp_path_factory)
    else:
        _make_output_folders(argv, tmp_path)
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
