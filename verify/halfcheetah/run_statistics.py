"""Statistics and the Fig. 6-style figure of finished HalfCheetah runs.

Per dataset and system: median, IQM and mean of the seeds' normalised final returns, each with a
95% stratified-bootstrap confidence interval (rliable, ``percentile`` method), the probability
that PJAP improves on the baseline (with its CI), and the mean Eq. 8 distance between sampled
data actions and the current policy over training. Normalisation (stated in every summary):
``(return - dataset min) / (dataset max - dataset min)`` over the dataset's episode returns.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from brud_analysis.errors import BrudError

AGGREGATES = ("median", "iqm", "mean")
BASELINE, PJAP = "maddpg-cql", "maddpg-cql-pjap"


def load_results(directories: Iterable[str | Path]) -> list[dict]:
    """Every finished run's ``result.json`` found in or under ``directories``.

    Raises:
        BrudError: a directory is missing or holds no finished run.

    Example:
        >>> import tempfile
        >>> load_results([tempfile.mkdtemp()])
        Traceback (most recent call last):
        brud_analysis.errors.BrudError: ... holds no finished run (no result.json under it)
    """
    results = []
    for directory in directories:
        directory = Path(directory)
        if not directory.is_dir():
            raise BrudError(f"{directory} is not a directory")
        found = sorted(directory.rglob("result.json"))
        if not found:
            raise BrudError(f"{directory} holds no finished run (no result.json under it)")
        for path in found:
            result = json.loads(path.read_text())
            result["path"] = str(path.parent)
            results.append(result)
    return results


def _aggregate(scores: np.ndarray) -> np.ndarray:
    from rliable import metrics

    # Median over runs: rliable's aggregate_median is a median over *tasks* of per-task means,
    # which for one task would just repeat the mean.
    return np.array([
        np.median(scores),
        metrics.aggregate_iqm(scores),
        metrics.aggregate_mean(scores),
    ])


@contextlib.contextmanager
def _quiet_arch() -> Iterator[None]:
    """rliable passes a ``RandomState`` to ``arch``'s bootstrap, which warns that this is
    deprecated; it is still honoured (it keeps the CIs seeded), so the warning is noise here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"arch(\.|$)")
        yield


def interval_estimates(
    scores: dict[str, np.ndarray], reps: int = 5000, seed: int = 0
) -> dict[str, dict[str, dict[str, float | list[float]]]]:
    """Median / IQM / mean of each system's scores ``(runs,)`` with 95% stratified-bootstrap
    confidence intervals.

    Example:
        >>> est = interval_estimates({"a": np.array([0.1, 0.2, 0.3, 0.4])}, reps=200)
        >>> round(est["a"]["mean"]["estimate"], 3), est["a"]["median"]["estimate"]
        (0.25, 0.25)
    """
    from rliable import library

    matrices = {name: np.asarray(s, float).reshape(-1, 1) for name, s in scores.items()}
    with _quiet_arch():
        point, intervals = library.get_interval_estimates(
            matrices, _aggregate, reps=reps, random_state=np.random.RandomState(seed)
        )
    return {
        name: {
            agg: {"estimate": float(point[name][i]), "ci": intervals[name][:, i].tolist()}
            for i, agg in enumerate(AGGREGATES)
        }
        for name in matrices
    }


def probability_of_improvement(
    x: np.ndarray, y: np.ndarray, reps: int = 5000, seed: int = 0
) -> dict[str, float | list[float]]:
    """``P(X > Y)`` (ties count half) of runs of system X over system Y, with a 95% CI.

    Example:
        >>> round(probability_of_improvement(np.array([1.0, 2.0]), np.array([0.0, 0.0]),
        ...                                  reps=100)["estimate"], 3)
        1.0
    """
    from rliable import library, metrics

    pair = {"x_vs_y": [np.asarray(x, float).reshape(-1, 1), np.asarray(y, float).reshape(-1, 1)]}
    with _quiet_arch():
        point, intervals = library.get_interval_estimates(
            pair, metrics.probability_of_improvement, reps=reps,
            random_state=np.random.RandomState(seed),
        )
    return {"estimate": float(point["x_vs_y"]), "ci": np.ravel(intervals["x_vs_y"]).tolist()}


