"""Run a command under a CPU-time budget and memory limit, in a worker process.

``brud analyse --time-budget S`` must end after S seconds of *CPU time* whatever the input:
SymPy cannot be interrupted in-process (long C-level integer arithmetic ignores signals), but a
process can be killed. CPU time, not wall time, so that an answer or a refusal is the same on a
quiet machine and on one shared with twenty other jobs (:func:`group_cpu_seconds` counts the
worker and every process it started). A backstop :data:`WALL_FACTOR` times larger catches a
worker that is *stuck*: it counts only the wall time in which the worker and its processes
neither ran nor waited for a CPU, so a worker starved by a busy machine (runnable, but given
~0.1 % of a core) is waited for, never refused. The handler runs in a forked worker that

* has its own process group, so the deadline kills the worker *and* the solver processes it
  started (:func:`run_with_budget`);
* dies with its parent, whatever killed the parent (``PR_SET_PDEATHSIG`` on Linux: SIGTERM,
  whose handler kills the whole group), so no orphan keeps a CPU busy;
* runs under an address-space limit (:data:`MAX_MEMORY_BYTES` beyond what it maps at the
  start), so an input that would eat the machine's memory ends with a one-line error instead;
* sends back what it printed, so a killed worker never leaves half an answer on stdout.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import psutil

from brud_analysis.errors import BrudError

#: Imported before the clock starts (the libraries every bounded command needs).
PRELOAD: tuple[str, ...] = ("brud_analysis.game",)
#: Address-space limit of a worker (the symbolic commands need ~0.4 GB for their libraries).
MAX_MEMORY_BYTES = 4 * 1024**3
#: The stuck backstop is this many times the CPU budget (plus :data:`WALL_SLACK`) of wall time
#: in which the worker neither ran nor was runnable. Not plain wall time: at ``nice -n 15``
#: beside ten CPU-bound jobs and other users' work on two cores a worker got 0.1-5 % of a core
#: (measured: 2.3 s of CPU in 873 s of wall), so any wall-clock multiple of the budget would
#: again refuse on a busy machine what a quiet one answers.
WALL_FACTOR = 50.0
#: Seconds added to every backstop (process start-up, swapping in).
WALL_SLACK = 60.0


class WorkerCrash(Exception):
    """An unexpected exception inside the worker (a bug): carries the worker's traceback."""

    def __init__(self, summary: str, traceback_text: str) -> None:
        super().__init__(summary)
        self.traceback_text = traceback_text


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask Linux to send this process ``signum`` when its parent exits (no-op elsewhere).

    Call it first thing in a forked worker; with SIGTERM, pair it with a handler that cleans up.

    Example:
        >>> die_with_parent()  # in the test process: harmless
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signum, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the worker may outlive a killed parent
        pass


def _kill_group(*_: Any) -> None:
    # The worker leads its process group: take every solver process down with it.
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _mapped_bytes() -> int:
    """Address space this process maps now (Linux ``VmSize``; 0 where unknown)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def group_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) used by process ``pid`` and all its descendants so far.

    Counts the live descendants and those already reaped (their time is in the parent's
    ``children_*`` times); ``None`` when ``pid`` is gone or cannot be read.

    Example:
        >>> group_cpu_seconds(os.getpid()) >= 0.0
        True
    """
    sample = _sample(pid)
    return None if sample is None else sample[0]


#: Process states of a worker that is computing or waiting for the CPU or a disk, or that
#: someone paused (SIGSTOP, Ctrl-Z, a debugger): not stuck.
_BUSY = frozenset({psutil.STATUS_RUNNING, psutil.STATUS_DISK_SLEEP, psutil.STATUS_WAKING,
                   psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP})


