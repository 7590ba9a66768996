"""Dataset statistics of a hand-made vault, through the library and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from brud_analysis.cli import main
from verify.halfcheetah.dataset_statistics import dataset_stats, plot_return_histogram
from verify.halfcheetah.vault import Transitions, load_vault, write_vault

# Three episodes of lengths 2, 3, 1 with per-step rewards chosen so the returns are 3, 12, -6.
REWARDS = np.array([1.0, 2.0, 3.0, 4.0, 5.0, -6.0], np.float32)
RETURNS = np.array([3.0, 12.0, -6.0])


def hand_made(tmp_path: Path) -> Path:
    total = len(REWARDS)
    truncations = np.zeros((total, 2), bool)
    truncations[[1, 4, 5]] = True
    actions = np.zeros((total, 2, 3), np.float32)
    actions[:, 0, 0] = [1, -1, 1, -1, 1, -1]  # agent 0, dim 0: mean 0, std 1, all saturated
    actions[:, 1, 2] = [0.5] * total  # agent 1, dim 2: constant 0.5
    data = Transitions(
        observations=np.zeros((total, 2, 12), np.float32),
        actions=actions,
        rewards=np.repeat(REWARDS[:, None], 2, axis=1),
        terminals=np.zeros((total, 2), bool),
        truncations=truncations,
        states=np.zeros((total, 17), np.float32),
    )
    return write_vault(tmp_path / "2halfcheetah.vlt" / "Tiny", data)


def test_stats_of_a_hand_made_vault(tmp_path: Path):
    s = dataset_stats(load_vault(hand_made(tmp_path)))
    assert (s["episodes"], s["transitions"]) == (3, 6)
    assert s["return_mean"] == pytest.approx(RETURNS.mean())
    assert s["return_std"] == pytest.approx(RETURNS.std())  # population std (ddof 0)
    assert (s["return_min"], s["return_max"]) == (-6.0, 12.0)
    assert (s["n_agents"], s["obs_dim"], s["act_dim"], s["state_dim"]) == (2, 12, 3, 17)
    agent0, agent1 = s["actions"]
    np.testing.assert_allclose(agent0["mean"], [0, 0, 0])
    np.testing.assert_allclose(agent0["std"], [1, 0, 0])
    assert agent0["saturated_fraction"] == pytest.approx(1 / 3)  # one of three dims saturated
    np.testing.assert_allclose(agent1["mean"], [0, 0, 0.5])
    assert agent1["saturated_fraction"] == 0.0


def test_cli_stats_json_contract_and_histogram(tmp_path: Path, capsys: pytest.CaptureFixture):
    path = hand_made(tmp_path)
    png = tmp_path / "plots" / "returns.png"
    assert main(["halfcheetah", "stats", str(path), "--json", "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)  # stdout holds only the JSON document
    for key in ("episodes", "transitions", "return_mean", "return_std", "return_min",
                "return_max"):
        assert key in out
    assert out["episodes"] == 3 and out["return_max"] == 12.0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_stats_text_output(tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["halfcheetah", "stats", str(hand_made(tmp_path))]) == 0
    text = capsys.readouterr().out
    assert "episodes     3   transitions 6" in text
    assert "return       3.0 +- 7.3  (min -6.0, max 12.0)" in text


def test_cli_stats_missing_path_exits_2_with_one_line(tmp_path: Path, capsys):
    assert main(["halfcheetah", "stats", str(tmp_path / "nothing.vlt" / "Good")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("brud: error: no vault at") and "\n" not in err


def test_histogram_png_carries_its_provenance(tmp_path: Path):
    from PIL import Image

    out = plot_return_histogram(RETURNS, tmp_path / "h.png", title="tiny", config={"k": 1})
    assert out.read_bytes()[:4] == b"\x89PNG"
    with Image.open(out) as image:
        provenance = json.loads(image.text["Description"])["provenance"]
    assert provenance["config"] == {"k": 1} and "mujoco" in provenance["versions"]
