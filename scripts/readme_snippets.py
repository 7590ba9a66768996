"""Run the README's ``$ brud ...`` snippets and diff what they print against the README.

    python scripts/readme_snippets.py list                 # the snippets, one a line
    python scripts/readme_snippets.py run [--only RE] [--skip RE] [--nice N] [--duty F]

A snippet is a line ``$ brud ARGS`` inside a fenced block; its expected output is the lines
after it up to the next ``$`` line or the end of the block (trailing blank lines dropped).
Each runs in a fresh temporary directory (relative output paths such as ``fields.png`` or
``docs/online_x_y.gif`` land there, never in the checkout), with this checkout's code. Its
standard output is compared as tests/test_readme_snippets.py compares it (durations and paths
normalised, ``...`` elisions; stderr, e.g. progress, is not compared). ``run`` prints one line
per snippet (PASS / DIFF / EXIT n, CPU and wall seconds) and a unified diff for each failure;
exit code 1 if any failed. ``--timeout`` is in CPU seconds (a busy machine does not cut a
snippet off), with a wall-clock backstop 50x larger. ``scripts/under_load.sh`` runs it beside
CPU-bound background load.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import functools
import importlib.util
import os
import re
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's code, as the snippets run
#: Snippets left out by default: the HalfCheetah ones build datasets and train for minutes to
#: hours (they have their own tests).
DEFAULT_SKIP = r"^brud halfcheetah "


@dataclass(frozen=True)
class Snippet:
    """One ``$ brud ...`` line of the README and the output printed under it."""

    line: int
    command: str
    expected: str


def snippets(readme: Path = ROOT / "README.md") -> list[Snippet]:
    """Every ``$ brud`` snippet of ``readme`` in order.

    Example:
        >>> any(s.command.startswith("brud analyse") for s in snippets())
        True
    """
    found: list[Snippet] = []
    in_block = False
    current: tuple[int, str] | None = None
    out: list[str] = []

    def close() -> None:
        nonlocal current
        if current is not None:
            while out and not out[-1].strip():
                out.pop()
            found.append(Snippet(current[0], current[1], "\n".join(out)))
        current = None
        out.clear()

    for number, text in enumerate(readme.read_text().splitlines(), 1):
        if text.startswith("```"):
            close()
            in_block = not in_block
        elif in_block and text.startswith("$ "):
            close()
            if text.startswith("$ brud "):
                current = (number, text[2:])
        elif current is not None:
            out.append(text)
    close()
    return found


def run_snippet(snippet: Snippet, nice: int = 0, timeout: float = 600.0, duty: float = 1.0
                ) -> tuple[int, list[str], str, float, float]:
    """Run one snippet in a fresh directory: (exit code, its stdout normalised as
    tests/test_readme_snippets.py does (durations, paths), its stderr, CPU s, wall s).

    ``timeout`` counts the CPU seconds of the snippet and every process it starts, so that a
    starved snippet (``nice -n 15`` beside ten CPU-bound jobs gets ~0.1-1 % of a core) is not
    cut off by the machine's load; a backstop (``bounded.wall_backstop`` of it, 50x) stops one
    that hangs: it counts wall time in which the snippet neither ran nor waited for a CPU.
    ``duty < 1`` lets the snippet (its whole process group) run only that fraction of the
    wall time, in 0.1 s periods (SIGSTOP / SIGCONT): a busy machine's effect on one process,
    without the CPU-bound load."""
    from brud_analysis.bounded import communicate

    argv = shlex.split(snippet.command, comments=True)
    cmd = [sys.executable, "-m", "brud_analysis.cli", *argv[1:]]
    if nice:
        cmd = ["nice", "-n", str(nice), *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="brud-snippet-") as tmp:
        for sub in ("docs", "data"):  # parents of the README's relative output paths
            Path(tmp, sub).mkdir()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        with subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              process_group=0) as proc:
            stop = threading.Event()
            if duty < 1:
                threading.Thread(target=_throttle, args=(proc.pid, duty, stop),
                                 daemon=True).start()
            try:
                out, err, code = communicate(proc, timeout)
            finally:
                stop.set()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        printed = _snippet_test().normalise(out.splitlines(), Path(tmp))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return code, printed, err, cpu, time.monotonic() - start


@functools.cache
def _snippet_test() -> Any:
    """tests/test_readme_snippets.py (its ``normalise`` and ``matches``: one comparison)."""
    spec = importlib.util.spec_from_file_location(
        "_readme_snippet_test", ROOT / "tests" / "test_readme_snippets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _throttle(pgid: int, duty: float, stop: threading.Event, period: float = 0.1) -> None:
    while not stop.is_set():
        try:
            os.killpg(pgid, signal.SIGCONT)
            time.sleep(period * duty)
            os.killpg(pgid, signal.SIGSTOP)
            time.sleep(period * (1 - duty))
        except ProcessLookupError:
            return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGCONT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["list", "run"])
    parser.add_argument("--only", metavar="RE", help="only snippets whose command matches")
    parser.add_argument("--skip", metavar="RE", default=DEFAULT_SKIP,
                        help=f"leave out snippets whose command matches (default {DEFAULT_SKIP!r})")
    parser.add_argument("--nice", type=int, default=0, help="run each snippet at this niceness")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="CPU seconds per snippet (its whole process tree); a wall-clock "
                             "backstop 50x larger catches a hung one")
    parser.add_argument("--duty", type=float, default=1.0,
                        help="let each snippet run only this fraction of the wall time (e.g. "
                             "0.05: a machine where it gets 5%% of a core)")
    args = parser.parse_args(argv)
    chosen = [s for s in snippets()
              if (not args.only or re.search(args.only, s.command))
              and not (args.skip and re.search(args.skip, s.command))]
    if args.action == "list":
        for s in chosen:
            print(f"README.md:{s.line}: {s.command}")
        return 0
    failed = 0
    for s in chosen:
        code, printed, err, cpu, wall = run_snippet(s, args.nice, args.timeout, args.duty)
        expected = _snippet_test().normalise(s.expected.splitlines())
        same = _snippet_test().matches(expected, printed)
        verdict = "PASS" if code == 0 and same else (f"EXIT {code}" if code else "DIFF")
        print(f"{verdict:7s} {cpu:6.1f} s CPU {wall:7.1f} s wall  README.md:{s.line}: "
              f"{s.command}", flush=True)
        if verdict != "PASS":
            failed += 1
            sys.stdout.writelines(difflib.unified_diff(
                [line + "\n" for line in expected], [line + "\n" for line in printed],
                "README", "printed"))
            print(f"stderr:\n{err}" if code else "", flush=True)
    print(f"{len(chosen) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