def _sample(pid: int) -> tuple[float, bool] | None:
    """(CPU seconds of ``pid`` and its descendants, whether any of them is runnable)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total, busy = 0.0, False
    for proc in procs:
        try:
            with proc.oneshot():
                t = proc.cpu_times()
                busy = busy or proc.status() in _BUSY
        except psutil.Error:  # exited between the listing and now: its parent counts it
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total, busy


class Watch:
    """CPU seconds and *stuck* seconds of a process tree, updated by polling it.

    Stuck time is wall time in which the tree used (nearly) no CPU and none of its processes
    was runnable: a starved process (runnable, given little CPU) never accumulates it.

    Example:
        >>> watch = Watch(os.getpid())
        >>> cpu, stuck = watch.update()
        >>> cpu > 0.0 and stuck == 0.0
        True
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu = self.stuck = 0.0
        self._last = time.monotonic()

    def update(self) -> tuple[float, float]:
        """Sample the tree now: ``(cpu, stuck)`` seconds so far (kept when the tree is gone)."""
        now = time.monotonic()
        sample = _sample(self.pid)
        if sample is not None:  # None: the process has exited (its parent reaps it next)
            used, busy = sample
            if not busy and used - self.cpu < 0.1 * (now - self._last):
                self.stuck += now - self._last
            self.cpu = max(self.cpu, used)
        self._last = now
        return self.cpu, self.stuck


def cpu_clock() -> float:
    """CPU seconds used by this process and its children that have ended (a monotone clock).

    Deadlines counted on this clock do not move with the machine's load, as wall-clock ones
    do: use it for a solver's internal budgets.

    Example:
        >>> start = cpu_clock(); _ = sum(range(10**5)); cpu_clock() >= start
        True
    """
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def wall_backstop(cpu_budget: float) -> float:
    """The stuck limit that goes with a CPU budget: wall seconds in which the worker neither ran
    nor waited for a CPU (only a stuck worker reaches it; a starved one never does).

    Example:
        >>> wall_backstop(10.0)
        560.0
    """
    return WALL_FACTOR * cpu_budget + WALL_SLACK


