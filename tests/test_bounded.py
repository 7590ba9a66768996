"""``--time-budget`` counts CPU time: a busy machine or a waiting worker does not spend it."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from brud_analysis.bounded import OutOfTime, run_bounded, run_with_budget
from brud_analysis.errors import BrudError


def _sleep_then_print(seconds: float) -> int:
    time.sleep(seconds)
    print("done")
    return 0


def _spin_briefly_then_print(cpu_seconds: float) -> int:
    start = time.process_time()
    while time.process_time() - start < cpu_seconds:
        pass
    print("done")
    return 0


def _spin(_: object) -> int:
    while True:
        pass


def _spin_in_a_child(_: object) -> int:
    # the CPU is spent by a process the worker starts: it counts against the budget too
    subprocess.run([sys.executable, "-c", "while True: pass"], check=False)
    return 0


def test_waiting_does_not_spend_the_budget(capsys):
    # 3 s of wall time, ~0 s of CPU: a wall-clock budget of 1 s refused this (the same as a
    # worker that gets a few per cent of a core on a loaded machine)
    assert run_bounded(_sleep_then_print, 3.0, 1.0, "the sleeper") == 0
    assert capsys.readouterr().out == "done\n"


def test_any_finite_budget_runs(capsys):
    # `--time-budget 1e308` crashed every bounded command before it started (OverflowError:
    # the advice "e.g. --time-budget 6 x budget" formatted a 309-digit int as a float); found
    # by the one-off CLI fuzz run (benchmarks/cli_fuzz.py), issue 26
    assert run_bounded(_sleep_then_print, 0.0, 1e308, "the sleeper") == 0
    assert capsys.readouterr().out == "done\n"
    from brud_analysis.cli import main

    assert main(["analyse", "x*y", "--time-budget", "1e308", "--json"]) == 0
    assert '"stationary_points"' in capsys.readouterr().out


def test_a_cpu_bound_worker_is_stopped_and_the_message_names_the_cpu_budget():
    start = time.monotonic()
    with pytest.raises(BrudError, match=r"--time-budget 1 s spent before the spinner finished "
                                        r"\(the CPU-time budget: 1\.\d s of CPU"):
        run_bounded(_spin, None, 1.0, "the spinner")
    assert time.monotonic() - start < 120  # CPU-bound: stopped long before the backstop


def test_cpu_of_the_workers_own_processes_counts():
    with pytest.raises(BrudError, match="the CPU-time budget"):
        run_bounded(_spin_in_a_child, None, 1.0, "the parent of a spinner")


def test_a_stuck_worker_meets_the_backstop():
    with pytest.raises(BrudError, match=r"stuck backstop .* \(1 s of wall time neither running "
                                        r"nor waiting for a CPU\) passed before the sleeper "
                                        r"finished, after only 0\.\d s of CPU"):
        run_bounded(_sleep_then_print, 30.0, 10.0, "the sleeper", wall_seconds=1.0)


def test_a_starved_worker_is_waited_for_past_the_backstop(monkeypatch, capsys):
    # On a busy machine a worker is runnable but gets ~0.1 % of a core (measured: 2.3 s of CPU
    # in 873 s of wall beside ten CPU-bound jobs): it is not stuck, and a backstop counting
    # plain wall time refused it (issue 24). Here the sampler reports the sleeper as runnable
    # with no CPU used, as a starved process looks: the 1 s backstop must not end the wait.
    import brud_analysis.bounded as bounded

    monkeypatch.setattr(bounded, "_sample", lambda pid: (0.0, True))
    assert run_bounded(_sleep_then_print, 3.0, 10.0, "the sleeper", wall_seconds=1.0) == 0
    assert capsys.readouterr().out == "done\n"


def test_a_paused_worker_is_not_stuck(capsys):
    # SIGSTOP (Ctrl-Z of the worker, a debugger) is a pause someone chose, not a hang.
    import threading

    def pause_worker() -> None:
        time.sleep(0.3)
        workers = psutil.Process().children()
        for proc in workers:
            proc.suspend()
        time.sleep(3.0)
        for proc in workers:
            proc.resume()

    threading.Thread(target=pause_worker, daemon=True).start()
    assert run_bounded(_spin_briefly_then_print, 1.0, 10.0, "the paused", wall_seconds=1.0) == 0
    assert capsys.readouterr().out == "done\n"


def test_a_solver_step_is_stopped_on_cpu_and_when_stuck():
    with pytest.raises(OutOfTime):
        run_with_budget(_spin, (None,), 0.3)
    start = time.monotonic()
    with pytest.raises(OutOfTime):  # sleeps through its budget: stuck
        run_with_budget(time.sleep, (30,), 0.3)
    assert time.monotonic() - start < 10
    assert run_with_budget(sum, ([1, 2],), 0.3) == 3


# The solver's internal deadlines count CPU time too: on a machine where this process gets a
# few per cent of a core, wall time runs ~30-50x faster than its CPU time. The fake wall clock
# below runs 50x faster than the real one; the answer (points, sets and the method that found
# them) must be the one a quiet machine gives. With wall-clock deadlines the degree-8 pair
# (0.4 s of CPU, 20 s of "wall" here) fell back to the incomplete numeric multistart.
_SLOW_WALL = 50.0


def _solve_cases():
    import sympy

    x, y, z, w = sympy.symbols("x y z w")
    return [
        ([x**8 - 3*x**2*y**5 + y**7 - 2*y + 1, y**8 - 2*x**7 + x*y**3 - 3*x + 2], [x, y]),
        ([x**2 + y*z - w - 1, y**2 + z*w - x - 1, z**2 + w*x - y - 1, w**2 + x*y - z - 1],
         [x, y, z, w]),
    ]


def _answer(equations, variables, budget):
    from brud_analysis.algebra.solve.analyses import solve_polynomial_system

    sols, sets, method = solve_polynomial_system(equations, variables, budget)
    points = sorted(tuple(round(c, 9) for c in s.point) for s in sols)
    return points, [(st.equations, st.dimension) for st in sets], method


@pytest.mark.parametrize("case", [0, 1])
def test_solver_answers_do_not_depend_on_the_wall_clock(case, monkeypatch):
    equations, variables = _solve_cases()[case]
    budget = 2.0  # 5-10x the CPU each case needs
    quiet = _answer(equations, variables, budget)
    real = time.monotonic
    t0 = real()
    monkeypatch.setattr(time, "monotonic", lambda: t0 + _SLOW_WALL * (real() - t0))
    busy = _answer(equations, variables, budget)
    assert busy == quiet
    assert "multistart" not in busy[2]


def test_run_process_counts_cpu_not_wall_time() -> None:
    """A child that sleeps 2 s (no CPU) finishes under a 1 s CPU limit: a wall-clock timeout
    would have cut it; a CPU-bound child is killed (124, the reason on stderr) past its limit."""
    from brud_analysis.bounded import run_process

    slept = run_process([sys.executable, "-c", "import time; time.sleep(2); print('done')"],
                        cpu_limit=1.0)
    assert (slept.returncode, slept.stdout) == (0, "done\n")
    spun = run_process([sys.executable, "-c", "while True: pass"], cpu_limit=1.0)
    assert spun.returncode == 124 and "1 s of CPU" in spun.stderr
