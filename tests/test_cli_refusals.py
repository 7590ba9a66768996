"""Requests ``brud`` used to accept silently (or crash on) are refused at once: one line on
stderr naming the reason, exit code 2 (issue 26 items 2 and 7, issue 24 item 4)."""

from __future__ import annotations

import pytest

from brud_analysis.cli import main

NESTED = "(" * 300 + "x*y" + ")" * 300
DIGITS = "1" * 5000


@pytest.mark.parametrize(("argv", "reason"), [
    # a priority floor outside [0, 1): refused before any work (it ran for minutes, then crashed)
    (["pjap-field", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--alpha", "1", "--eps", "2"], "--eps is the priority floor and must lie in [0, 1)"),
    (["pjap-field", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--alpha", "1", "--eps", "1"], "[0, 1), got 1.0"),
    (["pjap-field", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--alpha", "1", "--eps", "nan"], "[0, 1), got nan"),
    # contradictory facts (the origin was then called a "minimum")
    (["analyse", "twin_peaks(A=A, B=4, C=5)", "--assume", "A>0, A<0"],
     "--assume is contradictory: A > 0 cannot hold when A < 0"),
    (["analyse", "twin_peaks(A=A, B=B, C=5)", "--assume", "A>B", "--assume", "B>A"],
     "--assume is contradictory"),
    (["analyse", "twin_peaks(A=A, B=4, C=5)", "--assume", "A**2 < 0"], "false for every"),
    # facts about symbols the problem lacks were ignored
    (["analyse", "x*y", "--assume", "A>0"], "--assume is about A, but the problem has no symbols"),
    (["analyse", "twin_peaks(A=A, B=4, C=5)", "--assume", "Z>0"],
     "--assume is about Z, but the problem's symbols are A"),
    (["pjap-field", "x*y", "--data", "normal", "--mean", "m", "m", "--std", "1", "1",
      "--alpha", "1", "--assume", "s>0"], "--assume is about s"),
    # repeated keywords: the later value silently won
    (["analyse", "twin_peaks(A=1, A=2)"], "twin_peaks gives A twice"),
    (["analyse", "twin_peaks(A=A, B=4, C=5)", "--at", "A=1,A=2"], "--at gives A twice"),
    # a mistyped catalogue name: suggest the catalogue
    (["analyse", "twinpeaks"], "unknown game 'twinpeaks': did you mean twin_peaks?"),
    (["analyse", "Twin_Peaks(C=5)"], "did you mean twin_peaks?"),
    (["condition", "sign_agreemnt", "--target", "1", "1"], "did you mean sign_agreement?"),
    (["analyse", "foo(x, y)"], "calls foo, which is neither a catalogue game (decoupled,"),
    # deep nesting and huge numbers: refused with the limit, not "cannot parse"
    (["analyse", NESTED], "nested 300 parentheses deep (limit 100)"),
    (["analyse", f"x*y + {DIGITS}"], "~5000 digits (limit 1000)"),
    (["analyse", "x*y", "--data", "normal", "--mean", DIGITS, "0", "--std", "1", "1"],
     "--mean: number 1111"),
    (["condition", "twin_peaks", "--target", NESTED.replace("x*y", "1"), "0"],
     "nested 300 parentheses deep"),
])
def test_refused_with_a_reason(argv, reason, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert reason in err, err


def test_online_needs_at_least_a_batch_of_steps(capsys):
    """Fewer environment steps than the batch size ran zero updates, reported as results."""
    assert main(["online", "x*y", "--steps", "10", "--batch-size", "64"]) == 2
    err = capsys.readouterr().err
    assert "--steps 10 is below --batch-size 64" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [
    ["analyse", "twin_peaks(A=A, B=4, C=5)", "--assume", "A>0, A>1"],  # redundant, consistent
    ["analyse", "twin_peaks(A=A, B=4, C=5)", "--assume", "A>=0, A<=1"],
    ["analyse", "twin_peaks(A=1, B=4, C=5)"],
    ["analyse", "sqrt(2)*x*y"],  # a known function is no catalogue name
])
def test_consistent_requests_still_run(argv, capsys):
    assert main(argv) == 0, capsys.readouterr().err


def test_pjap_field_header_without_a_closed_form(capsys):
    """The numeric PJAP path (eps > 0) has no field formula: the header printed the agents
    zipped strictly with an empty field and crashed after the whole computation."""
    from brud_analysis.cli.paper import _print_field_header
    from brud_analysis.game import Game

    _print_field_header(Game("x*y"), {}, "numeric quadrature / finite sum", "data: ...", [],
                        None)
    assert "G_x" not in capsys.readouterr().out


@pytest.mark.parametrize(("facts", "contradictory"), [
    ("A>0, A<1", False), ("A>=1, A<=1", False), ("C>2*A, A>0, C<10", False),
    ("A>B, B>0, A<5", False), ("A!=0, A>-1", False), ("A**2>1, A<0", False),
    ("A>1, A<1", True), ("A>=1, A<1", True), ("A>0, B>A, B<0", True),
    ("A!=0, A>=0, A<=0", True),
])
def test_contradiction_check_is_sound_on_these(facts, contradictory):
    """Consistent facts pass (no false alarm); these contradictions are caught."""
    import argparse

    from brud_analysis.cli.options import assumptions_from_args
    from brud_analysis.errors import BrudError

    args = argparse.Namespace(assume=[facts])
    if contradictory:
        with pytest.raises(BrudError, match="contradictory"):
            assumptions_from_args(args)
    else:
        assert len(assumptions_from_args(args).facts) == facts.count(",") + 1
