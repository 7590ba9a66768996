"""Time from Ctrl-C (SIGINT) to exit on a long ``brud verify`` (issue 26 item 3).

Starts ``brud verify twin_peaks ... --seeds 256 --steps 400000`` (hours of training), waits
until training has printed progress (JAX compiled, chunks running) plus ``--settle``
seconds, sends SIGINT and measures, until the process exits: wall seconds, and CPU seconds of
the process (user + system; the part that does not depend on the machine's load). Prints one
line per try and the exit code and last stderr line::

    python benchmarks/sigint_latency.py --tries 3
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["verify", "twin_peaks", "--data", "normal", "--mean", "0.5", "0.5", "--std", "0.2",
           "0.2", "--seeds", "256", "--steps", "400000"]


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_try(settle: float) -> dict:
    """One run: start, wait for progress + ``settle`` s, SIGINT, time the exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    err_path = Path(f"/tmp/sigint-{os.getpid()}.err")
    with open(err_path, "w") as err:
        # SIGINT as a terminal delivers it: a shell starts background jobs with SIGINT ignored,
        # which the child would inherit (Python then never raises KeyboardInterrupt)
        proc = subprocess.Popen([sys.executable, "-m", "brud_analysis.cli", *COMMAND],
                                stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started = time.monotonic()
    while "training:" not in err_path.read_text() and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(settle)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = _cpu(proc.pid)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    code = proc.wait()
    wall = time.monotonic() - sent
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = err_path.read_text().strip().splitlines()
    err_path.unlink()
    return {"wall_s": wall, "cpu_s": cpu_total - cpu_before, "code": code,
            "ran_s": sent - started, "load": os.getloadavg()[0],
            "last": lines[-1] if lines else ""}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()
    for _ in range(args.tries):
        r = one_try(args.settle)
        print(f"SIGINT -> exit: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU; exit "
              f"{r['code']} after {r['ran_s']:.0f} s running; load {r['load']:.1f}; "
              f"stderr: {r['last'][:160]}", flush=True)
