"""Statistics of finished HalfCheetah runs (``brud halfcheetah report``) and the Fig. 6-style
figures.

Per dataset and system: median, IQM and mean of the seeds' normalised final returns, each with a
95% stratified-bootstrap confidence interval (rliable, ``percentile`` method), the probability
that PJAP improves on its uniform twin (with its CI) for each pair (the paper's ``maddpg-cql``
pair and the ``maddpg-cql-bc`` pair, which is *not* the paper's algorithm), the mean Eq. 8
distance between sampled data actions and the current policy over training, and the critic
diagnostics: the critics' value on the data (``q_data``) against the data's own Monte-Carlo
discounted return. Normalisation (stated in every summary):
``(return - dataset min) / (dataset max - dataset min)`` over the dataset's episode returns.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from brud_analysis.errors import BrudError
from verify.halfcheetah.experiment import PROBE_METRICS, read_result

AGGREGATES = ("median", "iqm", "mean")
BASELINE, PJAP = "maddpg-cql", "maddpg-cql-pjap"
BC, BC_PJAP = "maddpg-cql-bc", "maddpg-cql-bc-pjap"
#: (uniform system, PJAP system, key under ``probability_of_improvement``)
PAIRS = ((BASELINE, PJAP, "pjap_over_baseline"), (BC, BC_PJAP, "bc_pjap_over_bc"))
DEVIATION = "not the paper's algorithm: TD3+BC-style actor term (maddpg-cql-bc systems)"
#: history keys that hold update counts (shared by pooled runs), not per-seed values
STEP_KEYS = ("steps", "eval_steps", "probe_steps")
COLOURS = {BASELINE: "tab:blue", PJAP: "tab:orange", BC: "tab:green", BC_PJAP: "tab:red"}


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
            result = read_result(path)
            result["path"] = str(path.parent)
            results.append(result)
    return results


def merge_runs(results: Sequence[dict]) -> dict:
    """Pool runs of one dataset and system that differ only in their seeds.

    Runs started with ``--first-seed`` add independent seeds to an earlier run; pooled, they
    are one run whose per-seed arrays (final returns, every history metric) are concatenated
    in the order given. Anything else that differs (configuration, update count, the steps
    logged or evaluated, an overlapping seed) is refused: such runs do not measure the same
    thing.

    Raises:
        BrudError: the runs differ in more than their seeds, or share a seed.

    Example:
        >>> run = {"dataset": "Good", "system": "maddpg-cql", "config": "cpu", "updates": 10,
        ...        "config_values": {}, "evaluated": True, "seeds": 1, "first_seed": 0,
        ...        "final_normalised": [0.5], "final_returns": [50.0],
        ...        "history": {"steps": [10], "eval_steps": [], "eval_returns": [],
        ...                    "distance": [[0.2]]}}
        >>> merged = merge_runs([run, {**run, "first_seed": 1, "final_normalised": [0.7]}])
        >>> merged["seeds"], merged["seed_keys"], merged["final_normalised"]
        (2, [0, 1], [0.5, 0.7])
        >>> merge_runs([run, run])
        Traceback (most recent call last):
        brud_analysis.errors.BrudError: runs of maddpg-cql on Good share seeds [0]: ...
    """
    from verify.halfcheetah.experiment import seed_keys

    first = results[0]
    if len(results) == 1:
        return {**first, "seed_keys": seed_keys(first)}
    where = f"{first['system']} on {first['dataset']}"
    paths = [str(r.get("path", "?")) for r in results]
    keys: list[int] = []
    for r in results:
        for field in ("config", "updates", "config_values", "evaluated", "dataset_sha256",
                      "seed_group"):
            if r.get(field) != first.get(field):
                raise BrudError(f"runs of {where} differ in {field}: {', '.join(paths)}; "
                                "only runs that differ in their seeds can be pooled")
        for field in STEP_KEYS:
            if r["history"].get(field) != first["history"].get(field):
                raise BrudError(f"runs of {where} logged different {field}: "
                                f"{', '.join(paths)}")
        shared = sorted(set(keys) & set(seed_keys(r)))
        if shared:
            raise BrudError(f"runs of {where} share seeds {shared}: {', '.join(paths)}")
        keys += seed_keys(r)

    def pooled(name: str) -> list | None:
        if first.get(name) is None:
            return None
        return [x for r in results for x in r[name]]

    history = {key: first["history"][key] for key in STEP_KEYS if key in first["history"]}
    for name, values in first["history"].items():
        if name in history:
            continue
        if any(v is None for r in results for v in r["history"].get(name) or [None]):
            history[name] = [None] * len(values)  # a metric one of the runs did not log
        else:
            history[name] = [[x for r in results for x in r["history"][name][i]]
                             for i in range(len(values))]
    return {
        **first,
        "seeds": len(keys),
        "seed_keys": keys,
        "final_normalised": pooled("final_normalised"),
        "final_returns": pooled("final_returns"),
        "final_episode_returns": pooled("final_episode_returns"),
        "history": history,
        "updates_per_second": None,  # runs timed on different occasions: not comparable
        "path": "; ".join(paths),
        "pooled_from": paths,
    }


def pool_runs(results: Sequence[dict]) -> list[dict]:
    """One run per dataset and system: runs that differ only in their seeds pooled
    (:func:`merge_runs`), in order of first appearance.

    Example:
        >>> run = {"dataset": "Good", "system": "maddpg-cql", "seeds": 1,
        ...        "final_normalised": [0.5], "history": {"steps": [1], "eval_steps": []}}
        >>> [r["seed_keys"] for r in pool_runs([run, {**run, "first_seed": 1}])]
        [[0, 1]]
    """
    grouped: dict[tuple[str, str], list[dict]] = {}
    for result in results:
        grouped.setdefault((result["dataset"], result["system"]), []).append(result)
    return [merge_runs(runs) for runs in grouped.values()]


def _iqm(scores: np.ndarray) -> np.floating:
    """rliable's ``aggregate_iqm`` (``scipy.stats.trim_mean(scores, 0.25, axis=None)``) by the
    very numpy operations scipy runs, without scipy's per-call argument handling, which was
    most of a bootstrap's CPU (thousands of calls); NaN or empty scores go to scipy itself.

    Example:
        >>> float(_iqm(np.array([[0.0], [1.0], [2.0], [10.0]])))
        1.5
    """
    a = np.ravel(np.asarray(scores, float))
    if a.size == 0 or np.isnan(a).any():
        from rliable import metrics

        return metrics.aggregate_iqm(scores)
    low = int(0.25 * a.size)
    high = a.size - low
    return np.mean(np.partition(a, (low, high - 1))[low:high])


def _improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> np.floating:
    """rliable's ``probability_of_improvement`` (per task ``U / (n_x n_y)`` of the one-sided
    Mann-Whitney test, 0.5 for equal runs, averaged over tasks) with ``U`` counted directly:
    pairs with ``x > y`` plus half the ties, the same number that scipy's rank sum gives
    exactly (half-integers); NaN scores go to rliable itself.

    Example:
        >>> float(_improvement(np.array([[1.0], [2.0]]), np.array([[0.0], [2.0]])))
        0.625
    """
    if np.isnan(scores_x).any() or np.isnan(scores_y).any():
        from rliable import metrics

        return metrics.probability_of_improvement(scores_x, scores_y)
    probabilities = []
    for task in range(scores_x.shape[1]):
        x, y = scores_x[:, task], scores_y[:, task]
        if np.array_equal(x, y):
            probabilities.append(0.5)
            continue
        u = (np.sum(x[:, None] > y[None, :]) + 0.5 * np.sum(x[:, None] == y[None, :]))
        probabilities.append(np.float64(u) / (x.shape[0] * y.shape[0]))
    return np.mean(probabilities)


def _median(scores: np.ndarray) -> np.floating:
    """``np.median(scores)`` (over all entries) by the very numpy operations it runs (one
    partition with the same pivots, the mean of the middle one or two entries), without its
    per-call dispatch and argument handling, which a bootstrap pays thousands of times; NaN
    or empty scores go to ``np.median`` itself.

    Example:
        >>> float(_median(np.array([[3.0], [1.0], [2.0], [10.0]])))
        2.5
    """
    a = np.ravel(np.asarray(scores, float))
    if a.size == 0 or np.isnan(a).any():
        return np.median(scores)
    half = a.size // 2
    if a.size % 2:
        part = np.partition(a, [half, -1])
        return np.mean(part[half:half + 1], axis=0)
    part = np.partition(a, [half - 1, half, -1])
    return np.mean(part[half - 1:half + 1], axis=0)


def _aggregate(scores: np.ndarray) -> np.ndarray:
    # Median over runs: rliable's aggregate_median is a median over *tasks* of per-task means,
    # which for one task would just repeat the mean. The mean is rliable's aggregate_mean
    # (the mean of the per-task means), written out.
    return np.array([
        _median(scores),
        _iqm(scores),
        np.mean(np.mean(scores, axis=0, keepdims=False), axis=0),
    ])


@contextlib.contextmanager
def _seeded_bootstrap(seed: int) -> Iterator[None]:
    """rliable's stratified bootstraps draw their resampling indices from NumPy's *global*
    generator (``np.random.choice`` in ``update_indices``), not from the ``random_state`` they
    are given (measured: two calls with ``RandomState(0)`` gave IQM CIs [0.0667, 0.3667] and
    [0.0658, 0.3667]). So the global generator is seeded for the call and restored after it,
    which makes the CIs a function of ``seed``. rliable also passes that ``RandomState`` on to
    ``arch``, which warns that this is deprecated: noise here, silenced."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"arch(\.|$)")
            yield
    finally:
        np.random.set_state(state)


