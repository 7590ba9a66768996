"""Run a command under a hard deadline and memory limit, in a worker process.

``brud analyse --time-budget S`` must end within S seconds whatever the input: SymPy cannot be
interrupted in-process (long C-level integer arithmetic ignores signals), but a process can be
killed. The handler runs in a forked worker that

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
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from brud_analysis.errors import BrudError

#: Imported before the clock starts (the libraries every bounded command needs).
PRELOAD: tuple[str, ...] = ("brud_analysis.game",)
#: Address-space limit of a worker (the symbolic commands need ~0.4 GB for their libraries).
MAX_MEMORY_BYTES = 4 * 1024**3


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


def run_bounded(handler: Callable[[Any], int | None], args: Any, seconds: float,
                what: str = "the command", preload: Sequence[str] = PRELOAD) -> int:
    """``handler(args)`` in a worker killed after ``seconds``; its output is replayed here.

    The modules in ``preload`` are imported first, outside the deadline (loading SymPy takes
    seconds on a busy machine and cannot hang), so the budget is spent on the user's input.
    Raises :class:`BrudError` (one line) when the deadline passes, the worker runs out of
    memory or the handler raised one; :class:`WorkerCrash` for any other exception.

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
    start = time.monotonic()
    proc.start()
    sender.close()
    pid = proc.pid
    assert pid is not None  # set by start()
    with contextlib.suppress(OSError):  # also here: no race with the worker's own setpgid
        os.setpgid(pid, pid)
    try:
        # select() takes no infinite timeout: past ~11 days "a huge budget" means no limit
        if not receiver.poll(min(max(seconds, 0.0), 1e6)):
            raise BrudError(
                f"--time-budget {seconds:g} s spent before {what} finished "
                f"({time.monotonic() - start:.1f} s); give it more time, e.g. "
                f"--time-budget {max(60, 6 * round(seconds)):g}"
            )
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
    """``fn(*args)`` in a forked worker process that is killed after ``budget`` seconds.

    Raises ``OutOfTime`` on timeout or error, so callers fall back to another method.
    SymPy calls cannot be interrupted in-process; a process can.

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
    try:
        if not parent.poll(max(budget, 0.1)):
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
