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


@pytest.fixture
def figures(monkeypatch):
    """Keep the figures the plot functions save, to test what they draw (not only the file)."""
    import verify.plots as plots

    kept = []
    save = plots._save

    def keep(fig, path):
        kept.append(fig)
        fig.canvas.draw()  # layout done before the figure is closed
        import matplotlib.pyplot as plt

        plt.figure(fig.number)  # _save closes it; the Figure object stays inspectable
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    return kept


def test_verification_plot_shows_runs_prediction_and_status(tmp_path, figures):
    r = verify_game(twin_peaks(), Normal([0.6, 0.6], [0.3, 0.3]), seeds=4, steps=100)
    path = plot_verification(r, twin_peaks(), tmp_path / "sub" / "v.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert not list(path.parent.glob(".*tmp*"))  # atomic write left no temporary file
    (fig,) = figures
    ax = fig.axes[0]
    assert ax.get_title().startswith(f"fixed_point: {r.status.upper()}, 4/4 runs finite")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "predicted (stable)" in legend and "data" in legend
    marker = [ln for ln in ax.lines if ln.get_marker() == "X"][0]
    assert np.allclose(marker.get_xydata()[0], r.predicted[0].point)
    reward_axis = fig.axes[1]  # [surface, reward, distance, (colour bar)]
    assert reward_axis.get_title() == "reward over training"
    curve = reward_axis.lines[0].get_ydata()
    # The reward panel is the runs' mean reward, logged at every point of the trajectory.
    assert np.allclose(curve, np.nanmean(r.trajectories.reward, axis=0))


def test_online_plot_draws_every_buffer_size(tmp_path, figures):
    cfg = OnlineConfig(buffer_size=32, batch_size=8, steps=60)
    run = jax.jit(make_online_train(sign_agreement(), cfg))(jax.random.key(0),
                                                          jnp.array([-0.5, 0.6]))
    path = plot_online(sign_agreement(), {32: run, 64: run}, tmp_path / "fig2.png", steps=60)
    assert path.read_bytes()[:8] == PNG_MAGIC
    (fig,) = figures
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert "32" in titles and "64" in titles
    # The policy path is drawn: some line ends at the run's final policy.
    end = np.asarray(run[0].policy)[-1]
    assert any(len(ln.get_xydata()) and np.allclose(ln.get_xydata()[-1], end, atol=1e-6)
               for ax in fig.axes for ln in ax.lines)


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
