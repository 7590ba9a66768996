"""`brud verify` and `brud online` through the CLI."""

import json

import pytest

from brud_analysis.cli import main
from brud_analysis.cli.verify import parse_pjap


def _json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_verify_json_contract(capsys, tmp_path):
    code, out = _json(capsys, [
        "verify", "twin_peaks(A=1, B=4, C=5)", "--data", "normal", "--mean", "0.6124", "0.6124",
        "--std", "0.3", "0.3", "--seeds", "8", "--steps", "400", "--lr", "0.02",
        "--dataset-size", "300", "--json", "--output", str(tmp_path / "r.json")])
    assert code == 0
    assert {"status", "reasons", "predicted", "observed_mean", "tolerance", "passed",
            "divergent_runs", "unassigned_runs"} <= set(out)
    assert out["predicted"][0]["stable"] is True and len(out["predicted"][0]["point"]) == 2
    assert out["status"] == "passed" and out["passed"] is True and out["divergent_runs"] == 0
    assert isinstance(out["tolerance"], float) and 0 < out["tolerance"] < 0.05
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["status"] == "passed" and saved["provenance"]["config"]["seeds"] == 8
    assert {"commit", "versions", "argv"} <= set(saved["provenance"])


def test_all_runs_diverging_is_a_visible_pass(capsys):
    # lr*h = 2.2 for this linear field: divergence is predicted, and every run diverges.
    argv = ["verify", "-(x - y)**2", "--data", "normal", "--mean", "0.5", "-0.5", "--std", "0.3",
            "0.3", "--seeds", "8", "--steps", "100", "--lr", "1.1"]
    code, out = _json(capsys, [*argv, "--json"])
    assert code == 0 and out["predicted"] and out["predicted"][0]["stable"] is False
    assert out["status"] == "passed" and out["divergent_runs"] == 8
    assert out["compared_points"] == 0 and out["verdict"] == "passed (all runs diverge, as " \
        "predicted)"
    assert "tolerance" not in out  # nothing was compared within a tolerance
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "verdict: PASSED (all runs diverge, as predicted)"


def test_verify_json_failed_and_inconclusive_still_exit_0(capsys, monkeypatch):
    import verify.harness as harness
    from verify.polygames import brud_gradient

    def half_step(reward, theta, rows, weights):
        return 0.5 * brud_gradient(reward, theta, rows, weights)

    real = harness.verify_game
    monkeypatch.setattr(harness, "verify_game",
                        lambda *a, **k: real(*a, **{**k, "gradient": half_step}))
    code, out = _json(capsys, [
        "verify", "x*y", "--data", "normal", "--mean", "0.5", "-0.3", "--std", "0.5", "0.5",
        "--seeds", "16", "--steps", "300", "--json"])
    assert code == 0 and out["status"] == "failed" and out["passed"] is False
    assert out["verdict"] == "failed" and out["compared_points"] > 0
    monkeypatch.setattr(harness, "verify_game", real)
    # A period-2 orbit cannot be logged at one phase with an odd number of steps.
    code, out = _json(capsys, [
        "verify", "-(x^2 - 1)^2 - (y^2 - 1)^2 + x*y", "--data", "normal", "--mean", "0.2",
        "-0.1", "--std", "0.5", "0.5", "--seeds", "8", "--steps", "401", "--lr", "0.28",
        "--dataset-size", "300", "--init", "0.9", "-0.9", "--json"])
    assert code == 0 and out["status"] == "inconclusive" and out["passed"] is False
    assert any("odd number of steps" in r for r in out["reasons"])


def test_verify_text_with_pjap_and_plot(capsys, tmp_path):
    png = tmp_path / "traj.png"
    # (x*y on uniform data used to pass in drift mode because the multi-start search missed
    # the PJAP field's stable zero near (1.22, -0.42); the certified search lists it, and 200
    # steps at lr 0.01 do not reach it: inconclusive. Twin Peaks settles within the steps.)
    code = main(["verify", "twin_peaks", "--data", "normal", "--mean", "0.6", "0.6", "--std",
                 "0.4", "0.4", "--pjap", "alpha=16,eps=1e-3,distance=l1", "--seeds", "16",
                 "--steps", "200", "--lr", "0.05", "--dataset-size", "100", "--plot", str(png)])
    out = capsys.readouterr().out
    assert code == 0 and "verdict: PASSED" in out.splitlines()[-2]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_verify_bad_output_path_fails_before_training(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
                 "--steps", "100000000", "--output", str(blocker / "r.json")])
    err = capsys.readouterr().err
    assert code == 2 and "not a directory" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["verify", "x*y", "--seeds", "2"], "needs a data model"),
    (["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--pjap", "beta=3"], "bad --pjap"),
    (["verify", "A*x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1"], "A"),
    (["online", "x*y", "--init", "1", "2", "3"], "--init needs 2"),
    # non-finite numbers: --lr inf used to train nothing and end "verdict: PASSED"
    (["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--lr", "inf"], "finite"),
    (["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--bound", "inf"], "finite"),
    (["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--pjap", "alpha=1e400"], "finite"),
    (["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--init", "0", "nan"], "finite"),
    (["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--pjap", ""], "--pjap is empty"),
])
def test_user_errors_exit_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_pjap_option_parsing():
    cfg = parse_pjap("alpha=4, eps=0, distance=l2, exponent=0.5, refresh=32, importance=true")
    assert (cfg.alpha, cfg.eps, cfg.distance, cfg.exponent, cfg.refresh,
            cfg.importance_weights) == (4.0, 0.0, "l2", 0.5, 32, True)


def test_online_json(capsys):
    code, out = _json(capsys, ["online", "x*y", "--buffer-sizes", "32", "256", "--steps", "300",
                               "--batch-size", "16", "--seeds", "2", "--json"])
    assert code == 0 and [r["buffer_size"] for r in out["results"]] == [32, 256]
    # Bigger buffer, staler minibatches: larger sample-to-policy distance (paper Fig. 2).
    assert out["results"][1]["mean_distance"] > out["results"][0]["mean_distance"]
