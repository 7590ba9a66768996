"""The one-off CLI fuzz run: thousands of ``brud`` requests from the suite's generator.

Draws ``--requests`` requests from :func:`tests.test_cli_fuzz.fuzz_request` (the suite's
strategy: 6/11 valid, meaningful requests, the rest malformed) with a fixed seed, writes them
to ``<out>.requests.jsonl`` once, and runs them, appending one outcome per line to
``<out>`` as each ends (the same fields as the suite's ``BRUD_FUZZ_RECORD``, so
``python tests/test_cli_fuzz.py <out>`` prints the outcome tables). A rerun with the same
``--out`` skips the requests already recorded: the run is resumable.

How each request runs (say so next to the table): a fresh ``brud`` process spends ~2 s of CPU
on importing SymPy and JAX alone, which on a shared two-core machine would leave room for far
fewer than 3000 requests. So this runner is a long-lived process that has imported the
libraries, and

* ``analyse``, ``condition``, ``pjap-field`` and malformed requests run in a *forked child*
  that calls the CLI's ``main(argv)`` (the parent never starts JAX, so forking is safe): each
  is still its own process, with its own exit code, stdout, stderr, CPU time and memory;
* ``verify`` and ``online`` run one after the other *in-process* in a long-lived JAX worker
  (starting JAX and compiling per fresh process costs ~10 s), through ``main(argv)`` with
  file descriptors 1 and 2 redirected; the worker is killed and restarted if a request
  passes its limit.

A request is killed once its process (and descendants) used its budget + 20 s of CPU (the
CLI's budgets are CPU time, so that answers do not depend on the machine's load), or after
:data:`WALL_KILL` seconds of wall time (a hang). ``--lanes`` forked requests and one JAX
request run side by side. Run it niced::

    nice -n 15 python benchmarks/cli_fuzz.py --requests 3500 --out fuzz.jsonl --until 14:05
    python tests/test_cli_fuzz.py fuzz.jsonl      # the outcome tables
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import test_cli_fuzz as suite  # type: ignore[import-not-found]  # noqa: E402 (generator, tables)
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from brud_analysis.cli import main  # noqa: E402

JAX_COMMANDS = (["verify"], ["online"])


def draw_requests(count: int, seed_value: int) -> list[tuple[list[str], bool]]:
    """``count`` requests ``(argv, valid)`` from the suite's strategy, the same for one seed."""
    drawn: list[tuple[list[str], bool]] = []

    @seed(seed_value)
    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(request=suite.fuzz_request())
    def collect(request: tuple[list[str], bool]) -> None:
        drawn.append(request)

    collect()
    return drawn


#: Wall seconds after which a request is killed whatever its CPU use (a hang): the CLI's own
#: budgets are CPU time, with a backstop for a stuck worker (50 x the budget + 60 s of wall
#: time neither running nor runnable: brud_analysis.bounded), so that a loaded machine does
#: not turn answers into refusals.
WALL_KILL = 900.0


def _cpu_limit(argv: list[str]) -> float:
    """CPU seconds before a request is killed: its budget + 10 s is "over time" already; a
    few more show how far over it would have gone."""
    return suite._budget_of(argv) + 20.0


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _traceback_of(err: str) -> str:
    """The traceback file an internal error names, if any (the last 4000 characters)."""
    for word in err.replace("(", " ").replace(")", " ").split():
        if word.startswith("/") and "brud-traceback-" in word:
            with contextlib.suppress(OSError):
                return Path(word).read_text(errors="replace")[-4000:]
    return ""


@dataclass
class Running:
    index: int
    argv: list[str]
    valid: bool
    start: float
    tmp: Path
    pid: int = 0
    cpu_start: float = 0.0
    extra: dict = field(default_factory=dict)


def _redirect_and_run(argv: list[str], out: Path, err: Path) -> int:
    """``main(argv)`` with fd 1 and 2 on ``out`` and ``err``; the exit code (1: an exception
    escaped ``main``, which is a finding)."""
    saved = os.dup(1), os.dup(2)
    fds = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), \
        os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    old = sys.stdout, sys.stderr
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 (anything escaping main is a finding)
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = old
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, *fds):
            os.close(fd)
    return int(code)


