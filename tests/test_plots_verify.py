"""PNG figures of verification runs and online training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brud_analysis.catalogue import sign_agreement, twin_peaks
from brud_analysis.data import Normal
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from verify.harness import verify_game
from verify.plots import plot_online, plot_trajectory_comparison, plot_verification
from verify.polygames import OnlineConfig, make_online_train

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_verification_plot_is_a_png(tmp_path):
    r = verify_game(twin_peaks(), Normal([0.6, 0.6], [0.3, 0.3]), seeds=4, steps=100)
    path = plot_verification(r, twin_peaks(), tmp_path / "sub" / "v.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert not list(path.parent.glob(".*tmp*"))  # atomic write left no temporary file


def test_online_plot_is_a_png(tmp_path):
    cfg = OnlineConfig(buffer_size=32, batch_size=8, steps=60)
    run = make_online_train(sign_agreement(), cfg)(jax.random.key(0), jnp.array([-0.5, 0.6]))
    path = plot_online(sign_agreement(), {32: run, 64: run}, tmp_path / "fig2.png", steps=60)
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_comparison_plot_and_errors(tmp_path):
    paths = np.zeros((2, 5, 2))
    out = plot_trajectory_comparison(twin_peaks(), [("MADDPG", paths), ("PJAP", paths + 0.1)],
                                     tmp_path / "c.png", dataset=np.ones((3, 2)))
    assert out.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(BrudError, match="2 agents"):
        plot_trajectory_comparison(Game("x*y*z"), [("a", np.zeros((1, 3, 3)))],
                                   tmp_path / "d.png")
    with pytest.raises(BrudError, match="PNG"):
        plot_trajectory_comparison(twin_peaks(), [("a", paths)], tmp_path / "d.pdf")