def communicate(proc: subprocess.Popen, cpu_limit: float) -> tuple[str, str, int]:
    """``(stdout, stderr, exit code)`` of a started ``proc`` (text pipes, its own process
    group): its process group is killed (exit code 124, the reason on stderr) once its process
    tree used ``cpu_limit`` CPU seconds, or was stuck (neither running nor waiting for a CPU)
    for :func:`wall_backstop` of it. A busy machine only makes it wait longer: a wall-clock
    timeout would fail a starved but healthy process.

    Example:
        >>> p = subprocess.Popen(["echo", "hi"], stdout=subprocess.PIPE,
        ...                      stderr=subprocess.PIPE, text=True, process_group=0)
        >>> communicate(p, 10.0)
        ('hi\\n', '', 0)
    """
    streams: dict[str, str] = {}
    readers = [threading.Thread(target=lambda name=name, f=f: streams.update({name: f.read()}),
                                daemon=True)
               for name, f in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    start, watch = time.monotonic(), Watch(proc.pid)
    while proc.poll() is None:
        readers[0].join(0.5)
        cpu, stuck = watch.update()
        if cpu > cpu_limit or stuck > wall_backstop(cpu_limit):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            which = (f"{cpu_limit:g} s of CPU" if cpu > cpu_limit
                     else f"the stuck backstop ({wall_backstop(cpu_limit):g} s)")
            wall = time.monotonic() - start
            return "", f"(no answer within {which}; {cpu:.1f} s of CPU in {wall:.0f} s)", 124
    for reader in readers:
        reader.join()
    return streams.get("out", ""), streams.get("err", ""), proc.returncode


def run_process(cmd: Sequence[str], cpu_limit: float, *, cwd: Any = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(cmd, capture_output=True, text=True)`` with a CPU-time limit instead
    of a wall-clock timeout (see :func:`communicate`): exit code 124 past ``cpu_limit`` CPU
    seconds of the process tree, or when stuck for the backstop that goes with it.

    Example:
        >>> run_process([sys.executable, "-c", "print(6 * 7)"], cpu_limit=60).stdout
        '42\\n'
    """
    with subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, process_group=0) as proc:
        out, err, code = communicate(proc, cpu_limit)
    return subprocess.CompletedProcess(list(cmd), code, out, err)


def _wait(conn: Any, pid: int, cpu_budget: float, stuck_limit: float
          ) -> tuple[str, float, float]:
    """Wait for ``conn`` to be readable, or for the worker to spend a budget.

    Returns ``(outcome, cpu, wall)``: outcome ``"ready"``, ``"cpu"`` (``cpu_budget`` CPU
    seconds used by the worker and its descendants) or ``"stuck"`` (the worker used no CPU and
    none of its processes was runnable, for ``stuck_limit`` seconds in all), with the CPU
    seconds used and the wall seconds waited. Wall time alone never ends the wait: a worker
    starved by a busy machine is runnable, so it is waited for. Polls: a worker spends at most
    one poll interval (a tenth of its budget, 0.01-0.25 s) of CPU beyond its budget.
    """
    start = time.monotonic()
    interval = min(0.25, max(0.01, cpu_budget / 10))
    watch = Watch(pid)
    while True:
        if conn.poll(interval):
            return "ready", watch.cpu, time.monotonic() - start
        cpu, stuck = watch.update()
        if cpu >= cpu_budget:
            return "cpu", cpu, time.monotonic() - start
        if stuck >= stuck_limit:
            return "stuck", cpu, time.monotonic() - start


def _worker(handler: Callable[[Any], int | None], args: Any, conn: Any, parent: int) -> None:
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, _kill_group)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and kills us
    die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        _kill_group()
    with contextlib.suppress(ValueError, OSError):
        import resource

        # On top of what the forked worker already maps: a parent that has loaded JAX (a test
        # session, a notebook) maps several GiB of address space before the handler starts, and
        # a flat cap below that makes every allocation fail (seen as SystemErrors in SymPy).
        limit = _mapped_bytes() + MAX_MEMORY_BYTES
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = handler(args)
        message: tuple = ("ok", int(code or 0))
    except BrudError as error:
        message = ("error", str(error))
    except SystemExit as stop:  # a handler that exits: keep its code
        message = ("ok", stop.code if isinstance(stop.code, int) else 1)
    except MemoryError:
        message = ("error", f"out of memory: the computation needed more than "
                            f"{MAX_MEMORY_BYTES / 1024**3:g} GiB (the worker's limit); "
                            "try a smaller reward or data model")
    except RecursionError:
        message = ("error", "input nested too deeply (Python's recursion limit)")
    except Exception as error:  # a bug: the parent reports it with this traceback
        message = ("crash", f"{type(error).__name__}: {error}", traceback.format_exc())
    conn.send((message, out.getvalue(), err.getvalue()))
    conn.close()


def _stop(proc: multiprocessing.process.BaseProcess) -> None:
    if proc.pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, signal.SIGKILL)
    proc.join(5.0)


def more_time_hint(seconds: float) -> str:
    """The advice after a spent budget: a larger ``--time-budget`` (any budget, even 1e308).

    Example:
        >>> more_time_hint(2)
        'give it more time, e.g. --time-budget 60'
        >>> more_time_hint(1e308)
        'a larger budget would not help'
    """
    suggest = max(60.0, 6.0 * float(seconds))
    if not suggest < 1e12:  # far past any run (and 6 * 1e308 is inf): no larger budget helps
        return "a larger budget would not help"
    return f"give it more time, e.g. --time-budget {round(suggest):g}"


def run_bounded(handler: Callable[[Any], int | None], args: Any, seconds: float,
                what: str = "the command", preload: Sequence[str] = PRELOAD,
                wall_seconds: float | None = None) -> int:
    """``handler(args)`` in a worker killed after ``seconds`` of CPU; its output is replayed.

    ``seconds`` counts the CPU time of the worker and every process it starts, so a busy
    machine does not change the outcome; ``wall_seconds`` (default :func:`wall_backstop`)
    stops a worker that hangs: that many seconds in which it neither ran nor waited for a
    CPU (a worker that a busy machine starves is waited for). The modules in ``preload`` are
    imported first, outside the budget (loading SymPy cannot hang), so the budget is spent on
    the user's input. Raises :class:`BrudError` (one line, naming the budget that was spent) when
    a budget is spent, the worker runs out of memory or the handler raised one;
    :class:`WorkerCrash` for any other exception.

    Example:
        >>> run_bounded(lambda args: print("hi") or 0, None, 30.0)
        hi
        0
    """
    for name in preload:
        importlib.import_module(name)
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(handler, args, sender, os.getpid()),
                       name="brud-worker")
    proc.start()
    sender.close()
    pid = proc.pid
    assert pid is not None  # set by start()
    with contextlib.suppress(OSError):  # also here: no race with the worker's own setpgid
        os.setpgid(pid, pid)
    wall_limit = wall_backstop(seconds) if wall_seconds is None else wall_seconds
    more = more_time_hint(seconds)
    try:
        outcome, cpu, wall = _wait(receiver, pid, max(seconds, 0.0), wall_limit)
        if outcome == "cpu":
            raise BrudError(
                f"--time-budget {seconds:g} s spent before {what} finished (the CPU-time "
                f"budget: {cpu:.1f} s of CPU in {wall:.1f} s of wall time); {more}")
        if outcome == "stuck":
            raise BrudError(
                f"the stuck backstop of --time-budget {seconds:g} s ({wall_limit:g} s of wall "
                f"time neither running nor waiting for a CPU) passed before {what} finished, "
                f"after only {cpu:.1f} s of CPU: the worker was stuck; {more}")
        message, out, err = receiver.recv()
    except EOFError:
        proc.join(5.0)
        raise BrudError(f"{what} stopped without an answer (worker exit code "
                        f"{proc.exitcode}: killed from outside or out of memory)") from None
    finally:
        receiver.close()
        _stop(proc)
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.stdout.flush()
    if message[0] == "error":
        raise BrudError(message[1])
    if message[0] == "crash":
        raise WorkerCrash(message[1], message[2])
    return message[1]


# ---------------------------------------------------------------- one solver step within a budget

class OutOfTime(Exception):
    """A budgeted step ran out of time or failed: the caller falls back to another method."""


def _die_with_parent(parent_pid: int) -> None:
    """Make this (forked) process die when its parent dies, whatever killed the parent.

    Linux: SIGKILL on the parent's death (:func:`die_with_parent`); then re-check the parent,
    in case it died before the call. A daemon thread also polls the parent id (the only guard
    where prctl does not exist).
    """
    import threading

    die_with_parent(signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _budget_worker(fn, args, conn, parent_pid=None):
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    try:
        conn.send(("ok", fn(*args)))
    except Exception as err:  # report; the parent falls back
        conn.send(("error", repr(err)))
    finally:
        conn.close()


def run_with_budget(fn, args: tuple, budget: float):
    """``fn(*args)`` in a forked worker process killed after ``budget`` seconds of CPU time.

    Raises ``OutOfTime`` when the budget is spent, when the step sleeps through its budget
    (stuck: neither running nor waiting for a CPU) or on an error, so callers fall back to
    another method. SymPy calls cannot be interrupted in-process; a process can. CPU time,
    so that a busy machine does not change which method answers.

    Example:
        >>> run_with_budget(sum, ([1, 2, 3],), 10.0)
        6
    """
    import os

    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_budget_worker, args=(fn, args, child, os.getpid()), daemon=True)
    proc.start()
    child.close()
    pid = proc.pid
    assert pid is not None  # set by start()
    budget = max(budget, 0.1)
    try:
        # a solver step never waits for anything: one that sleeps through its budget is
        # stuck (e.g. on a lock copied by fork from a threaded parent)
        if _wait(parent, pid, budget, budget)[0] != "ready":
            raise OutOfTime
        status, payload = parent.recv()
    except EOFError:
        raise OutOfTime from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(1.0)
    if status != "ok":
        raise OutOfTime
    return payload
