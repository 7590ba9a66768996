"""`brud analyse` / `brud condition`: JSON contract, plots, and one test per user error."""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sympy

from brud_analysis.cli import main
from brud_analysis.cli.options import add_data_options, data_model_from_args
from brud_analysis.data import Empirical, Normal, Uniform
from brud_analysis.game import Game


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_analyse_without_data(capsys):
    out = run_json(capsys, "analyse", "-x**4 - y**4 + 4*x*y")
    assert out["agents"] == ["x", "y"]
    assert out["gradient"] == ["-4*x**3 + 4*y", "4*x - 4*y**3"]
    assert [(p["point"], p["kind"]) for p in out["stationary_points"]] == [
        ([-1.0, -1.0], "maximum"), ([0.0, 0.0], "saddle"), ([1.0, 1.0], "maximum")]
    assert out["stationary_sets"] == []
    assert out["brud_field"] == ["4*E[y] - 4*x**3", "4*E[x] - 4*y**3"]
    assert "brud_fixed_points" not in out


def test_analyse_with_normal_data(capsys):
    out = run_json(capsys, "analyse", "x*y", "--data", "normal", "--mean", "0.3", "-0.2",
                   "--std", "0.5", "0.5")
    assert out["brud_field"] == ["-1/5", "3/10"]
    assert out["brud_fixed_points"] == [] and out["has_maximum"] is False


def test_analyse_line_of_maxima_and_fixed_point(capsys):
    out = run_json(capsys, "analyse", "action_agreement", "--data", "uniform", "--low", "0", "1",
                   "--high", "2", "3")
    assert out["stationary_sets"][0]["equations"] == ["x - y"]
    assert out["brud_fixed_points"] == [
        {"point": [2.0, 1.0], "stable": True, "exact": ["2", "1"],
         "eigenvalues": [[-2.0, 0.0], [-2.0, 0.0]], "reason": None}]


