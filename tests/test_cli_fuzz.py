"""Fuzz the ``brud`` entry point: any input ends with exit 0, or exit 2 and one line on stderr.

Inputs are random strings, near-valid rewards, extreme numbers and bad option combinations for
``analyse``, ``condition``, ``pjap-field`` and ``verify`` (tiny settings). Each call runs in a
forked child (so a hang or a crash cannot take the test down) that is killed after
``HANG_SECONDS`` -- a hang detector, not a speed requirement.

The suite runs ``BRUD_FUZZ_EXAMPLES`` examples (default 100, derandomised). The pre-release run
(not in CI) uses more and records every outcome::

    BRUD_FUZZ_EXAMPLES=2000 BRUD_FUZZ_RECORD=fuzz.jsonl pytest -q tests/test_cli_fuzz.py
    python tests/test_cli_fuzz.py fuzz.jsonl      # the outcomes table
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brud_analysis.cli import main

# Load the libraries once here, so that each forked call starts with them (as a long-lived
# process would) and the examples spend their time on the input, not on imports. Importing JAX
# does not start its thread pools, so forking after it is safe.
for _name in ("brud_analysis.commands", "brud_analysis.solve", "brud_analysis.conditions",
              "brud_analysis.pjap", "brud_analysis.plots", "verify.harness", "verify.plots"):
    importlib.import_module(_name)

EXAMPLES = int(os.environ.get("BRUD_FUZZ_EXAMPLES", "100"))
RECORD = os.environ.get("BRUD_FUZZ_RECORD")
HANG_SECONDS = 180.0  # far above any --time-budget used here: only a hang gets near it
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Outcome:
    code: int | None  # None: killed after HANG_SECONDS
    out: str
    err: str
    seconds: float
    max_rss_mb: float  # peak resident memory of the child or its worker (a fork of this process)


def _jax_backend_started() -> bool:
    # After JAX has started its thread pools, a forked child must not use JAX (it can
    # deadlock): such calls are run by exec'ing a fresh interpreter instead.
    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(bridge is not None and getattr(bridge, "_backends", None))


def run_cli(argv: list[str], hang_seconds: float = HANG_SECONDS) -> Outcome:
    """Run ``brud argv`` in a child process; collect exit code, output, time and memory."""
    exec_fresh = argv[:1] == ["verify"] and _jax_backend_started()
    with tempfile.TemporaryDirectory() as tmp:
        out_path, err_path = Path(tmp) / "out", Path(tmp) / "err"
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                out = os.open(out_path, os.O_WRONLY | os.O_CREAT, 0o644)
                err = os.open(err_path, os.O_WRONLY | os.O_CREAT, 0o644)
                os.dup2(out, 1)
                os.dup2(err, 2)
                if exec_fresh:
                    os.chdir(ROOT)
                    os.execv(sys.executable, [sys.executable, "-m", "brud_analysis.cli", *argv])
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                code = main(argv)
            except BaseException:  # noqa: BLE001 (anything escaping main is a finding)
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code if isinstance(code, int) else 1)
        code: int | None = None
        usage = None
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - start > hang_seconds:
                os.kill(pid, signal.SIGKILL)
                _, _, usage = os.wait4(pid, 0)
                break
            time.sleep(0.005)
        seconds = time.monotonic() - start
        rss = usage.ru_maxrss / 1024 if usage is not None else float("nan")
        return Outcome(code, out_path.read_text(errors="replace"),
                       err_path.read_text(errors="replace"), seconds, rss)


# ------------------------------------------------------------------------------ strategies
EXTREME_NUMBERS = [
    "0", "-0", "1", "-1", "0.5", "1e999", "-1e999", "1e308", "1e-320", "1e-999", "nan", "inf",
    "-inf", "10**10**10", "9" * 40, "9" * 1200, "1/0", "0**-1", "2**64", "1e12", "1e13",
    "sqrt(2)", "-sqrt(3/8)", "pi", "1_000", "0x1f", "1e", ".", "--", "", " ", "abc", "A",
]
AGENTS = ["x", "y", "z", "a1", "a2", "w"]
PARAMS = ["A", "B", "C", "alpha"]
FUNCS = ["sqrt", "sin", "exp", "log", "Abs"]
CATALOGUE = ["twin_peaks", "sign_agreement", "action_agreement", "decoupled",
             "twin_peaks(A=1, B=4, C=5)", "twin_peaks(A=A, B=B, C=C)", "twin_peaks(C=1e999)",
             "twin_peaks(A=1, B=4, C=5, D=1)", "twin_peaks(1, 2, 3, 4)", "twin_peaks(C=x)"]
atoms = st.one_of(st.sampled_from(AGENTS), st.sampled_from(PARAMS),
                  st.sampled_from(EXTREME_NUMBERS[:25]),
                  st.integers(-10**30, 10**30).map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr))


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "^", " "]),
                       children).map(lambda t: f"{t[0]}{t[1]}{t[2]}")
    power = st.tuples(children, st.sampled_from(["2", "3", "10", "64", "65", "10**10", "-1",
                                                  "0.5", "A", "1000"])).map(
        lambda t: f"({t[0]})**{t[1]}")
    call = st.tuples(st.sampled_from(FUNCS), children).map(lambda t: f"{t[0]}({t[1]})")
    return st.one_of(binary, power, call, children.map(lambda s: f"-({s})"),
                     children.map(lambda s: f"-{s}"))


near_valid = st.recursive(atoms, _combine, max_leaves=8)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.one_of(near_valid, st.sampled_from(CATALOGUE)))
    if not text:
        return text
    i = draw(st.integers(0, len(text) - 1))
    junk = draw(st.sampled_from(list("()*^+-/,=[]{}'\"\\;:!@#$%&|~`<>?") + ["\n", "\t", "\x00",
                                                                              "é", "__", "lambda",
                                                                              "import", ".."]))
    return draw(st.sampled_from([text[:i] + junk + text[i:], text[:i] + text[i + 1:],
                                 text * 3]))


monomial = st.tuples(st.integers(-9, 9), st.integers(0, 4), st.integers(0, 4),
                     st.sampled_from(["", "", "", "*z", "*z**2"])).map(
    lambda t: f"{t[0]}*x**{t[1]}*y**{t[2]}{t[3]}")
polynomial = st.lists(monomial, min_size=1, max_size=5).map(" + ".join)

exprs = st.one_of(
    polynomial, polynomial, polynomial, near_valid, near_valid, mutated(),
    st.sampled_from(CATALOGUE),
    st.text(max_size=40),
    st.text(alphabet="xyzAB0123456789.e+-*/^() ,", max_size=60),
    st.sampled_from(["x*y", "-x**4*y", "x*y*z", "-(x - y)**2", "x**2*y - y**3 + x*y",
                     "(x+y+z+w)**30", "x**64*y", "(x+y)**65", "x*y*" + "x*" * 1100 + "y",
                     "a1*a2*a3*a4*a5*a6*a7*a8*a9*a10*a11*a12*a13", "x*y*inf", "x*y*nan",
                     "sqrt(2)*x*y - x**2 - y**2", "x*y*exp(1000)", "x" * 11_000]),
)
numbers = st.one_of(st.sampled_from(EXTREME_NUMBERS), st.floats().map(repr),
                    st.integers(-5, 5).map(str))


def _values(n: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[list[str]]:
    n = st.integers(0, 4) if n is None else n
    return n.flatmap(lambda k: st.lists(numbers, min_size=k, max_size=k))


@st.composite
def data_options(draw: st.DrawFn) -> list[str]:
    family = draw(st.sampled_from(["none"] * 3 + ["valid"] * 3 + ["normal", "uniform", "file",
                                                                  "bad", "mixed"]))
    if family == "none":
        return []
    if family == "valid":
        return draw(st.sampled_from([
            ["--data", "normal", "--mean", "0.3", "-0.2", "--std", "0.5", "1"],
            ["--data", "uniform", "--low", "-1", "0", "--high", "1", "2"],
            ["--data", "normal", "--mean", "0", "0", "0", "--std", "1", "1", "1"]]))
    if family == "file":
        return ["--data", draw(st.sampled_from(["/nonexistent/d.npy", "/dev/null", "/", ""]))]
    if family == "bad":
        return ["--data", draw(st.sampled_from(["laplace", "NORMAL", "-1", "normal,uniform"]))]
    flags = {"normal": ["--mean", "--std"], "uniform": ["--low", "--high"],
             "mixed": ["--mean", "--high"]}[family]
    argv = ["--data", "uniform" if family == "mixed" else family]
    for flag in flags:
        if draw(st.booleans()) or family == "mixed":
            argv += [flag, *draw(_values())]
        else:  # a plausible, valid vector for 2 agents
            argv += [flag, "0.3", "0.7"] if flag in ("--mean", "--low") else [flag, "1", "1.5"]
    return argv


budgets = st.sampled_from(["1", "2", "2", "0.01", "0", "-1", "nan", "inf", "1e308", "abc"])


@st.composite
def analyse_argv(draw: st.DrawFn) -> list[str]:
    if draw(st.booleans()):  # plausible options: the input under test is the reward
        data = draw(st.sampled_from([[], ["--data", "normal", "--mean", "0.3", "-0.2", "--std",
                                          "0.5", "1"]]))
        return ["analyse", draw(exprs), *data, "--time-budget", "2", "--json"]
    argv = ["analyse", draw(exprs), *draw(data_options()),
            "--time-budget", draw(budgets) if draw(st.booleans()) else "2"]
    if draw(st.booleans()):
        argv += ["--agents", draw(st.sampled_from(["x,y", "y,x", "x", "x,,y", "1x,y", "x,x",
                                                   "lambda,y", "x,y,z", ""]))]
    if draw(st.booleans()):
        argv += ["--json"]
    if draw(st.integers(0, 5)) == 0:
        argv += ["--plot", draw(st.sampled_from(["/nonexistent/dir/p.png", "/proc/p.png",
                                                 "/dev/null/p.png", "/"]))]
    return argv


@st.composite
def condition_argv(draw: st.DrawFn) -> list[str]:
    argv = ["condition", draw(exprs)]
    if draw(st.integers(0, 6)):
        targets = draw(st.one_of(_values(st.integers(0, 3)), st.sampled_from(
            [["0.5", "0.5"], ["0", "0"], ["sqrt(3/8)", "sqrt(3/8)"], ["1", "-1", "0"]])))
        argv += ["--target", *targets] if draw(st.booleans()) else \
            [f"--target={','.join(targets)}"]
    if draw(st.booleans()):
        argv += ["--family", draw(st.sampled_from(["normal", "uniform", "laplace", ""]))]
    return [*argv, "--time-budget", draw(budgets) if draw(st.booleans()) else "2",
            *(["--json"] if draw(st.booleans()) else [])]


@st.composite
def pjap_argv(draw: st.DrawFn) -> list[str]:
    argv = ["pjap-field", draw(st.one_of(exprs, st.sampled_from(["x*y", "twin_peaks"]))),
            *draw(data_options())]
    if draw(st.integers(0, 5)):
        argv += ["--alpha", draw(st.one_of(numbers, st.sampled_from(["0", "2", "16"])))]
    for flag, values in (("--eps", numbers), ("--distance", st.sampled_from(["l1", "l2", "l3"]))):
        if draw(st.booleans()):
            argv += [flag, draw(values)]
    if draw(st.integers(0, 3)) == 0:
        argv += ["--box", *draw(_values(st.integers(1, 3)))]
    return [*argv, "--time-budget", draw(budgets) if draw(st.booleans()) else "3", "--json"]


@st.composite
def verify_argv(draw: st.DrawFn) -> list[str]:
    argv = ["verify", draw(st.one_of(st.sampled_from(["x*y", "-(x - y)**2", "twin_peaks"]),
                                     exprs)), *draw(data_options())]
    small = st.sampled_from(["1", "2", "3", "0", "-1", "1.5", "abc", "10**9"])
    for flag in ("--seeds", "--steps", "--batch-size", "--dataset-size"):
        argv += [flag, draw(small) if draw(st.integers(0, 3)) == 0 else "2"]
    for flag, values in (("--lr", numbers), ("--clip", numbers), ("--bound", numbers),
                         ("--pjap", st.sampled_from(["alpha=2", "alpha=2,eps=1e-3,distance=l1",
                                                     "alpha=nan", "eps=1", "alpha=1,alpha=2",
                                                     "alpha=2,refresh=0", "beta=1", ""])),
                         ("--init", numbers)):
        if draw(st.integers(0, 3)) == 0:
            argv += [flag, draw(values)]
    return [*argv, "--json"]


garbage = st.lists(st.one_of(st.sampled_from(["--json", "--bogus", "-", "--", "-h=1", "--plot",
                                              "--time-budget", "--data", "--mean"]),
                             st.text(max_size=8)), max_size=4)


@st.composite
def cli_argv(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["analyse"] * 4 + ["condition"] * 3 + ["pjap-field"] * 2
                                + ["verify", "garbage"]))
    if kind == "garbage":
        return [draw(st.sampled_from(["analyse", "condition", "pjap-field", "verify", "nope",
                                      ""])), *draw(garbage)]
    argv = draw({"analyse": analyse_argv(), "condition": condition_argv(),
                 "pjap-field": pjap_argv(), "verify": verify_argv()}[kind])
    if draw(st.integers(0, 9)) == 0:  # a stray option somewhere
        argv.insert(draw(st.integers(1, len(argv))),
                    draw(st.sampled_from(["--json", "--bogus", "-", "--", "-h=1", "--plot"])))
    return argv


def check(argv: list[str], outcome: Outcome) -> None:
    """The contract: exit 0, or exit 2 with exactly one line on stderr; never a hang.

    A recording run (``BRUD_FUZZ_RECORD``) writes every outcome and goes on after a failure,
    so that one run lists all of them.
    """
    lines = outcome.err.strip().splitlines()
    if RECORD:
        with open(RECORD, "a") as handle:
            handle.write(json.dumps({
                "argv": argv, "code": outcome.code, "seconds": round(outcome.seconds, 3),
                "max_rss_mb": round(outcome.max_rss_mb, 1), "err_lines": len(lines),
                "err": lines[0][:300] if lines else "",
                "err_last": lines[-1][:300] if lines else ""}) + "\n")
        return
    assert outcome.code is not None, f"hung for {HANG_SECONDS} s: {argv!r}"
    assert outcome.code in (0, 2), f"exit {outcome.code} for {argv!r}:\n{outcome.err[-3000:]}"
    if outcome.code == 2:
        assert len(lines) == 1, f"{len(lines)} stderr lines for {argv!r}:\n{outcome.err[-3000:]}"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # os.fork() in a threaded pytest
@settings(max_examples=EXAMPLES, deadline=None, derandomize=RECORD is None,
          suppress_health_check=list(HealthCheck), database=None)
@given(argv=cli_argv())
def test_cli_exits_cleanly_on_any_input(argv: list[str]) -> None:
    check(argv, run_cli(argv))


@pytest.mark.parametrize("argv", [
    ["analyse", "-x**4*y", "--time-budget", "5"],
    ["analyse", "x*y*1e999"],
    ["analyse", "x**10**10*y"],
    ["analyse", "(x+y)**1000"],
    ["analyse", "x*y + 10**10**5"],
    ["analyse", "x*y*inf"],
    ["condition", "x*y", "--target", "-sqrt(2)", "1"],
    ["analyse", "x*y", "--data", "normal", "--mean", "1e300", "0", "--std", "1", "1"],
])
def test_known_bad_inputs_of_issue_10(argv: list[str]) -> None:
    check(argv, run_cli(argv))


def test_time_budget_bounds_the_whole_command() -> None:
    # (x+y+z)**12 - x**3 y**7 in three agents: far more than 1 s of exact solving on any
    # machine; the command must stop with one line, not print a late answer.
    outcome = run_cli(["analyse", "(x+y+z)**12 - x**3*y**7", "--time-budget", "1"])
    check(["budget"], outcome)
    assert outcome.code == 2 and "--time-budget 1 s spent" in outcome.err


def summarize(path: str) -> str:
    """A Markdown table of a recorded run: outcomes per subcommand, durations and memory."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    table = ["| subcommand | calls | exit 0 | exit 2 (one line) | exit 2, more lines | other "
             "| median s | max s | max MB |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["argv"][0] if r["argv"] else "", []).append(r)
    for name, rs in sorted(groups.items()):
        codes = Counter(r["code"] for r in rs)
        secs = sorted(r["seconds"] for r in rs)
        multi = sum(r["code"] == 2 and r["err_lines"] != 1 for r in rs)
        table.append(f"| {name or '(empty)'} | {len(rs)} | {codes.get(0, 0)} "
                     f"| {codes.get(2, 0) - multi} | {multi} "
                     f"| {len(rs) - codes.get(0, 0) - codes.get(2, 0)} "
                     f"| {secs[len(secs) // 2]:.2f} | {secs[-1]:.1f} "
                     f"| {max(r['max_rss_mb'] for r in rs):.0f} |")
    bad = [r for r in rows if r["code"] not in (0, 2) or (r["code"] == 2
                                                           and r["err_lines"] != 1)]
    table.append("")
    table += [f"FAIL exit {r['code']}: {r['argv']!r}: {r['err_last']}" for r in bad]
    slow = sorted(rows, key=lambda r: -r["seconds"])[:5]
    table.append("")
    table.append("slowest: " + "; ".join(f"{r['seconds']:.1f} s {' '.join(r['argv'])[:80]!r}"
                                         for r in slow))
    return "\n".join(table)


if __name__ == "__main__":
    print(summarize(sys.argv[1]))
