"""``brud halfcheetah``: datasets from the shipped policies, provenance and refusal to mix
settings, combine, one-line errors, and the explicit wiring of ``train`` / ``report``."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from brud_analysis.cli import halfcheetah as commands
from brud_analysis.cli import main
from verify.halfcheetah.vault import (
    Transitions,
    episode_returns,
    load_vault,
    vault_metadata,
    write_vault,
)


@pytest.fixture(scope="module")
def one_episode_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One episode per shipped policy, recorded once for the whole module (do not modify)."""
    out = tmp_path_factory.mktemp("data")
    assert main(["halfcheetah", "datasets", "--out", str(out), "--episodes", "1"]) == 0
    return out


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("brud: error: ") and "\n" not in err, err
    return err


def test_datasets_writes_good_medium_and_their_concatenation(one_episode_datasets):
    root = one_episode_datasets / "2halfcheetah.vlt"
    assert sorted(p.name for p in root.iterdir()) == ["Good", "GoodMedium", "Medium"]
    good, medium, both = (load_vault(root / n) for n in ("Good", "Medium", "GoodMedium"))
    for field in Transitions._fields:  # GoodMedium is Good then Medium, bit for bit
        np.testing.assert_array_equal(
            getattr(both, field), np.concatenate([getattr(good, field), getattr(medium, field)])
        )
    assert good.observations.shape == (1000, 2, 12)
    # One noisy episode each; the shipped policies are far apart (about 6000 vs 1700), so even
    # a single episode with action noise 0.2 orders them.
    assert episode_returns(good)[0] > episode_returns(medium)[0] + 1000


def test_datasets_record_their_settings_and_versions(one_episode_datasets):
    root = one_episode_datasets / "2halfcheetah.vlt"
    good = vault_metadata(root / "Good")["provenance"]
    assert good["config"]["dataset"] == "Good" and good["config"]["policy"] == "good"
    assert (good["config"]["episodes"], good["config"]["noise"], good["config"]["seed"]) == (
        1, 0.2, 0)
    assert len(good["config"]["policy_sha256"]) == 64
    assert good["versions"]["mujoco"] is not None and "commit" in good
    medium = vault_metadata(root / "Medium")["provenance"]["config"]
    assert medium["reset_seed"] == commands.MEDIUM_SEED_OFFSET
    both = vault_metadata(root / "GoodMedium")
    assert both["provenance"]["config"]["sources"] == [good["config"], medium]
    assert [s["path"] for s in both["sources"]] == [str(root / "Good"), str(root / "Medium")]


