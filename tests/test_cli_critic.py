"""``brud analyse --critic``: output, JSON and bad input (one line on stderr, exit 2)."""

from __future__ import annotations

import json

import pytest

from brud_analysis.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


TP = ("analyse", "twin_peaks", "--data", "normal", "--mean", "0.5", "0.5", "--std", "0.5", "0.5")


def test_json_has_critic_weights_field_and_fixed_points(capsys):
    code, out, _ = _run(capsys, *TP, "--critic", "reward", "--cql", "1", "--json",
                        "--time-budget", "60")
    assert code == 0
    result = json.loads(out)
    c = result["critic"]
    assert c["features"] == ["1", "x**2", "x*y", "y**2", "x**2*y**2"]
    assert c["weights_exact"] == ["-163/297", "-67/99", "691/99", "-67/99", "-1508/297"]
    assert c["weights"][2] == pytest.approx(691 / 99) and c["cql_alpha"] == "1"
    assert c["rule"] == "brud"
    assert c["ood"] == {"family": "uniform", "low": [-1.0, -1.0], "high": [1.0, 1.0]}
    # BRUD under this critic is still decoupled: x's component has no y
    assert "y" not in result["critic_field"][0]
    assert [p["stable"] for p in result["critic_fixed_points"]] == [True]
    assert result["brud_fixed_points"][0]["exact"] == ["5/12", "5/12"]  # today's, for contrast


def test_text_output_and_rules(capsys):
    code, out, _ = _run(capsys, *TP, "--critic", "degree=2", "--rule", "joint",
                        "--time-budget", "60")
    assert code == 0
    assert "critic      Q = " in out and "joint       field (" in out


def test_symbolic_alpha_gives_formulas(capsys):
    code, out, _ = _run(capsys, *TP, "--critic", "reward", "--cql", "a", "--json",
                        "--time-budget", "60")
    assert code == 0
    formula = json.loads(out)["critic_fixed_point_formula"]
    assert formula["exact"] is not None and "a" in formula["exact"][0]


@pytest.mark.parametrize("extra", [
    ["--critic", "degree=q"], ["--critic", "x*y,w"], ["--cql", "1"],
    ["--critic", "reward", "--cql", "-1"], ["--critic", "reward", "--ood-std", "0.1"],
    ["--critic", "reward", "--ood", "policy", "--ood-box", "0", "1"],
    ["--critic", "reward", "--ood-box", "1", "0"], ["--critic", "reward", "--cql", "oo"],
])
def test_bad_values_exit_2_with_one_line(capsys, extra):
    code, out, err = _run(capsys, *TP, *extra)
    assert code == 2
    assert err.strip().count("\n") == 0 and err.strip()


def test_critic_needs_data(capsys):
    code, _, err = _run(capsys, "analyse", "x*y", "--critic", "reward")
    assert code == 2 and "--data" in err


def test_singular_gram_is_one_line(capsys):
    code, _, err = _run(capsys, "analyse", "x*y", "--data", "normal", "--mean", "1", "1",
                        "--std", "0", "1", "--critic", "1,x")
    assert code == 2 and "do not determine the critic" in err


@pytest.mark.parametrize("extra", [["--lr", "0.1"], ["--pjap", "alpha=1"], ["--init", "0", "0"],
                                   ["--cql", "a"]])
def test_verify_critic_bad_values_exit_2(capsys, extra):
    code, _, err = _run(capsys, "verify", "x*y", "--data", "normal", "--mean", "1", "1",
                        "--std", "1", "1", "--critic", "reward", *extra)
    assert code == 2 and err.strip() and err.strip().count("\n") == 0


def test_assume_about_a_critic_symbol_is_accepted_and_used(capsys):
    # without --assume the point needs K != -3192/335-ish (the Jacobian's determinant) and its
    # stability is a condition; K >= 0 (a CQL weight) decides both
    code, out, err = _run(capsys, *TP, "--critic", "reward", "--cql", "K", "--json",
                          "--assume", "K>=0")
    assert code == 0, err
    result = json.loads(out)
    formula = result["critic_fixed_point_formula"]
    assert formula["valid_if"] == "True" and formula["stable_if"] == "True"
    assert result["assumptions"] == ["K >= 0"]


def test_assume_simplifies_data_symbol_conditions(capsys):
    # a data std s: the fit needs s != 0 (a note) unless --assume says so
    argv = ("analyse", "twin_peaks", "--data", "normal", "--mean", "0.5", "0.5", "--std", "s",
            "s", "--critic", "reward", "--cql", "1", "--json")
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert any("Gram determinant" in n for n in json.loads(out)["critic_notes"])
    code, out, err = _run(capsys, *argv, "--assume", "s>0")
    assert code == 0, err
    result = json.loads(out)
    assert result["critic_fixed_point_formula"]["stable_if"] == "True"
    assert not any("Gram determinant" in n for n in result["critic_notes"])


def test_assume_about_an_unknown_symbol_is_refused(capsys):
    code, _, err = _run(capsys, *TP, "--critic", "reward", "--cql", "K", "--assume", "Q>0")
    assert code == 2 and "Q" in err and err.strip().count("\n") == 0


def test_assume_with_game_parameters_reports_stationary_points(capsys):
    code, out, err = _run(capsys, "analyse", "twin_peaks(A=A, B=B, C=C)", "--data", "normal",
                          "--mean", "0.5", "0.5", "--std", "0.5", "0.5", "--critic", "reward",
                          "--json", "--assume", "A>0, B>0, C>2*A")
    assert code == 0, err
    result = json.loads(out)
    kinds = [p.get("kind") for p in result["stationary_points"]]
    assert kinds.count("maximum") == 2
    assert result["critic_fixed_point_formula"]["exact"] is not None


PJ = ("pjap-field", "twin_peaks", "--data", "normal", "--mean", "0.5", "-0.25", "--std", "0.5",
      "0.5", "--alpha", "16")


def test_pjap_field_with_a_critic_finds_the_claims_point(capsys):
    # the HalfCheetah claim's row: Twin Peaks, miscoordinated data, policy OOD, CQL 3, PJAP 16
    code, out, err = _run(capsys, *PJ, "--critic", "reward", "--cql", "3", "--ood", "policy",
                          "--json")
    assert code == 0, err
    result = json.loads(out)
    stable = [p["point"] for p in result["fixed_points"] if p["stable"]]
    assert len(stable) == 1 and stable[0] == pytest.approx([0.2603, -0.2060], abs=1e-4)
    assert result["critic"]["cql_alpha"] == "3" and result["critic"]["ood"]["family"] == "policy"


@pytest.mark.parametrize("extra", [["--distance", "l1"], ["--eps", "0.01"],
                                   ["--regulariser", "bc=1"], ["--cql", "1"]])
def test_pjap_field_critic_refusals_are_one_line(capsys, extra):
    argv = [*PJ, *extra] if extra == ["--cql", "1"] else [*PJ, "--critic", "reward", *extra]
    code, _, err = _run(capsys, *argv)
    assert code == 2 and err.strip() and err.strip().count("\n") == 0
