"""The Fig. 6-style figures of ``brud halfcheetah report``: returns with CIs, both distances,
the BRUD alignment and the evaluation returns over training, P(PJAP arm > uniform arm), and the
critic diagnostics (drawn with rliable where it can draw into a grid).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from verify.halfcheetah.run_statistics import (
    AGGREGATES,
    BASELINE,
    BC,
    BC_PJAP,
    COLOURS,
    PJAP,
    metric_curve,
    return_curve,
)


def _save(fig, path: str | Path) -> Path:
    from brud_analysis.figure_files import save_png

    return save_png(fig, path, {"figure": Path(path).name}, dpi=110, bbox_inches="tight")


def _label(name: str) -> str:
    return f"{name} (not paper)" if name in (BC, BC_PJAP) else name


def _curve_panel(ax, results: Sequence[dict], dataset: str, curve, title: str,
                 ylabel: str) -> None:
    """One panel of per-system curves with 95% bands over seeds, drawn by rliable."""
    from rliable import plot_utils

    for result in results:
        if result["dataset"] != dataset:
            continue
        steps, mean, band = curve(result)
        if not len(steps):
            continue
        name = _label(result["system"])
        plot_utils.plot_sample_efficiency_curve(
            steps / 1000.0, {name: mean}, {name: band}, algorithms=[name],
            colors={name: COLOURS.get(result["system"], "tab:gray")}, ax=ax,
            xlabel="updates (thousands)", ylabel=ylabel, labelsize="small",
            ticklabelsize="small")
    ax.set_title(f"{dataset}: {title}", fontsize=9)
    ax.legend(fontsize=6)


def plot_figure(summary: dict, results: Sequence[dict], path: str | Path) -> Path:
    """Fig. 6 layout, one row per dataset: median / IQM / mean of the normalised final return
    with 95% CIs; over training the Eq. 8 distance in the sampled batch (the paper's metric),
    the policy's distance on the fixed probe windows, the BRUD alignment and the evaluation
    return; and the
    probability of improvement of each PJAP arm over its uniform twin. Written atomically as a
    PNG at ``path``; the critic diagnostics go to :func:`plot_diagnostics`.

    Example:
        >>> plot_figure(summarise(runs), runs, "fig6/fig6.png")  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rliable import plot_utils

    datasets = list(summary["datasets"])
    fig, axes = plt.subplots(
        len(datasets), 8, figsize=(31, 3.4 * len(datasets)), squeeze=False,
        gridspec_kw={"width_ratios": [1, 1, 1, 1.4, 1.4, 1.4, 1.4, 1.1]},
    )
    for row, dataset in enumerate(datasets):
        entry = summary["datasets"][dataset]
        systems = entry["systems"]
        names = [n for n in sorted(systems) if systems[n]["evaluated"]]
        # Hand-drawn: rliable's plot_interval_estimates makes a figure of its own and cannot
        # draw into this grid; the bars are the same (CI bar, point estimate tick).
        for col, agg in enumerate(AGGREGATES):
            ax = axes[row, col]
            for y, name in enumerate(names):
                low, high = systems[name][agg]["ci"]
                ax.barh(y, high - low, left=low, height=0.6,
                        color=COLOURS.get(name, "tab:gray"), alpha=0.75)
                ax.plot([systems[name][agg]["estimate"]] * 2, [y - 0.3, y + 0.3], "k-", lw=2)
            ax.set_yticks(range(len(names)))
            ax.set_yticklabels([_label(n) for n in names] if col == 0 else [], fontsize=8)
            ax.set_title(f"{dataset}: {agg.upper() if agg == 'iqm' else agg.title()}",
                         fontsize=9)
            ax.set_xlabel("normalised final return", fontsize=8)
            ax.grid(axis="x", alpha=0.3)
        _curve_panel(axes[row, 3], results, dataset,
                     lambda r: metric_curve(r, "batch_distance"),
                     "Eq. 8 distance in the sampled batch (paper)", "batch distance")
        _curve_panel(axes[row, 4], results, dataset,
                     lambda r: metric_curve(r, "policy_distance"),
                     "Eq. 8 distance of the policy (fixed probe windows)", "policy distance")
        _curve_panel(axes[row, 5], results, dataset,
                     lambda r: metric_curve(r, "brud_alignment"),
                     "BRUD alignment: cos(BRUD grad, joint grad)", "mean cosine")
        _curve_panel(axes[row, 6], results, dataset, return_curve,
                     "evaluation return over training", "normalised return")
        ax = axes[row, 7]
        poi = entry.get("probability_of_improvement", {})
        if poi:
            labels = {"pjap_over_baseline": f"{PJAP},{BASELINE}",
                      "bc_pjap_over_bc": f"{BC_PJAP},{BC}"}
            plot_utils.plot_probability_of_improvement(
                {labels[k]: v["estimate"] for k, v in poi.items()},
                {labels[k]: np.asarray(v["ci"]) for k, v in poi.items()},
                ax=ax, colors=[COLOURS[PJAP if k == "pjap_over_baseline" else BC_PJAP]
                               for k in poi],  # rliable indexes colours by position
                xticks=[0.0, 0.25, 0.5, 0.75, 1.0], left_ylabel="", right_ylabel="",
                ticklabelsize="small", labelsize="small")
            ax.tick_params(labelsize=7)
            ax.set_title(f"{dataset}: P(PJAP arm > uniform arm)", fontsize=9)
        else:
            ax.axis("off")
    fig.suptitle("2-agent HalfCheetah, PJAP vs uniform sampling (95% stratified-bootstrap CIs "
                 "over seeds; curve bands: mean +- 1.96 s.e.; returns normalised 0 = random "
                 "policy, 1 = Good behaviour policy).\nThe batch distance is lower under PJAP by "
                 "construction (PJAP samples windows where the policy agrees with the data); the "
                 "policy distance is measured on fixed windows. 'not paper': TD3+BC actor term, "
                 "a deviation from the paper's algorithm", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_diagnostics(summary: dict, results: Sequence[dict], path: str | Path) -> Path:
    """Critic diagnostics, one row per dataset: the critics' value on the data against the
    data's Monte-Carlo discounted return (dashed), the CQL term, and the policy's squared error
    to the data actions, over training.

    Example:
        >>> plot_diagnostics(summarise(runs), runs, "fig6/diagnostics.png")  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(summary["datasets"])
    fig, axes = plt.subplots(len(datasets), 3, figsize=(16, 3.4 * len(datasets)),
                             squeeze=False)
    for row, dataset in enumerate(datasets):
        ax = axes[row, 0]
        _curve_panel(ax, results, dataset, lambda r: metric_curve(r, "q_data"),
                     "critic's value on the data vs data MC return", "Q(s, a_data)")
        mc = [s["critic"]["data_mc_return"] for s in
              summary["datasets"][dataset]["systems"].values() if s["critic"]["data_mc_return"]]
        if mc:
            ax.axhline(mc[0], color="k", ls="--", lw=1,
                       label=f"data MC discounted return {mc[0]:.0f}")
            ax.legend(fontsize=6)
        _curve_panel(axes[row, 1], results, dataset, lambda r: metric_curve(r, "cql_loss"),
                     "CQL term (logsumexp OOD - Q data)", "CQL term")
        axes[row, 1].axhline(0.0, color="k", lw=0.5)
        _curve_panel(axes[row, 2], results, dataset, lambda r: metric_curve(r, "bc_mse"),
                     "policy's squared error to data actions", "mean (mu(o) - a)^2")
    fig.suptitle("Critic diagnostics (mean over seeds +- 1.96 s.e.)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
