"""``brud halfcheetah``: datasets from the shipped policies, resume, errors, the issue-6 hook."""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from brud_analysis.cli import main
from verify.halfcheetah import commands
from verify.halfcheetah.vault import Transitions, episode_returns, load_vault


@pytest.fixture(scope="module")
def one_episode_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One episode per shipped policy, recorded once for the whole module."""
    out = tmp_path_factory.mktemp("data")
    assert main(["halfcheetah", "datasets", "--out", str(out), "--episodes", "1"]) == 0
    return out


def test_datasets_writes_good_medium_and_their_concatenation(one_episode_datasets, capsys):
    out = one_episode_datasets
    root = out / "2halfcheetah.vlt"
    assert sorted(p.name for p in root.iterdir()) == ["Good", "GoodMedium", "Medium"]
    good, medium, both = (load_vault(root / n) for n in ("Good", "Medium", "GoodMedium"))
    for field in Transitions._fields:  # GoodMedium is Good then Medium, bit for bit
        np.testing.assert_array_equal(
            getattr(both, field), np.concatenate([getattr(good, field), getattr(medium, field)])
        )
    assert good.observations.shape == (1000, 2, 12)
    # One noisy episode each; the shipped policies are far apart (about 6000 vs 1500), so even
    # a single episode with action noise 0.2 orders them.
    assert episode_returns(good)[0] > episode_returns(medium)[0] + 1000


def test_datasets_rerun_keeps_existing_data_and_reports_json(one_episode_datasets, capsys):
    out = one_episode_datasets
    before = load_vault(out / "2halfcheetah.vlt" / "Good").observations
    assert main(["halfcheetah", "datasets", "--out", str(out), "--episodes", "1", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)["datasets"]
    assert captured.err.count("exists: kept") == 3
    assert result["GoodMedium"]["episodes"] == 2 and result["Good"]["transitions"] == 1000
    np.testing.assert_array_equal(load_vault(out / "2halfcheetah.vlt" / "Good").observations,
                                  before)


def test_datasets_refuses_to_mix_episode_counts(one_episode_datasets, capsys):
    out = one_episode_datasets
    assert main(["halfcheetah", "datasets", "--out", str(out), "--episodes", "2"]) == 2
    assert "exists with 1 episodes, not 2" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--episodes", "0"], "--episodes must be >= 1"),
    (["--noise", "-1"], "--noise must be >= 0"),
    (["--good-policy", "/nonexistent/p.npz"], "no behaviour policy"),
])
def test_datasets_user_errors(tmp_path: Path, capsys, argv: list[str], message: str):
    assert main(["halfcheetah", "datasets", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "2halfcheetah.vlt" / "Good").exists()


def test_experiment_commands_hook_registers_its_subcommands(monkeypatch):
    seen = []
    fake = types.ModuleType("verify.halfcheetah.experiment_commands")

    def register(subparsers):
        seen.append(subparsers)
        subparsers.add_parser("train").set_defaults(handler=lambda args: 0)

    fake.register = register
    monkeypatch.setitem(sys.modules, "verify.halfcheetah.experiment_commands", fake)
    parser = argparse.ArgumentParser(prog="brud")
    commands.register(parser.add_subparsers())
    assert len(seen) == 1
    assert parser.parse_args(["halfcheetah", "train"]).handler(None) == 0


def test_train_behaviour_refuses_too_few_steps(tmp_path: Path, capsys):
    assert main(["halfcheetah", "train-behaviour", "--steps", "100", "--out", str(tmp_path)]) == 2
    assert "--steps must be >= 20000" in capsys.readouterr().err