def distance_curve(result: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(updates, mean distance over seeds)`` per logged chunk of a run.

    Example:
        >>> distance_curve({"history": {"steps": [10, 20], "distance": [[0.2, 0.4], [0.1, 0.1]]}})
        (array([10, 20]), array([0.3, 0.1]))
    """
    history = result["history"]
    return np.asarray(history["steps"]), np.asarray(history["distance"], float).mean(axis=1)


def summarise(results: Sequence[dict], reps: int = 5000) -> dict:
    """Per-dataset summary of finished runs (one run per dataset and system).

    Raises:
        BrudError: two runs of the same dataset and system.

    Example:
        >>> run = {"dataset": "Good", "system": "maddpg-cql", "config": "cpu", "updates": 10,
        ...        "final_normalised": [0.5, 0.7], "final_returns": [50.0, 70.0],
        ...        "normalisation": {"method": "range", "min": 0.0, "max": 100.0},
        ...        "history": {"steps": [10], "distance": [[0.2, 0.2]]}}
        >>> summarise([run], reps=100)["datasets"]["Good"]["systems"]["maddpg-cql"]["mean"]
        {'estimate': 0.6, 'ci': [0.5, 0.7]}
    """
    by_dataset: dict[str, dict[str, dict]] = {}
    for result in results:
        systems = by_dataset.setdefault(result["dataset"], {})
        if result["system"] in systems:
            raise BrudError(
                f"two runs of {result['system']} on {result['dataset']}: "
                f"{systems[result['system']]['path']} and {result['path']}"
            )
        systems[result["system"]] = result
    summary: dict = {"normalisation": None, "datasets": {}}
    for dataset, systems in sorted(by_dataset.items()):
        scores = {name: np.asarray(r["final_normalised"]) for name, r in sorted(systems.items())}
        entry: dict = {
            "normalisation": next(iter(systems.values()))["normalisation"],
            "systems": {},
        }
        estimates = interval_estimates(scores, reps=reps)
        for name, result in sorted(systems.items()):
            steps, curve = distance_curve(result)
            entry["systems"][name] = {
                **estimates[name],
                "seeds": len(result["final_normalised"]),
                "updates": result["updates"],
                "config": result["config"],
                "final_normalised": result["final_normalised"],
                "final_returns": result["final_returns"],
                "mean_distance_over_training": float(np.mean(curve)),
                "final_distance": float(curve[-1]),
                "path": result.get("path"),
            }
        if BASELINE in scores and PJAP in scores:
            entry["probability_of_improvement"] = {
                "pjap_over_baseline": probability_of_improvement(
                    scores[PJAP], scores[BASELINE], reps=reps
                )
            }
        summary["datasets"][dataset] = entry
        summary["normalisation"] = entry["normalisation"]["method"]
    return summary


def plot_figure(summary: dict, results: Sequence[dict], path: str | Path) -> Path:
    """Fig. 6 layout: per dataset, median / IQM / mean with CIs and the distance curves,
    written atomically as a PNG at ``path``.

    Example:
        >>> plot_figure(summarise(runs), runs, "fig6/fig6.png")  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    datasets = list(summary["datasets"])
    colours = {BASELINE: "tab:blue", PJAP: "tab:orange"}
    fig, axes = plt.subplots(
        len(datasets), 4, figsize=(15, 2.8 * len(datasets)), squeeze=False,
        gridspec_kw={"width_ratios": [1, 1, 1, 1.6]},
    )
    for row, dataset in enumerate(datasets):
        systems = summary["datasets"][dataset]["systems"]
        names = sorted(systems)
        for col, agg in enumerate(AGGREGATES):
            ax = axes[row, col]
            for y, name in enumerate(names):
                low, high = systems[name][agg]["ci"]
                colour = colours.get(name, "tab:gray")
                ax.barh(y, high - low, left=low, height=0.6, color=colour, alpha=0.75)
                ax.plot([systems[name][agg]["estimate"]] * 2, [y - 0.3, y + 0.3], "k-", lw=2)
            ax.set_yticks(range(len(names)))
            ax.set_yticklabels(names if col == 0 else [])
            ax.set_title(f"{dataset}: {agg.upper() if agg == 'iqm' else agg.title()}")
            ax.set_xlabel("normalised return")
            ax.grid(axis="x", alpha=0.3)
        ax = axes[row, 3]
        for result in results:
            if result["dataset"] != dataset:
                continue
            steps, curve = distance_curve(result)
            ax.plot(steps, curve, color=colours.get(result["system"], "tab:gray"),
                    label=result["system"])
        ax.set_title(f"{dataset}: data-to-policy distance (Eq. 8)")
        ax.set_xlabel("trainer updates")
        ax.xaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(lambda x, _: f"{x / 1000:g}k")
        )
        ax.set_ylabel("distance")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("MADDPG+CQL vs MADDPG+CQL+PJAP, 2-agent HalfCheetah "
                 "(95% stratified-bootstrap CIs over seeds)", fontsize=10)
    fig.tight_layout()
    import io

    from brud_analysis.output import write_atomic

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return write_atomic(path, buffer.getvalue())