def _fork_request(run: Running) -> None:
    pid = os.fork()
    if pid == 0:  # child: one request, then exit with its code
        code = 1
        try:
            code = _redirect_and_run(run.argv, run.tmp / "out", run.tmp / "err")
        finally:
            os._exit(code)
    run.pid = pid


class JaxWorker:
    """A forked process that runs verify/online requests in-process, one after the other."""

    def __init__(self) -> None:
        self.pid = 0
        self.start()

    def start(self) -> None:
        to_child, self.request_w = os.pipe()
        self.reply_r, from_child = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(self.request_w)
            os.close(self.reply_r)
            requests, replies = os.fdopen(to_child), os.fdopen(from_child, "w")
            for line in requests:
                job = json.loads(line)
                before = resource.getrusage(resource.RUSAGE_SELF)
                code = _redirect_and_run(job["argv"], Path(job["out"]), Path(job["err"]))
                after = resource.getrusage(resource.RUSAGE_SELF)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                replies.write(json.dumps({"code": code, "cpu": cpu,
                                          "rss": after.ru_maxrss / 1024}) + "\n")
                replies.flush()
            os._exit(0)
        os.close(to_child)
        os.close(from_child)
        os.set_blocking(self.reply_r, False)
        self.pid, self.buffer = pid, b""

    def submit(self, run: Running) -> None:
        run.pid, run.cpu_start = self.pid, _cpu_of(self.pid)
        job = {"argv": run.argv, "out": str(run.tmp / "out"), "err": str(run.tmp / "err")}
        os.write(self.request_w, (json.dumps(job) + "\n").encode())

    def poll(self) -> dict | None:
        with contextlib.suppress(BlockingIOError):
            chunk = os.read(self.reply_r, 65536)
            if not chunk:  # the worker died
                return {"code": None, "died": True}
            self.buffer += chunk
        if b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            return json.loads(line)
        done, status = os.waitpid(self.pid, os.WNOHANG)
        if done:
            return {"code": os.waitstatus_to_exitcode(status), "died": True}
        return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        for fd in (self.request_w, self.reply_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.start()


def _row(run: Running, code: int | None, cpu: float, rss: float, lane: str) -> dict:
    out = (run.tmp / "out").read_text(errors="replace") if (run.tmp / "out").exists() else ""
    err = (run.tmp / "err").read_text(errors="replace") if (run.tmp / "err").exists() else ""
    lines = err.strip().splitlines()
    row = {"index": run.index, "argv": run.argv, "valid": run.valid, "code": code,
           "seconds": round(time.monotonic() - run.start, 3), "cpu_seconds": round(cpu, 3),
           "max_rss_mb": round(rss, 1), "err_lines": len(lines),
           "err": lines[0][:300] if lines else "", "err_last": lines[-1][:300] if lines else "",
           "out_chars": len(out), "lane": lane, "load": round(os.getloadavg()[0], 2),
           "at": dt.datetime.now(dt.UTC).strftime("%H:%M:%S"), **run.extra}
    if code not in (0, 2) or (code == 2 and len(lines) != 1):
        row["traceback"] = _traceback_of(err) or err[-4000:]
    return row


def run_all(requests: list[tuple[list[str], bool]], out: Path, until: float,
            lanes: int, part: tuple[int, int] = (0, 1), reverse: bool = False) -> None:
    """Run every request not yet in ``out`` (``lanes`` forked children at a time, and one JAX
    worker); append each outcome as it ends. ``part`` ``(k, n)``: only the requests whose
    index is ``k`` modulo ``n`` (so that ``n`` runners can share one ``out``); ``reverse``:
    from the last request back (one more runner on the same ``out``, meeting the others
    from the far end; a request both ran is listed twice: the tables keep the first)."""
    from brud_analysis.bounded import group_cpu_seconds

    done = set()
    if out.exists():
        done = {json.loads(line)["index"] for line in out.read_text().splitlines() if line}
    todo = [(i, argv, valid) for i, (argv, valid) in enumerate(requests)
            if i not in done and i % part[1] == part[0]]
    if reverse:
        todo.reverse()
    fork_queue = [t for t in todo if t[1][:1] not in JAX_COMMANDS]
    jax_queue = [t for t in todo if t[1][:1] in JAX_COMMANDS]
    print(f"{len(done)} recorded, {len(fork_queue)} + {len(jax_queue)} (jax) to run",
          flush=True)
    worker = JaxWorker()
    forks: list[Running] = []
    jax_run: Running | None = None
    scratch = Path(tempfile.mkdtemp(prefix="brud-fuzz-"))
    os.chdir(scratch)  # whatever a request writes into the working directory stays here

    def record(row: dict) -> None:  # one write(2) on an O_APPEND file: runners never interleave
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(row) + "\n").encode())
        finally:
            os.close(fd)

    while fork_queue or jax_queue or forks or jax_run:
        now = time.monotonic()
        while len(forks) < lanes and fork_queue and time.time() < until:
            i, argv, valid = fork_queue.pop(0)
            run = Running(i, argv, valid, now, Path(tempfile.mkdtemp(dir=scratch)))
            _fork_request(run)
            forks.append(run)
        if jax_run is None and jax_queue and time.time() < until:
            i, argv, valid = jax_queue.pop(0)
            jax_run = Running(i, argv, valid, now, Path(tempfile.mkdtemp(dir=scratch)))
            worker.submit(jax_run)
        for run in list(forks):
            pid, status, usage = os.wait4(run.pid, os.WNOHANG)
            if pid:
                record(_row(run, os.waitstatus_to_exitcode(status),
                            usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, "fork"))
                forks.remove(run)
                continue
            cpu = group_cpu_seconds(run.pid) or 0.0
            if cpu > _cpu_limit(run.argv) or now - run.start > WALL_KILL:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(run.pid, signal.SIGKILL)
                _, _, usage = os.wait4(run.pid, 0)
                run.extra["killed_cpu_seconds"] = round(cpu, 1)
                record(_row(run, None, max(cpu, usage.ru_utime + usage.ru_stime),
                            usage.ru_maxrss / 1024, "fork"))
                forks.remove(run)
        if jax_run is not None:
            reply = worker.poll()
            cpu = _cpu_of(worker.pid) - jax_run.cpu_start
            if reply is not None:
                if reply.get("died"):
                    jax_run.extra["worker_died"] = True
                    record(_row(jax_run, reply["code"] if reply["code"] not in (0, 2) else 1,
                                cpu, float("nan"), "jax-worker"))
                    worker.kill()
                else:
                    record(_row(jax_run, reply["code"], reply["cpu"], reply["rss"],
                                "jax-worker"))
                jax_run = None
            elif cpu > _cpu_limit(jax_run.argv) or now - jax_run.start > WALL_KILL:
                jax_run.extra["killed_cpu_seconds"] = round(cpu, 1)
                record(_row(jax_run, None, cpu, float("nan"), "jax-worker"))
                worker.kill()
                jax_run = None
        if time.time() >= until and not forks and jax_run is None:
            break
        time.sleep(0.02)
    worker.kill()
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        os.kill(worker.pid, signal.SIGKILL)
        os.waitpid(worker.pid, 0)