def test_analyse_with_data_file_and_plot(capsys, tmp_path):
    path = tmp_path / "data.npy"
    np.save(path, np.array([[0.5, 0.5], [0.7, 0.3]]))
    png = tmp_path / "fields.png"
    out = run_json(capsys, "analyse", "twin_peaks(A=1, B=4, C=5)", "--data", str(path),
                   "--plot", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (p,) = out["brud_fixed_points"]
    assert p["stable"] is True


def test_analyse_explicit_agents_and_human_output(capsys):
    assert main(["analyse", "b*a - a**2", "--agents", "b,a"]) == 0
    text = capsys.readouterr().out
    assert "agents      b, a" in text and "note: the game has no maximum" in text


def test_condition_json_contract(capsys):
    out = run_json(capsys, "condition", "twin_peaks(A=1, B=4, C=5)", "--target", "0.6124",
                   "0.6124")
    assert out["possible"] is True
    assert [a["agent"] for a in out["per_agent"]] == ["x", "y"]
    ((lo, hi),) = out["per_agent"][0]["mean_intervals"]
    assert lo == pytest.approx(0.4083, abs=2e-3) and hi == pytest.approx(0.6124, abs=2e-3)
    assert out["per_agent"][0]["relations"][0].startswith("std_y = sqrt(")


def test_condition_impossible_and_point_interval(capsys):
    out = run_json(capsys, "condition", "decoupled", "--target", "0", "0")
    assert out["possible"] is False and out["per_agent"][0]["mean_intervals"] == []
    out = run_json(capsys, "condition", "action_agreement", "--target", "1", "-1")
    # x's target 1 needs mean_y = 1; y's target -1 needs mean_x = -1 (any std)
    assert [a["mean_intervals"] for a in out["per_agent"]] == [[[1.0, 1.0]], [[-1.0, -1.0]]]


# --- one test per user error: exit code 2 and a one-line message --------------------------
def assert_user_error(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("expr", ["sin(x)*y", "1/x + y", "x**0.5*y"])
def test_error_non_polynomial(capsys, expr):
    assert_user_error(capsys, ["analyse", expr], "not a polynomial")


def test_error_unparsable(capsys):
    assert_user_error(capsys, ["analyse", "x*(y+"], "cannot parse")


def test_error_unknown_agent(capsys):
    assert_user_error(capsys, ["analyse", "x*y", "--agents", "x,q"], "unknown agent")


def test_error_missing_agent(capsys):
    assert_user_error(capsys, ["analyse", "x*y*z", "--agents", "x,y"], "missing")
    assert_user_error(capsys, ["analyse", "x*y", "--agents", "x,"], "empty agent name")


def test_error_single_agent(capsys):
    assert_user_error(capsys, ["analyse", "x**2 + 3*x"], "at least 2 agents")


def test_error_mismatched_data_lengths(capsys):
    assert_user_error(capsys, ["analyse", "x*y", "--data", "normal", "--mean", "0", "0", "0",
                               "--std", "1", "1"], "mismatched data lengths")


def test_error_negative_std(capsys):
    assert_user_error(capsys, ["analyse", "x*y", "--data", "normal", "--mean", "0", "0",
                               "--std", "1", "-1"], "std must be >= 0")


@pytest.mark.parametrize("content,fragment", [
    ("x,y\n1,nan\n", "NaN"), ("1,inf\n2,3\n", "infinite"), ("", "empty")])
def test_error_bad_data_file(capsys, tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert_user_error(capsys, ["analyse", "x*y", "--data", str(path)], fragment)


def test_error_data_file_with_wrong_columns(capsys, tmp_path):
    path = tmp_path / "three.csv"
    path.write_text("1,2,3\n4,5,6\n")
    assert_user_error(capsys, ["analyse", "x*y", "--data", str(path)], "mismatched data lengths")


def test_error_plot_without_data_and_options_without_data(capsys):
    assert_user_error(capsys, ["analyse", "x*y", "--plot", "a.png"], "--plot needs --data")
    assert_user_error(capsys, ["analyse", "x*y", "--mean", "0", "0"], "needs --data")


def test_error_bad_target(capsys):
    assert_user_error(capsys, ["condition", "x*y", "--target", "1"], "mismatched")
    assert_user_error(capsys, ["condition", "x*y", "--target", "1", "a"], "real numbers")


# --- the shared data-option helpers ----------------------------------------------------------
def _parse(*argv):
    parser = argparse.ArgumentParser()
    add_data_options(parser)
    return parser.parse_args(argv)


def test_data_model_from_args(tmp_path):
    game = Game("x*y")
    assert data_model_from_args(_parse(), game) is None
    assert isinstance(data_model_from_args(
        _parse("--data", "normal", "--mean", "1", "2", "--std", "0", "1"), game), Normal)
    assert isinstance(data_model_from_args(
        _parse("--data", "uniform", "--low", "0", "0", "--high", "1", "1"), game), Uniform)
    path = tmp_path / "d.txt"
    path.write_text("1 2\n3 4\n")
    assert isinstance(data_model_from_args(_parse("--data", str(path)), game), Empirical)


def test_error_non_finite_option_values(capsys):
    assert_user_error(capsys, ["analyse", "x*y", "--data", "normal", "--mean", "nan", "0",
                               "--std", "1", "1"], "finite")


def test_condition_negative_exact_target_via_equals_form(capsys):
    out = run_json(capsys, "condition", "twin_peaks(A=1, B=4, C=5)",
                   "--target=-sqrt(3/8),-sqrt(3/8)")
    assert out["target_exact"] == ["-sqrt(6)/4", "-sqrt(6)/4"]
    assert out["per_agent"][0]["mean_intervals_exact"] == [["-sqrt(6)/4", "-sqrt(6)/6"]]


def test_condition_with_symbolic_parameters(capsys):
    peak = "sqrt((C-2*A)/(2*B))"
    out = run_json(capsys, "condition", "twin_peaks(A=A, B=B, C=C)", "--target", peak, peak)
    assert out["possible"] is None and out["target"] == [None, None]
    assert out["per_agent"][0]["relations"][0].startswith("std_y = sqrt(-A/B")


def test_symbolic_package_never_imports_jax():
    import subprocess
    import sys

    code = ("import sys, brud_analysis.cli.symbolic, brud_analysis.solve, "
            "brud_analysis.conditions, brud_analysis.diagnostics, brud_analysis.strategies, "
            "brud_analysis.plots; print('jax' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


#: The symbolic commands: none may load JAX or the verify package, which the verify and
#: HalfCheetah command modules import in their handlers.
_SYMBOLIC_RUNS = (
    ["analyse", "x*y", "--data", "normal", "--mean", "0.3", "-0.2", "--std", "1", "1", "--json"],
    ["condition", "twin_peaks(A=1, B=4, C=5)", "--target", "sqrt(3/8)", "sqrt(3/8)", "--json"],
    ["pjap-field", "twin_peaks", "--data", "normal", "--mean", "0.5", "-0.25", "--std", "0.5",
     "0.5", "--alpha", "1", "--json"],
)


def _modules_loaded_by(argv: list[str], extra: str = "") -> tuple[int, list[str]]:
    """``brud argv``'s exit code and the JAX and verify modules loaded by the end of its run.

    The whole parser is built (every command module is imported, as ``brud`` does) and the
    handler runs in this process: ``brud`` would run it in a worker under its time budget,
    where an import would not show in this process's ``sys.modules``."""
    code = (f"import sys, contextlib, io, json; {extra}"
            "from brud_analysis.cli import build_parser; "
            f"args = build_parser().parse_args({argv!r}); "
            "out = io.StringIO(); redirect = contextlib.redirect_stdout(out); "
            "redirect.__enter__(); rc = args.handler(args); "
            "redirect.__exit__(None, None, None); "
            "print(json.dumps([rc, sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('jax', 'verify'))]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    rc, loaded = json.loads(result.stdout)
    return rc, loaded


@pytest.mark.parametrize("argv", _SYMBOLIC_RUNS, ids=lambda argv: argv[0])
def test_symbolic_commands_never_import_jax(argv):
    assert _modules_loaded_by(argv) == (0, [])


def test_the_jax_check_sees_an_import():
    # the check above can fail: a command whose run loads JAX is seen
    rc, loaded = _modules_loaded_by(_SYMBOLIC_RUNS[0], extra="import verify.sampling; ")
    assert rc == 0 and {"jax", "verify", "verify.sampling"} <= set(loaded)


def test_error_plot_needs_two_agents(capsys, tmp_path):
    assert_user_error(capsys, ["analyse", "x*y*z", "--data", "normal", "--mean", "0", "0", "0",
                               "--std", "1", "1", "1", "--plot", str(tmp_path / "p.png")],
                      "2-agent games only")


def test_condition_uniform_family_and_unknown_family(capsys):
    out = run_json(capsys, "condition", "twin_peaks(A=1, B=4, C=5)", "--target", "sqrt(3/8)",
                   "sqrt(3/8)", "--family", "uniform")
    assert out["family"] == "uniform"
    assert out["per_agent"][0]["mean_intervals_exact"] == [["sqrt(6)/6", "sqrt(6)/4"]]
    # argparse choices: a usage error, one line and exit code 2 (no usage block)
    assert main(["condition", "x*y", "--target", "1", "1", "--family", "laplace"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "invalid choice: 'laplace'" in line


# ----------------------------------------------------------------- robustness (issue 10)
def test_expression_with_a_leading_minus_is_not_an_option(capsys):
    out = run_json(capsys, "analyse", "-x**4*y")
    assert out["reward"] == "-x**4*y"
    out = run_json(capsys, "condition", "x*y", "--target", "-sqrt(2)", "1")
    assert out["target_exact"] == ["-sqrt(2)", "1"]


@pytest.mark.parametrize("expr, fragment", [
    ("x**10**10*y", "degree can reach 1e+10 (limit 64)"),
    ("(x + y)**1000", "degree can reach 1000 (limit 64)"),
    ("(x + y + z + w)**30", "5456 terms (limit 2000)"),
    ("x*y + 10**10**5", "120412 digits (limit 1000)"),
    ("x*y*" + "9" * 1200, "~1200 digits (limit 1000)"),
    ("*".join(f"a{i}" for i in range(1, 14)), "13 agents (limit 12)"),
    ("x*y*inf", "coefficients must be finite"),
    ("x*y*nan", "coefficients must be finite"),
    ("-" * 3000 + "x*y", "3001 operators (limit 1000)"),
])
def test_limits_are_checked_before_expansion(capsys, expr, fragment):
    assert_user_error(capsys, ["analyse", expr], fragment)


def test_irrational_coefficients_pass_the_input_path():
    g = Game("sqrt(2)*x*y - x**2 - y**2")
    assert g.poly.coeffs()[1] == sympy.sqrt(2)


def test_time_budget_stops_the_whole_command_with_one_line(capsys):
    # exact solving of this 3-agent degree-12 system takes far longer than 1 s anywhere
    assert_user_error(capsys, ["analyse",
         "(x + y + z)**12 - x**3*y**7 + 2*x*y*z**5 - y**4*z", "--time-budget", "1"],
                      "--time-budget 1 s spent before brud analyse finished")


def test_an_unexpected_exception_is_one_line_exit_1_with_a_traceback_file(capsys, monkeypatch):
    import brud_analysis.cli.symbolic as commands

    def broken(*args, **kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(commands, "analyse", broken)
    assert main(["analyse", "x*y"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "internal error" in line and "ZeroDivisionError: simulated bug" in line
    path = line.rsplit("traceback in ", 1)[1].rstrip(")")
    text = open(path).read()
    assert "Traceback" in text and "simulated bug" in text
    os.unlink(path)


@pytest.mark.parametrize("argv", [
    ["analyse", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1", "--plot"],
    ["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1", "--output"],
    ["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1", "--plot"],
    ["online", "x*y", "--plot"],
])
def test_unwritable_output_paths_fail_before_any_work(capsys, tmp_path, argv):
    a_file = tmp_path / "file"
    a_file.write_text("")
    for path, fragment in ((a_file / "out", "is not a directory"),
                           (tmp_path, "it is a directory"),
                           ("/proc/brud-test/out", "cannot write")):
        assert main([*argv, str(path)]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        # refused by the option parser itself: nothing was computed or trained
        assert "error: argument --" in line and fragment in line


def _children(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    return [int(c) for c in open(path).read().split()] if os.path.exists(path) else []


def _alive_in_group(pgid: int) -> list[int]:
    alive = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # (state, ppid, pgrp, ...)
            alive.append(int(stat.split("/")[2]))
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and prctl")
def test_worker_and_its_solver_die_with_a_killed_parent(tmp_path):
    # a 3-agent game whose Groebner basis takes minutes: the solver forks its own worker
    # inside ours (the plainer (x + y + z)**12 - x**3*y**7 is now solved within 3 s)
    proc = subprocess.Popen(
        [sys.executable, "-m", "brud_analysis.cli", "analyse",
         "(x + y + z)**12 - x**3*y**7 + 2*x*y*z**5 - y**4*z",
         "--time-budget", "120"], cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _children(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        (worker,) = _children(proc.pid)
        while len(_alive_in_group(worker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # wait for the solver's own worker (same process group)
        assert len(_alive_in_group(worker)) >= 2
        proc.kill()  # SIGKILL: the parent cannot clean up
        proc.wait()
        deadline = time.monotonic() + 30
        while _alive_in_group(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive_in_group(worker) == []
    finally:
        if proc.poll() is None:
            proc.kill()


def test_worker_memory_cap_is_on_top_of_what_the_caller_already_maps(capsys):
    # A session that loaded JAX maps several GiB before `main` forks its worker; a flat 4 GiB
    # address-space cap then made every allocation fail (exit 1/2 on a valid command).
    import mmap

    reserved = mmap.mmap(-1, 5 * 1024**3)  # address space only: never touched
    try:
        assert main(["condition", "twin_peaks(A=1, B=4, C=5)", "--target", "sqrt(3/8)",
                     "sqrt(3/8)", "--json"]) == 0
    finally:
        reserved.close()
    assert '"possible": true' in capsys.readouterr().out
