"""Figures of training runs (paper Figs. 2-5 style), written as PNG with matplotlib (Agg).

* :func:`plot_verification`: trajectories over the reward surface with start/end markers, the
  dataset and the predicted fixed points; reward and sample-to-policy distance over training.
* :func:`plot_online`: paper Fig. 2: per buffer size, the trajectory, the reward over training and
  the final buffer contents.

Only two-agent games can be drawn over the reward surface.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from brud_analysis.errors import BrudError
from brud_analysis.game import Game


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _require_two_agents(game: Game) -> None:
    if game.n_agents != 2:
        raise BrudError(f"plots over the reward surface need 2 agents, the game has "
                        f"{game.n_agents} ({', '.join(game.agent_names)})")


def _limits(*arrays: np.ndarray | None, pad: float = 0.1) -> tuple[float, float, float, float]:
    pts = np.concatenate([np.asarray(a, float).reshape(-1, 2) for a in arrays if a is not None
                          and np.size(a)])
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, 1e-3)
    lo, hi = lo - pad * span, hi + pad * span
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def draw_reward_surface(ax, game: Game, limits: tuple[float, float, float, float],
                        resolution: int = 120) -> None:
    """Filled contours of ``R`` over ``limits = (x0, x1, y0, y1)`` on a matplotlib axis.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> fig, ax = _pyplot().subplots()
        >>> draw_reward_surface(ax, twin_peaks(), (-1, 1, -1, 1), resolution=10)
    """
    _require_two_agents(game)
    x0, x1, y0, y1 = limits
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    z = game.numeric_reward()(np.stack([gx, gy], axis=-1))
    # Polynomials can fall off steeply far out. When the deep valleys dominate the range
    # (median near the top), space the levels geometrically below the top so the structure
    # near the peaks stays visible; otherwise plain linear levels.
    from matplotlib.colors import BoundaryNorm

    top, span = float(z.max()), float(z.max() - z.min())
    levels: np.ndarray | int  # explicit band edges, or a number of linear levels
    norm: BoundaryNorm | None
    if span > 0 and (top - float(np.median(z))) < 0.2 * span:
        levels = np.concatenate([top - np.geomspace(span, span * 1e-4, 32), [top]])
        norm = BoundaryNorm(levels, 256)  # one even colour step per band
    else:
        levels, norm = 30, None
    cs = ax.contourf(gx, gy, z, levels=levels, cmap="viridis", norm=norm, alpha=0.85)
    ax.figure.colorbar(cs, ax=ax, label="reward")
    ax.set_xlabel(f"action {game.agent_names[0]}")
    ax.set_ylabel(f"action {game.agent_names[1]}")


def draw_trajectories(ax, policies: np.ndarray, *, max_runs: int = 16, color: str = "white",
                      label: str | None = None, markers: bool = True) -> None:
    """Policy paths ``(S, T, 2)`` with start (circle) and end (star) markers (``markers=False``:
    paths only, for callers that mark starts and ends per method themselves).

    Example:
        >>> fig, ax = _pyplot().subplots()
        >>> draw_trajectories(ax, np.zeros((2, 5, 2)))
    """
    policies = np.asarray(policies, float)
    if policies.ndim == 2:
        policies = policies[None]
    for k, path in enumerate(policies[:max_runs]):
        finite = np.all(np.isfinite(path), axis=1)
        path = path[finite]
        if not len(path):
            continue
        ax.plot(path[:, 0], path[:, 1], color=color, lw=1.0, alpha=0.8,
                label=label if k == 0 else None)
        if markers:
            ax.plot(*path[0], "o", color="tab:orange", ms=5, label="start" if k == 0 else None)
            ax.plot(*path[-1], "*", color="tab:red", ms=10, label="end" if k == 0 else None)


def _band(ax, values: np.ndarray, ylabel: str, steps: int, color: str = "tab:blue",
          label: str | None = None) -> None:
    values = np.asarray(values, float)
    if values.ndim == 1:
        values = values[None]
    x = np.linspace(0, steps, values.shape[1])
    mean = np.nanmean(values, axis=0)
    ax.plot(x, mean, color=color, label=label)
    if values.shape[0] > 1:
        lo, hi = np.nanpercentile(values, [10, 90], axis=0)
        ax.fill_between(x, lo, hi, color=color, alpha=0.25)
    ax.set_xlabel("update")
    ax.set_ylabel(ylabel)


def plot_verification(result, game: Game, path: str | Path, *, max_runs: int = 16) -> Path:
    """Three panels for a :class:`verify.harness.VerificationResult`; returns the PNG path.

    Example:
        >>> import tempfile, pathlib
        >>> from brud_analysis.catalogue import twin_peaks
        >>> from brud_analysis.data import Normal
        >>> from verify.harness import verify_game
        >>> r = verify_game(twin_peaks(), Normal([0.6, 0.6], [0.3, 0.3]), seeds=8, steps=400,
        ...                 lr=0.05)
        >>> p = plot_verification(r, twin_peaks(), pathlib.Path(tempfile.mkdtemp()) / "v.png")
        >>> p.stat().st_size > 0
        True
    """
    _require_two_agents(game)
    plt = _pyplot()
    traj = result.trajectories
    steps = int(result.details.get("steps", traj.policy.shape[1] - 1))
    keep = result.basin_of_run != -2
    policies = traj.policy[keep] if keep.any() else traj.policy[:0]
    predicted = np.array([p.point for p in result.predicted], float).reshape(-1, 2)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    limits = _limits(policies[:max_runs], predicted, result.dataset)
    draw_reward_surface(axes[0], game, limits)
    data = result.dataset
    axes[0].scatter(data[:, 0], data[:, 1], s=3, c="lightgrey", alpha=0.4, label="data")
    draw_trajectories(axes[0], policies, max_runs=max_runs)
    for p in result.predicted:
        axes[0].plot(*p.point, "X", ms=11, mec="black",
                     color="tab:green" if p.stable else "tab:grey",
                     label="predicted (stable)" if p.stable else "predicted (unstable)")
    for orbit in getattr(result, "orbits", []):
        a, b = (np.asarray(v, float) for v in orbit["points"])
        axes[0].plot([a[0], b[0]], [a[1], b[1]], "o--", ms=7, mec="black", color="tab:orange",
                     label="predicted period-2 orbit")
    axes[0].set_xlim(limits[:2])
    axes[0].set_ylim(limits[2:])
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    axes[0].legend(unique.values(), unique.keys(), fontsize=7, loc="best")
    status = getattr(result, "status", "passed" if result.passed else "failed")
    axes[0].set_title(f"{result.mode}: {status.upper()}, {int(keep.sum())}/{len(keep)} runs "
                      "finite")
    _band(axes[1], traj.reward[keep], "reward R(theta)", steps)
    axes[1].set_title("reward over training")
    _band(axes[2], traj.distance[keep], "mean sample-to-policy distance", steps,
          color="tab:purple")
    axes[2].set_title("distance between sampled data and policy")
    fig.tight_layout()
    return _save(fig, path)


def plot_online(game: Game, runs: Mapping[int, tuple], path: str | Path, *, steps: int) -> Path:
    """Paper Fig. 2: one column per buffer size ``K``: trajectory, reward, final buffer.

    ``runs[K] = (Trajectory of one run, final buffer (K, 2))`` as numpy arrays.

    Example:
        >>> import tempfile, pathlib, jax, jax.numpy as jnp
        >>> from brud_analysis.catalogue import sign_agreement
        >>> from verify.polygames import OnlineConfig, make_online_train
        >>> cfg = OnlineConfig(buffer_size=16, batch_size=8, steps=50)
        >>> run = make_online_train(sign_agreement(), cfg)(jax.random.key(0), jnp.zeros(2))
        >>> p = plot_online(sign_agreement(), {16: run}, pathlib.Path(tempfile.mkdtemp()) / "o.png",
        ...                 steps=50)
        >>> p.suffix
        '.png'
    """
    _require_two_agents(game)
    plt = _pyplot()
    sizes = sorted(runs)
    fig, axes = plt.subplots(3, len(sizes), figsize=(4.2 * len(sizes), 11), squeeze=False)
    for col, size in enumerate(sizes):
        traj, buffer = runs[size]
        policy = np.asarray(traj.policy, float)
        buffer = np.asarray(buffer, float)
        buffer = buffer[np.all(np.isfinite(buffer), axis=1)]
        limits = _limits(policy, buffer, np.array([[-1.0, -1.0], [1.0, 1.0]]), pad=0.05)
        ax = axes[0, col]
        draw_reward_surface(ax, game, limits)
        draw_trajectories(ax, policy, label="trajectory")
        ax.set_title(f"Buffer size {size}")
        ax.legend(fontsize=7, loc="lower left")
        _band(axes[1, col], np.asarray(traj.reward), "reward", steps)
        axes[1, col].set_xlabel("environment step")
        ax = axes[2, col]
        if len(buffer):
            # FIFO ring: step t went to slot t % K, so a full buffer's age (in environment
            # steps) is (last slot - slot) mod K; older (staler) data is darker.
            raw = np.asarray(runs[size][1], float)
            filled = np.all(np.isfinite(raw), axis=1)
            last = (steps - 1) % len(raw)
            age = ((last - np.arange(len(raw))) % len(raw))[filled]
            pts = ax.scatter(buffer[:, 0], buffer[:, 1], c=age, cmap="viridis_r", s=6,
                             alpha=0.7, label="buffer (colour: age)")
            fig.colorbar(pts, ax=ax, label="age (environment steps)")
            # A minibatch as the trainer draws it: uniform over the buffer (seeded, shown
            # for illustration; the size is the trainer's batch if given).
            batch = min(len(buffer), int(getattr(traj, "batch_size", 32) or 32))
            chosen = np.random.default_rng(0).integers(0, len(buffer), batch)
            ax.plot(buffer[chosen, 0], buffer[chosen, 1], "x", color="tab:red", ms=6,
                    label=f"{batch} samples chosen for training")
        ax.plot(*policy[-1], "*", color="gold", mec="black", ms=13, label="end policy")
        ax.set_xlim(limits[:2])
        ax.set_ylim(limits[2:])
        ax.set_xlabel(f"action {game.agent_names[0]}")
        ax.set_ylabel(f"action {game.agent_names[1]}")
        ax.set_title("final buffer state")
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return _save(fig, path)


def plot_trajectory_comparison(game: Game, labelled: Sequence[tuple[str, np.ndarray]],
                               path: str | Path, dataset: np.ndarray | None = None) -> Path:
    """Several sets of paths (e.g. MADDPG vs MADDPG+PJAP, paper Fig. 5) on one surface.

    Example:
        >>> import tempfile, pathlib
        >>> from brud_analysis.catalogue import twin_peaks
        >>> p = plot_trajectory_comparison(twin_peaks(), [("a", np.zeros((1, 3, 2)))],
        ...                                pathlib.Path(tempfile.mkdtemp()) / "c.png")
        >>> p.exists()
        True
    """
    _require_two_agents(game)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    limits = _limits(*[p for _, p in labelled], dataset, np.array([[-1.0, -1.0], [1.0, 1.0]]))
    draw_reward_surface(ax, game, limits)
    if dataset is not None:
        ax.scatter(dataset[:, 0], dataset[:, 1], s=3, c="lightgrey", alpha=0.4, label="data")
    colors = ["white", "tab:pink", "tab:cyan", "black"]
    for k, (label, paths) in enumerate(labelled):
        draw_trajectories(ax, paths, color=colors[k % len(colors)], label=label)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower left")
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() != ".png":
        plt.close(fig)
        raise BrudError(f"plots are written as PNG: give a path ending in .png, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    from brud_analysis.figure_files import save_png

    return save_png(fig, path, {"figure": path.name}, dpi=110)  # atomic, with provenance