def _until(text: str | None) -> float:
    if not text:
        return float("inf")
    hour, minute = (int(v) for v in text.split(":"))
    now = dt.datetime.now(dt.UTC)
    return now.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3500)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--until", help="HH:MM (UTC): start no request after this time")
    parser.add_argument("--lanes", type=int, default=3,
                        help="forked requests at a time (besides the one JAX worker)")
    parser.add_argument("--reverse", action="store_true", help="from the last request back")
    parser.add_argument("--part", default="0/1",
                        help="K/N: run only the requests whose index is K modulo N")
    args = parser.parse_args()
    out = args.out.resolve()
    drawn_path = out.with_suffix(".requests.jsonl")
    if drawn_path.exists():
        requests = [(r["argv"], r["valid"]) for r in map(json.loads, drawn_path.read_text()
                                                           .splitlines())]
    else:
        requests = draw_requests(args.requests, args.seed)
        drawn_path.write_text("".join(json.dumps({"argv": a, "valid": v}) + "\n"
                                      for a, v in requests))
    valid = sum(v for _, v in requests)
    print(f"{len(requests)} requests ({valid} valid) in {drawn_path}", flush=True)
    run_all(requests, out, _until(args.until), args.lanes,
            tuple(int(v) for v in args.part.split("/")),  # type: ignore[arg-type]
            args.reverse)
