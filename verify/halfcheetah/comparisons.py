"""Rank tests for the HalfCheetah comparisons, beside rliable's bootstrap intervals.

For each pair (PJAP arm vs its uniform twin) and each per-seed metric (normalised final return,
final ``policy_distance``, final ``brud_alignment``), on each dataset: the exact two-sided
Mann-Whitney U test (``scipy.stats.mannwhitneyu(method="exact")``; with 5 vs 5 seeds the
smallest attainable p is 2/252 = 0.0079), and Holm's step-down correction over the datasets
(the family is one pair and one metric across the datasets it was run on). The wording of a
verdict follows these numbers: "separated at 5 %" only when the Holm-adjusted p is below 0.05.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LEVEL = 0.05


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> dict[str, float | int]:
    """Exact two-sided Mann-Whitney U test of ``x`` against ``y``.

    ``U`` counts pairs with x > y (ties half), so ``U / (n_x n_y)`` is P(X > Y).

    Example:
        >>> r = mann_whitney([5, 6, 7, 8, 9], [0, 1, 2, 3, 4])
        >>> r["U"], round(r["p"], 4)
        (25.0, 0.0079)
    """
    from scipy import stats

    x_arr, y_arr = np.asarray(x, float), np.asarray(y, float)
    test = stats.mannwhitneyu(x_arr, y_arr, alternative="two-sided", method="exact")
    return {"U": float(test.statistic), "p": float(test.pvalue), "n_x": int(x_arr.size),
            "n_y": int(y_arr.size)}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (same order as given).

    Example:
        >>> holm([0.01, 0.04, 0.03])
        [0.03, 0.06, 0.06]
    """
    # hand-written (10 lines): scipy has no Holm correction (only false_discovery_control's
    # BH/BY), and statsmodels is not a dependency of this project
    p = np.asarray(p_values, float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return [round(float(a), 12) for a in adjusted]


def wording(p_holm: float | None, direction: float) -> str:
    """How a comparison may be described, from its Holm-adjusted p and the sign of the
    difference (PJAP minus uniform).

    Example:
        >>> wording(0.052, -1.0)
        'not separated at 5 % (Holm-adjusted p = 0.052)'
        >>> wording(0.02, 1.0)
        'higher with PJAP, separated at 5 % (Holm-adjusted p = 0.02)'
    """
    if p_holm is None:
        return "not tested"
    if p_holm >= LEVEL:
        return f"not separated at 5 % (Holm-adjusted p = {p_holm:.2g})"
    side = "higher" if direction > 0 else "lower"
    return f"{side} with PJAP, separated at 5 % (Holm-adjusted p = {p_holm:.2g})"


def compare_datasets(per_dataset: dict[str, tuple[Sequence[float], Sequence[float]]]
                     ) -> dict[str, dict]:
    """``{dataset: (pjap values, uniform values)}`` -> per dataset the test, the Holm-adjusted
    p over the datasets, the difference of medians and the wording.

    Example:
        >>> out = compare_datasets({"A": ([5, 6, 7, 8, 9], [0, 1, 2, 3, 4]),
        ...                         "B": ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])})
        >>> round(out["A"]["p_holm"], 4), out["B"]["p_holm"]
        (0.0159, 1.0)
    """
    names = [d for d, (x, y) in per_dataset.items() if len(x) and len(y)]
    tests = {d: mann_whitney(*per_dataset[d]) for d in names}
    adjusted = dict(zip(names, holm([tests[d]["p"] for d in names]), strict=True))
    out = {}
    for d in names:
        x, y = per_dataset[d]
        diff = float(np.median(x) - np.median(y))
        out[d] = {**tests[d], "p_holm": adjusted[d], "median_difference": diff,
                  "holm_family": names, "wording": wording(adjusted[d], diff)}
    return out