def test_datasets_rerun_keeps_existing_data_and_reports_json(one_episode_datasets, capsys):
    out = one_episode_datasets
    before = load_vault(out / "2halfcheetah.vlt" / "Good").observations
    assert main(["halfcheetah", "datasets", "--out", str(out), "--episodes", "1", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)["datasets"]
    assert captured.err.count("exists with the same settings: kept") == 3
    assert result["GoodMedium"]["episodes"] == 2 and result["Good"]["transitions"] == 1000
    np.testing.assert_array_equal(load_vault(out / "2halfcheetah.vlt" / "Good").observations,
                                  before)


@pytest.mark.parametrize("argv, message", [
    (["--episodes", "2"], "Good was recorded with episodes 1 (requested 2)"),
    (["--noise", "0.1"], "Good was recorded with noise 0.2 (requested 0.1)"),
    (["--seed", "3"], "Good was recorded with reset_seed 0 (requested 3), seed 0 (requested 3)"),
    (["--medium-policy", "good"], "Medium was recorded with another policy file"),
])
def test_datasets_refuse_to_reuse_data_recorded_with_other_settings(
    one_episode_datasets, capsys, argv: list[str], message: str
):
    out = one_episode_datasets
    meta = (out / "2halfcheetah.vlt" / "Good" / "metadata.json").read_text()
    assert main(["halfcheetah", "datasets", "--out", str(out), "--episodes", "1", *argv]) == 2
    err = one_line_error(capsys)
    assert message in err and "--force to re-record it" in err
    assert (out / "2halfcheetah.vlt" / "Good" / "metadata.json").read_text() == meta


def test_the_same_policy_file_given_by_path_is_the_same_setting(one_episode_datasets, capsys):
    from verify.halfcheetah.behaviour import policy_path

    out = one_episode_datasets
    assert main(["halfcheetah", "datasets", "--out", str(out), "--episodes", "1",
                 "--good-policy", str(policy_path("good"))]) == 0
    assert capsys.readouterr().err.count("kept") == 3


def test_force_re_records_the_datasets_whose_settings_differ(one_episode_datasets, tmp_path,
                                                             capsys):
    out = tmp_path / "copy"
    shutil.copytree(one_episode_datasets, out)
    medium_before = load_vault(out / "2halfcheetah.vlt" / "Medium")
    assert main(["halfcheetah", "datasets", "--out", str(out), "--episodes", "1",
                 "--noise", "0.0", "--force"]) == 0
    err = capsys.readouterr().err
    assert err.count("wrote") == 3
    root = out / "2halfcheetah.vlt"
    assert vault_metadata(root / "Good")["provenance"]["config"]["noise"] == 0.0
    assert not np.array_equal(load_vault(root / "Medium").actions, medium_before.actions)
    assert sorted(p.name for p in root.iterdir()) == ["Good", "GoodMedium", "Medium"]


def test_a_dataset_without_recorded_settings_is_not_reused(tmp_path: Path, capsys):
    data = Transitions(np.zeros((2, 2, 12), np.float32), np.zeros((2, 2, 3), np.float32),
                       np.zeros((2, 2), np.float32), np.zeros((2, 2), bool),
                       np.ones((2, 2), bool), np.zeros((2, 17), np.float32))
    write_vault(tmp_path / "2halfcheetah.vlt" / "Good", data)
    assert main(["halfcheetah", "datasets", "--out", str(tmp_path), "--episodes", "1"]) == 2
    assert "Good records no settings" in one_line_error(capsys)
    assert not (tmp_path / "2halfcheetah.vlt" / "Medium").exists()


@pytest.mark.parametrize("argv, message", [
    (["--episodes", "0"], "--episodes must be in [1, 10000]"),
    (["--episodes", "99999999999"], "--episodes must be in [1, 10000]"),
    (["--seed", "-1"], "--seed must be in [0, "),
    (["--noise", "-1"], "--noise must be a finite number >= 0"),
    (["--noise", "nan"], "--noise must be a finite number >= 0"),
    (["--good-policy", "/nonexistent/p.npz"], "no behaviour policy"),
])
def test_datasets_user_errors(tmp_path: Path, capsys, argv: list[str], message: str):
    assert main(["halfcheetah", "datasets", "--out", str(tmp_path), *argv]) == 2
    assert message in one_line_error(capsys)
    assert not (tmp_path / "2halfcheetah.vlt").exists()


def test_datasets_refuse_an_unwritable_out_before_recording(tmp_path: Path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["halfcheetah", "datasets", "--out", str(tmp_path / "file"), "--episodes",
                 "1"]) == 2
    assert "not a directory" in one_line_error(capsys)


def test_a_damaged_policy_file_is_a_user_error(tmp_path: Path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    assert main(["halfcheetah", "datasets", "--out", str(tmp_path), "--good-policy",
                 str(bad)]) == 2
    assert "is not a behaviour policy" in one_line_error(capsys)


def test_combine_cli_builds_good_medium_and_refuses_to_overwrite(one_episode_datasets, tmp_path,
                                                                 capsys):
    root = one_episode_datasets / "2halfcheetah.vlt"
    out = tmp_path / "2halfcheetah.vlt" / "GoodMedium"
    argv = ["halfcheetah", "combine", str(root / "Good"), str(root / "Medium"), "--out",
            str(out), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["transitions"] == 2000
    expected, got = load_vault(root / "GoodMedium"), load_vault(out)
    for field in Transitions._fields:
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field))
    assert vault_metadata(out)["provenance"]["config"]["command"] == "combine"
    assert main(argv) == 2
    assert "already exists" in one_line_error(capsys)
    assert main([*argv, "--force"]) == 0


def test_stats_of_a_damaged_vault_and_an_unwritable_plot_are_one_line(one_episode_datasets,
                                                                     tmp_path, capsys):
    good = one_episode_datasets / "2halfcheetah.vlt" / "Good"
    (tmp_path / "file").write_text("")
    assert main(["halfcheetah", "stats", str(good), "--plot", str(tmp_path / "file" / "h.png")]
                ) == 2
    assert "not a directory" in one_line_error(capsys)
    damaged = tmp_path / "2halfcheetah.vlt" / "Good"
    shutil.copytree(good, damaged)
    (damaged / "metadata.json").write_text((damaged / "metadata.json").read_text()[:40])
    assert main(["halfcheetah", "stats", str(damaged)]) == 2
    assert "unreadable vault metadata" in one_line_error(capsys)


@pytest.mark.parametrize("name", ["datasets", "combine", "stats", "train-behaviour", "train",
                                  "report"])
def test_every_subcommand_is_wired_explicitly(name: str, capsys):
    parser = argparse.ArgumentParser(prog="brud")
    commands.register(parser.add_subparsers())
    with pytest.raises(SystemExit) as exit_:  # an unknown subcommand would exit 2
        parser.parse_args(["halfcheetah", name, "--help"])
    assert exit_.value.code == 0
    assert f"brud halfcheetah {name}" in capsys.readouterr().out


def test_the_command_modules_import_no_heavy_library():
    code = ("import sys, brud_analysis.cli.halfcheetah; "
            "print([m for m in ('jax', 'mujoco', 'flashbax', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1]).stdout
    assert out.strip() == "[]"


def test_train_behaviour_refuses_too_few_steps(tmp_path: Path, capsys):
    assert main(["halfcheetah", "train-behaviour", "--steps", "100", "--out", str(tmp_path)]) == 2
    assert "--steps must be >= 20000" in one_line_error(capsys)
