"""Regenerate paper Figs. 1-5 as PNGs from the same cached runs the claims checked.

Each ``figN(ctx)`` returns the written path. Matplotlib runs headless (Agg); the reward surfaces
and trajectory markers come from :mod:`verify.plots`.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Literal

import numpy as np

from brud_analysis.catalogue import sign_agreement, twin_peaks
from paper_checks.claims import Context


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    from brud_analysis.figure_files import save_png

    return save_png(fig, path, {"figure": path.stem, "source": "brud paper-checks"}, dpi=90)


def _one_per_init(policies: np.ndarray, n_inits: int) -> np.ndarray:
    """Runs are stored init-major (each init repeated): pick one run per initialisation."""
    return policies[:: max(1, len(policies) // n_inits)][:n_inits]


def _box() -> tuple[float, float, float, float]:
    return (-1.0, 1.0, -1.0, 1.0)


def fig1(ctx: Context) -> Path:
    """Fig. 1: one BRUD step on an opposite-quadrant vs a same-quadrant data point."""
    from verify import plots
    plt = _pyplot()
    game = sign_agreement()
    theta = np.array([-0.4, 0.6])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, (label, point) in zip(axes, (("opposite quadrant", (0.5, -0.3)),
                                         ("same quadrant", (-0.5, 0.3))), strict=True):
        plots.draw_reward_surface(ax, game, _box())
        step = np.array([point[1], point[0]])  # BRUD: (a_y, a_x) of the data point
        grad = np.array([theta[1], theta[0]])
        ax.plot(*point, "s", color="tab:red", ms=9, label="data point a(t)")
        ax.plot(*theta, "o", color="white", mec="black", ms=9, label="policy theta")
        ax.annotate("", theta + 0.5 * step, theta,
                    arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 2})
        ax.annotate("", theta + 0.5 * grad, theta,
                    arrowprops={"arrowstyle": "->", "color": "white", "lw": 2, "ls": "--"})
        ax.plot([], [], color="tab:red", lw=2, label="BRUD step")
        ax.plot([], [], color="white", lw=2, ls="--", label="grad R")
        ax.set_title(f"R = a_x a_y: data point in the {label}")
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return _save(fig, ctx.out_dir / "fig1_single_data_point.png")


def fig2(ctx: Context) -> Path:
    """Fig. 2: online MADDPG per buffer size: trajectory, reward, final buffer (seed 0)."""
    from paper_checks.online_buffer import fig2_runs
    from verify import plots

    runs = fig2_runs(ctx)
    first = {k: (SimpleNamespace(policy=r["policy"][0], reward=r["reward"][0],
                                 distance=r["distance"][0]), r["buffer"][0])
             for k, r in runs.items()}
    some = runs[next(iter(runs))]
    steps = (some["policy"].shape[1] - 1) * some["log_every"]
    path = ctx.out_dir / "fig2_buffer_size.png"
    return plots.plot_online(sign_agreement(), first, path, steps=steps)


def fig3(ctx: Context) -> Path:
    """Fig. 3: uniform dataset, true vs induced field, offline trajectories."""
    from paper_checks.sec3_brud import fig3_dataset, fig3_runs
    from verify import plots

    plt = _pyplot()
    game = sign_agreement()
    data = fig3_dataset()
    run, _, _ = fig3_runs(ctx)
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.4))
    axes[0].scatter(data[:, 0], data[:, 1], s=4, alpha=0.5)
    mean = data.mean(axis=0)
    axes[0].set_title(f"(a) dataset, mean = ({mean[0]:.2f}, {mean[1]:.2f})")
    axes[0].set_aspect("equal")
    gx, gy = np.meshgrid(np.linspace(-1, 1, 11), np.linspace(-1, 1, 11))
    fields = (("(b) true field grad R", gy, gx),
              ("(b) induced field grad J", np.full_like(gx, mean[1]), np.full_like(gy, mean[0])))
    # The paper's action box: the trained policy is projected onto [-1, 1]^2 (fig3_runs).
    box = (-1.05, 1.05, -1.05, 1.05)
    for ax, (title, u, v) in zip(axes[1:3], fields, strict=True):
        plots.draw_reward_surface(ax, game, box)
        ax.quiver(gx, gy, u, v, color="white")
        ax.set_title(title)
    plots.draw_reward_surface(axes[3], game, box)
    plots.draw_trajectories(axes[3], run["policy"], max_runs=len(run["policy"]), markers=False,
                            label="BRUD runs")
    starts = run["policy"][:, 0]
    ends = run["policy"][:, -1]
    axes[3].plot(starts[:, 0], starts[:, 1], "o", color="white", mec="black", ms=7,
                 label="start")
    axes[3].plot(ends[:, 0], ends[:, 1], "*", color="tab:red", mec="black", ms=12,
                 label="end (corner (1, -1), R = -1)")
    axes[3].legend(fontsize=7, loc="upper left")
    axes[3].set_title("(c) offline trajectories in the [-1, 1] box")
    for ax in axes:
        ax.set_xlim(*box[:2])
        ax.set_ylim(*box[2:])
        ax.set_xlabel("action x")
        ax.set_ylabel("action y")
    fig.tight_layout()
    return _save(fig, ctx.out_dir / "fig3_uniform_dataset.png")


def fig4(ctx: Context) -> Path:
    """Fig. 4: Twin Peaks, origin-centred (a) and optimum-centred (b) data, std 0 / 0.3 / 1."""
    from paper_checks.twin_peaks import FIG4_INITS, FIG4_STDS, fig4_results
    from verify import plots

    plt = _pyplot()
    game = twin_peaks(1, 4, 5)
    results = fig4_results(ctx)
    fig, axes = plt.subplots(2, 6, figsize=(30, 8.5))
    for col, key in enumerate([f"{p}-{s}" for p in ("fig4a", "fig4b") for s in FIG4_STDS]):
        result = results[key]
        std = key.split("-", 1)[1]
        title = ("(a) origin-centred" if key.startswith("fig4a") else "(b) optimum-centred")
        # verify_game always returns the trajectories and the dataset it trained on
        assert result.trajectories is not None and result.dataset is not None
        ax = axes[0, col]
        plots.draw_reward_surface(ax, game, _box())
        plots.draw_trajectories(ax, _one_per_init(np.asarray(result.trajectories.policy),
                                                  len(FIG4_INITS)))
        for p in result.predicted:
            if p.stable:
                ax.plot(*p.point, "X", color="tab:green", mec="black", ms=12)
        ax.set_title(f"{title}, std {std}: learning trajectory")
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax = axes[1, col]
        ax.scatter(result.dataset[:, 0], result.dataset[:, 1], s=3, alpha=0.4)
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax.set_title(f"dataset, std {std}")
    fig.tight_layout()
    return _save(fig, ctx.out_dir / "fig4_twin_peaks_brud.png")


def fig5(ctx: Context) -> Path:
    """Fig. 5: MADDPG vs MADDPG+PJAP on optimum-centred datasets of increasing spread."""
    from paper_checks.pjap_games import (
        FIG5_ALPHA,
        FIG5_EPS,
        FIG5_INITS,
        FIG5_STDS,
        fig5_dataset,
        fig5_runs,
    )
    from verify import plots

    plt = _pyplot()
    game = twin_peaks(1, 4, 5)
    fig, axes = plt.subplots(len(FIG5_STDS), 4, figsize=(21, 4.2 * len(FIG5_STDS)),
                             squeeze=False)
    for row, std in enumerate(FIG5_STDS):
        data = fig5_dataset(std)
        base, prio = fig5_runs(ctx, std, False), fig5_runs(ctx, std, True)
        ax = axes[row, 0]
        ax.scatter(data[:, 0], data[:, 1], s=3, alpha=0.4)
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax.set_title(f"dataset: mean a_dag, std {std}")
        ax = axes[row, 1]
        plots.draw_reward_surface(ax, game, _box())
        plots.draw_trajectories(ax, _one_per_init(base["policy"], len(FIG5_INITS)),
                                color="white", label="MADDPG", markers=False)
        plots.draw_trajectories(ax, _one_per_init(prio["policy"], len(FIG5_INITS)),
                                color="tab:pink", label="MADDPG+PJAP", markers=False)
        # Distinct markers: one start per initialisation, an end per method in its colour.
        starts = np.asarray(FIG5_INITS)
        ax.plot(starts[:, 0], starts[:, 1], "o", color="white", mec="black", ms=7,
                label="start")
        for run, name, color in ((base, "MADDPG end", "white"), (prio, "MADDPG+PJAP end",
                                                                  "tab:pink")):
            ends = _one_per_init(run["policy"], len(FIG5_INITS))[:, -1]
            ax.plot(ends[:, 0], ends[:, 1], "*", color=color, mec="black", ms=13, label=name)
        ax.plot([-A_DAG, A_DAG], [-A_DAG, A_DAG], "P", color="gold", mec="black", ms=9,
                ls="none", label="true peaks")
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        # Below the axes: the legend must not hide the (-0.5, -0.5) start or the lower peak.
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3)
        ax.set_title("trajectories")
        panels: tuple[tuple[int, Literal["distance", "reward"], str], ...] = (
            (2, "distance", "mean sample-to-policy L1 distance"), (3, "reward", "reward R(theta)"))
        for col, key, label in panels:
            ax = axes[row, col]
            for run, name, color in ((prio, "MADDPG+PJAP", "tab:pink"),
                                     (base, "MADDPG", "tab:blue")):
                values = run[key]
                x = np.arange(values.shape[1]) * run["log_every"]
                mid = np.median(values, axis=0)
                lo, hi = np.percentile(values, [10, 90], axis=0)
                ax.plot(x, mid, color=color, label=name)
                ax.fill_between(x, lo, hi, color=color, alpha=0.2)
            ax.set_xlabel("update")
            ax.set_ylabel(label)
            ax.legend(fontsize=7)
            if key == "reward":
                # Readable: the range the runs occupy after their first 5% of updates (the
                # start's low reward would compress the gap between the two methods).
                late = slice(max(1, base[key].shape[1] // 20), None)
                both = np.concatenate([np.percentile(r[key][:, late], [10, 90], axis=0).ravel()
                                       for r in (base, prio)])
                lo, hi = float(np.min(both)), max(float(np.max(both)), R_MAX)
                ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
                ax.axhline(R_MAX, color="grey", ls=":", lw=1)
    fig.suptitle(f"PJAP: L1 distance, alpha = {FIG5_ALPHA:g}, eps = {FIG5_EPS:g}")
    fig.tight_layout()
    return _save(fig, ctx.out_dir / "fig5_pjap.png")


A_DAG = float(np.sqrt(3 / 8))  # Twin Peaks (1, 4, 5) peak coordinate
R_MAX = 0.5625  # its maximal reward R(a_dag, a_dag)


FIGURES = (("Fig. 1", fig1), ("Fig. 2", fig2), ("Fig. 3", fig3), ("Fig. 4", fig4),
           ("Fig. 5", fig5))


def make_figures(ctx: Context) -> tuple[dict[str, str], dict[str, str]]:
    """Write every figure; returns ``({label: path}, {label: error})`` (a figure error is
    reported, never fatal to the others)."""
    import traceback

    written, failed = {}, {}
    for label, fn in FIGURES:
        try:
            written[label] = str(fn(ctx))
        except Exception as err:  # noqa: BLE001 (reported in the report and exit code)
            failed[label] = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=4)}"
    return written, failed
