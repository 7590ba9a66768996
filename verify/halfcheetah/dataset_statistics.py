"""Statistics of an offline dataset: episode returns, sizes, per-agent action statistics.

The numbers OG-MARL's dataset cards show (episode-return mean / std / min / max, number of
episodes and transitions, a return histogram), plus per-agent action means, spreads and the
fraction of saturated actions (|a| = 1 after clipping), which tells noisy from clean data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from verify.halfcheetah.vault import Transitions, environment_name, episode_returns


def dataset_stats(t: Transitions) -> dict[str, Any]:
    """Summary statistics of ``t`` (``return_std`` is the population std, ddof = 0).

    Example:
        >>> T = 4
        >>> t = Transitions(np.zeros((T, 2, 12), np.float32), np.ones((T, 2, 3), np.float32),
        ...                 np.ones((T, 2), np.float32), np.zeros((T, 2), bool),
        ...                 np.array([[0, 0], [1, 1], [0, 0], [1, 1]], bool),
        ...                 np.zeros((T, 17), np.float32))
        >>> s = dataset_stats(t)
        >>> s["episodes"], s["transitions"], s["return_mean"], s["return_std"]
        (2, 4, 2.0, 0.0)
    """
    returns = episode_returns(t)
    total, n_agents, obs_dim = t.observations.shape
    act_dim = t.actions.shape[2]
    actions = t.actions.astype(np.float64)
    per_agent = [
        {
            "agent": i,
            "mean": actions[:, i].mean(axis=0),
            "std": actions[:, i].std(axis=0),
            "min": actions[:, i].min(axis=0),
            "max": actions[:, i].max(axis=0),
            "saturated_fraction": float(np.mean(np.abs(actions[:, i]) >= 1.0)),
        }
        for i in range(n_agents)
    ]
    return {
        "episodes": int(len(returns)),
        "transitions": int(total),
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "return_min": float(returns.min()),
        "return_max": float(returns.max()),
        "episode_length_mean": float(total / len(returns)),
        "n_agents": int(n_agents),
        "obs_dim": int(obs_dim),
        "act_dim": int(act_dim),
        "state_dim": int(t.states.shape[1]),
        "environment": environment_name(obs_dim, act_dim, n_agents),
        "actions": per_agent,
    }


def plot_return_histogram(
    returns: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "episode returns",
    config: dict[str, Any] | None = None,
) -> Path:
    """Histogram of episode ``returns`` as a PNG at ``path`` (written atomically).

    The PNG's ``Description`` text chunk holds the provenance (versions, commit, ``config``) as
    JSON, so the figure says what produced it.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "returns.png"
        >>> plot_return_histogram(np.array([1.0, 2.0, 2.5]), out).stat().st_size > 0
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brud_analysis.figure_files import save_png

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(returns, bins=min(50, max(5, len(returns) // 5)), color="tab:blue", alpha=0.8)
    ax.axvline(float(np.mean(returns)), color="k", ls="--", lw=1,
               label=f"mean {np.mean(returns):.0f}")
    ax.set_xlabel("episode return")
    ax.set_ylabel("episodes")
    ax.set_title(f"{title} ({len(returns)} episodes)")
    ax.legend()
    fig.tight_layout()
    return save_png(fig, path, config, dpi=120)
