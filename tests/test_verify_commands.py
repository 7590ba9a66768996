"""`brud verify` and `brud online` through the CLI."""

import json

import pytest

from brud_analysis.cli import main
from verify.commands import parse_pjap


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
    assert {"predicted", "observed_mean", "tolerance", "passed", "divergent_runs"} <= set(out)
    assert out["predicted"][0]["stable"] is True and len(out["predicted"][0]["point"]) == 2
    assert out["passed"] is True and out["divergent_runs"] == 0
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is True


def test_verify_text_with_pjap_and_plot(capsys, tmp_path):
    png = tmp_path / "traj.png"
    code = main(["verify", "x*y", "--data", "uniform", "--low", "-1", "-1", "--high", "1", "1",
                 "--pjap", "alpha=16,eps=1e-3,distance=l1", "--seeds", "4", "--steps", "200",
                 "--dataset-size", "100", "--plot", str(png)])
    out = capsys.readouterr().out
    assert code == 0 and "verdict:" in out and png.stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["verify", "x*y", "--seeds", "2"], "needs a data model"),
    (["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
      "--pjap", "beta=3"], "bad --pjap"),
    (["verify", "A*x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1"], "A"),
    (["online", "x*y", "--init", "1", "2", "3"], "--init needs 2"),
])
def test_user_errors_exit_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


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