def interval_estimates(
    scores: dict[str, np.ndarray], reps: int = 5000, seed: int = 0
) -> dict[str, dict[str, dict[str, float | list[float]]]]:
    """Median / IQM / mean of each system's scores ``(runs,)`` with 95% stratified-bootstrap
    confidence intervals (the same for the same ``seed``).

    Example:
        >>> est = interval_estimates({"a": np.array([0.1, 0.2, 0.3, 0.4])}, reps=200)
        >>> round(est["a"]["mean"]["estimate"], 3), est["a"]["median"]["estimate"]
        (0.25, 0.25)
    """
    from rliable import library

    matrices = {name: np.asarray(s, float).reshape(-1, 1) for name, s in scores.items()}
    with _seeded_bootstrap(seed):
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
    from rliable import library

    pair = {"x_vs_y": [np.asarray(x, float).reshape(-1, 1), np.asarray(y, float).reshape(-1, 1)]}
    with _seeded_bootstrap(seed):
        point, intervals = library.get_interval_estimates(
            pair, _improvement, reps=reps,
            random_state=np.random.RandomState(seed),
        )
    return {"estimate": float(point["x_vs_y"]), "ci": np.ravel(intervals["x_vs_y"]).tolist()}


def distance_curve(result: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(updates, mean batch distance over seeds)`` per logged chunk of a run.

    Example:
        >>> distance_curve({"history": {"steps": [10, 20],
        ...                             "batch_distance": [[0.2, 0.4], [0.1, 0.1]]}})
        (array([10, 20]), array([0.3, 0.1]))
    """
    return metric_curve(result, "batch_distance")[:2]


def metric_values(result: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(updates (T,), values (T, S))`` of a logged metric; per-agent probe metrics are
    averaged over agents; rows logged before the metric existed are dropped. The paper's batch
    metric was called ``distance`` in results written before ``policy_distance`` existed.

    Example:
        >>> metric_values({"history": {"probe_steps": [0, 5],
        ...     "brud_alignment": [[[1.0, 0.0]], [[0.5, 0.5]]]}}, "brud_alignment")[1].tolist()
        [[0.5], [0.5]]
    """
    history = result["history"]
    if name == "batch_distance" and name not in history:
        name = "distance"
    steps_key = "probe_steps" if name in PROBE_METRICS else "steps"
    rows = [(s, v) for s, v in zip(history.get(steps_key, []), history.get(name, []),
                                   strict=False) if v is not None]
    if not rows:
        return np.zeros(0), np.zeros((0, 0))
    values = np.asarray([v for _, v in rows], float)
    if values.ndim == 3:  # (T, S, N): mean over agents
        values = values.mean(axis=2)
    return np.asarray([s for s, _ in rows]), values


def metric_curve(result: dict, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(updates, mean over seeds, (2, T) 95% normal-approximation band over seeds)`` of a
    logged training metric (:func:`metric_values`).

    Example:
        >>> steps, mean, band = metric_curve({"history": {"steps": [10, 20],
        ...     "q_data": [[1.0, 3.0], [2.0, 2.0]]}}, "q_data")
        >>> mean.tolist(), band[:, 1].tolist()
        ([2.0, 2.0], [2.0, 2.0])
    """
    steps, values = metric_values(result, name)
    if not len(steps):
        return np.zeros(0), np.zeros(0), np.zeros((2, 0))
    return (steps,) + _mean_band(values)


def _mean_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over seeds (last axis) and mean +- 1.96 standard errors."""
    mean = values.mean(axis=1)
    n = values.shape[1]
    half = 1.96 * values.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
    return mean, np.stack([mean - half, mean + half])


def return_curve(result: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(updates, mean normalised evaluation return, (2, T) band)`` over training.

    Example:
        >>> r = {"normalisation": {"min": 0.0, "max": 10.0},
        ...      "history": {"eval_steps": [5], "eval_returns": [[5.0, 5.0]]}}
        >>> return_curve(r)[1].tolist()
        [0.5]
    """
    from verify.halfcheetah.experiment import normalise

    history, norm = result["history"], result["normalisation"]
    if not history.get("eval_steps"):
        return np.zeros(0), np.zeros(0), np.zeros((2, 0))
    values = normalise(history["eval_returns"], norm)
    return (np.asarray(history["eval_steps"]),) + _mean_band(values)


def critic_diagnostics(result: dict) -> dict:
    """The critics' value on the data against the data's discounted value, at the end of
    training, and how fast it was still moving (per 1000 updates, over the last half).

    Example:
        >>> r = {"history": {"steps": [1000, 2000], "q_data": [[10.0], [30.0]],
        ...      "cql_loss": [[1.0], [0.5]]}, "data_value": {"mc_return": 25.0}}
        >>> d = critic_diagnostics(r)
        >>> d["q_data_final"], round(d["q_data_growth_per_1k_updates"], 6), d["q_over_mc_return"]
        (30.0, 20.0, 1.2)
    """
    steps, q, _ = metric_curve(result, "q_data")
    value = result.get("data_value") or {}
    out: dict = {
        "q_data_final": float(q[-1]) if len(q) else None,
        "q_data_final_per_seed": (result["history"]["q_data"][-1] if len(q) else None),
        "data_mc_return": value.get("mc_return"),
        "data_mc_return_max": value.get("mc_return_max"),
        "polyak_time_constant_updates": value.get("polyak_time_constant_updates"),
    }
    half = steps >= steps[-1] / 2 if len(steps) else steps
    if len(steps) and np.count_nonzero(half) >= 2:
        slope = np.polyfit(steps[half], q[half], 1)[0]
        out["q_data_growth_per_1k_updates"] = float(1000 * slope)
    else:
        out["q_data_growth_per_1k_updates"] = None
    mc = value.get("mc_return")
    out["q_over_mc_return"] = (float(q[-1] / mc) if len(q) and mc else None)
    for name in ("cql_loss", "bc_mse"):
        _, curve, _ = metric_curve(result, name)
        out[f"{name}_final"] = float(curve[-1]) if len(curve) else None
    return out


def final_per_seed(result: dict, name: str) -> list[float] | None:
    """A probe metric's last logged value per seed (mean over agents), or None.

    Example:
        >>> final_per_seed({"history": {"probe_steps": [0, 9],
        ...     "policy_distance": [[0.3, 0.4], [0.2, 0.1]]}}, "policy_distance")
        [0.2, 0.1]
    """
    _, values = metric_values(result, name)
    return values[-1].tolist() if len(values) else None


def _check_same_data(dataset: str, systems: dict[str, dict]) -> None:
    """Refuse a report that compares runs on different data under one dataset name."""
    hashes = {name: r.get("dataset_sha256") for name, r in systems.items()}
    if len(set(hashes.values())) > 1:
        listed = ", ".join(f"{n} {str(h)[:12]}" for n, h in sorted(hashes.items()))
        raise BrudError(f"runs on {dataset} were trained on different data (dataset hashes "
                        f"{listed}); re-run them on one dataset")


def _system_entry(result: dict, estimates: dict, evaluated: bool) -> dict:
    steps, curve = distance_curve(result)
    _, policy_curve, _ = metric_curve(result, "policy_distance")
    alignment = final_per_seed(result, "brud_alignment")
    history = result["history"]
    per_agent = (np.asarray(history["brud_alignment"][-1], float).mean(axis=0).tolist()
                 if history.get("brud_alignment") else None)
    return {
        **estimates,
        "evaluated": evaluated,
        "seeds": result.get("seeds", len(result["final_normalised"] or [])),
        "seed_keys": result["seed_keys"],
        "seed_group": result.get("seed_group"),
        "updates": result["updates"],
        "config": result["config"],
        "dataset_sha256": result.get("dataset_sha256"),
        "final_normalised": result["final_normalised"],
        "final_returns": result["final_returns"],
        "batch_distance": {
            "what": "Eq. 8 distance in the sampled batch, as the paper (lower under PJAP by "
                    "construction: PJAP samples windows where the policy agrees with the data)",
            "mean_over_training": float(np.mean(curve)) if len(curve) else None,
            "final": float(curve[-1]) if len(curve) else None},
        "policy_distance": {
            "what": "Eq. 8 distance of the joint policy on fixed probe windows drawn uniformly "
                    "once per run (the same for both arms)",
            "mean_over_training": float(np.mean(policy_curve)) if len(policy_curve) else None,
            "final": float(policy_curve[-1]) if len(policy_curve) else None,
            "final_per_seed": final_per_seed(result, "policy_distance")},
        "brud_alignment": {
            "what": "mean cosine between grad_a_i Q(s, mu_i, a_-i^data) and grad_a_i Q(s, mu(s))"
                    " over the probe states (1: BRUD and joint fields agree)",
            "final": float(np.mean(alignment)) if alignment else None,
            "final_per_seed": alignment, "final_per_agent": per_agent,
            "sign_disagreement_final": (float(np.mean(final_per_seed(
                result, "brud_sign_disagreement") or [np.nan]))
                if history.get("brud_sign_disagreement") else None)},
        # kept for readers of older summaries: the paper's batch metric
        "mean_distance_over_training": float(np.mean(curve)) if len(curve) else None,
        "final_distance": float(curve[-1]) if len(curve) else None,
        "critic": critic_diagnostics(result),
        "timing": result.get("timing"),
        "path": result.get("path"),
    }


def _rank_tests(summary: dict) -> None:
    """Exact Mann-Whitney p per pair, metric and dataset, Holm-corrected over the datasets."""
    from verify.halfcheetah.comparisons import compare_datasets

    metrics = {"final_normalised": lambda s: s["final_normalised"] or [],
               "policy_distance": lambda s: s["policy_distance"]["final_per_seed"] or [],
               "brud_alignment": lambda s: s["brud_alignment"]["final_per_seed"] or []}
    for uniform, pjap, key in PAIRS:
        for metric, get in metrics.items():
            per_dataset = {d: (get(e["systems"][pjap]), get(e["systems"][uniform]))
                           for d, e in summary["datasets"].items()
                           if uniform in e["systems"] and pjap in e["systems"]}
            for dataset, test in compare_datasets(per_dataset).items():
                summary["datasets"][dataset].setdefault("mann_whitney", {}).setdefault(
                    key, {})[metric] = test


def summarise(results: Sequence[dict], reps: int = 5000) -> dict:
    """Per-dataset summary of finished runs; runs of one dataset and system that differ only in
    their seeds are pooled (:func:`merge_runs`).

    Raises:
        BrudError: two runs of the same dataset and system that differ in more than seeds, or
            runs of one dataset name trained on different data (dataset hash).

    Example:
        >>> run = {"dataset": "Good", "system": "maddpg-cql", "config": "cpu", "updates": 10,
        ...        "final_normalised": [0.5, 0.7], "final_returns": [50.0, 70.0],
        ...        "normalisation": {"method": "range", "min": 0.0, "max": 100.0},
        ...        "history": {"steps": [10], "batch_distance": [[0.2, 0.2]]}}
        >>> summarise([run], reps=100)["datasets"]["Good"]["systems"]["maddpg-cql"]["mean"]
        {'estimate': 0.6, 'ci': [0.5, 0.7]}
    """
    by_dataset: dict[str, dict[str, dict]] = {}
    for result in pool_runs(results):
        by_dataset.setdefault(result["dataset"], {})[result["system"]] = result
    summary: dict = {"normalisation": None, "datasets": {}}
    for dataset, systems in sorted(by_dataset.items()):
        _check_same_data(dataset, systems)
        # runs trained with --no-eval have offline metrics only
        scores = {name: np.asarray(r["final_normalised"]) for name, r in sorted(systems.items())
                  if r.get("final_normalised") is not None}
        entry: dict = {
            "normalisation": next(iter(systems.values()))["normalisation"],
            "systems": {},
        }
        estimates = interval_estimates(scores, reps=reps) if scores else {}
        for name, result in sorted(systems.items()):
            entry["systems"][name] = _system_entry(result, estimates.get(name, {}),
                                                   name in scores)
            if name in (BC, BC_PJAP):
                entry["systems"][name]["deviation"] = DEVIATION
                entry["systems"][name]["bc_weight"] = (
                    result.get("config_values", {}).get("learner", {}).get("bc_weight"))
        for uniform, pjap, key in PAIRS:
            if uniform in scores and pjap in scores:
                entry.setdefault("probability_of_improvement", {})[key] = (
                    probability_of_improvement(scores[pjap], scores[uniform], reps=reps))
        summary["datasets"][dataset] = entry
        summary["normalisation"] = entry["normalisation"]["method"]
    _rank_tests(summary)
    return summary
