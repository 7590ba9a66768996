"""The verdict: result types (:class:`Basin`, :class:`VerificationResult`) and the constants
that every check shares (z-score, run labels, limits).

:mod:`verify.harness` re-exports the public names; the checks that fill a result (basins,
drift, trajectory) are in :mod:`verify.checks`. The noise model behind every tolerance is
derived in the :mod:`verify.harness` docstring.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from brud_analysis.solve import FixedPoint

if TYPE_CHECKING:  # the trainer (and JAX) is not needed to judge its output
    from verify.polygames import Trajectory

Z_SCORE = 4.0  # standard errors allowed: two-sided p ~ 6e-5 per coordinate
DIVERGED = -2
UNASSIGNED = -1
UNCONVERGED = -3
PHASE_SLIP = -4
MAX_PHASE_SLIPS = 0.25  # fraction of runs that may flip an orbit's phase within the tail
# Runs whose divergence differs from the reference map's are starts near a basin boundary
# (SGD noise decides); up to this fraction of them is excluded with a note, more is a failure.
MISMATCH_ALLOWANCE = 0.05
# The reference map is iterated in NumPy from at most this many starts when the expected update
# is a sum over the dataset (PJAP): (starts x rows) work per step.
PJAP_REFERENCE_RUNS = 64
# A basin tolerance wider than this fraction of the clip box cannot separate a wall from the
# interior (near a wall the linear noise model's 1 / (1 - rho) blows up): never a pass.
MAX_BOX_FRACTION = 0.05
# Trajectory check: runs compared (paths x noise propagation cost) and the family-wise false
# alarm probability spread over its log points (Bonferroni).
TRAJECTORY_RUNS = 64
TRAJECTORY_FAMILY_P = 1e-4
TRAJECTORY_PERSISTENCE = 3  # consecutive failing log points needed for a failure
# Largest linearised SGD spread (sd) along a reference path, relative to 1 + |path|, for which
# the trajectory check trusts the linear noise model for that run.
LINEAR_NOISE_LIMIT = 0.05
STATUSES = ("passed", "failed", "inconclusive")


@dataclass
class Basin:
    """Runs that ended near one predicted attractor point (a fixed point, or one phase of a
    period-2 orbit as the tail average sees it).

    Attributes:
        point: the predicted point.
        runs: how many runs ended in it.
        observed_mean: mean of their tail-averaged final policies.
        reference_mean: mean of the reference map's tail averages from the same starts (the
            point itself where a run's reference went to another basin).
        error: ``max(run_error, prediction_error)``, the number the verdict compares.
        tolerance: the derived tolerance for that error (the only one applied to the basin).
        passed: ``error <= tolerance`` (and the tolerance is finite).
        kind: ``"fixed point"``, ``"period-2 orbit"`` or ``"wall"`` (on the clip box).
        run_error: distance between ``observed_mean`` and ``reference_mean``.
        prediction_error: how far the reference map moves from ``point`` over the horizon.
    """

    point: tuple[float, ...]
    runs: int
    observed_mean: tuple[float, ...]
    error: float
    tolerance: float
    passed: bool
    reference_mean: tuple[float, ...] = ()
    kind: str = "fixed point"
    run_error: float = math.nan
    prediction_error: float = math.nan


@dataclass
class VerificationResult:
    """Predicted vs observed for one game, data model and trainer setting.

    Attributes:
        status: ``"passed"``, ``"failed"`` or ``"inconclusive"``.
        reasons: why (one sentence each); also notes on excluded runs.
        predicted: predicted fixed points of the trained map; ``stable`` is for that map.
        observed_mean: final policy averaged over the runs of the largest basin
            (drift mode: over all compared runs).
        tolerance: derived tolerance of that check (NaN when there was none).
        divergent_runs: runs whose policy became non-finite or exceeded ``bound``.
        final_policies: ``(S, n)`` tail-averaged final policies (NaN for divergent runs).
        basins: per target point, its runs and check.
        basin_of_run: ``(S,)`` index into ``basins``; -1 near no prediction, -2 divergent,
            -3 not converged (tracking the reference map, which has not reached an attractor),
            -4 flipped the phase of a period-2 orbit within the averaged tail.
        mode: ``"fixed_point"`` or ``"drift"`` (no stable attractor predicted).
        expected_divergent_runs: runs whose reference map diverges.
        orbits: predicted stable period-2 orbits of the trained map (joint points).
        details: the tolerance's ingredients and other diagnostics.
        trajectories, dataset, initial_policies: the raw material, for plots.
    """

    status: str
    reasons: list[str]
    predicted: list[FixedPoint]
    observed_mean: tuple[float, ...]
    tolerance: float
    divergent_runs: int
    final_policies: np.ndarray
    basins: list[Basin]
    basin_of_run: np.ndarray
    mode: str
    expected_divergent_runs: int
    orbits: list[dict] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    trajectories: Trajectory | None = None
    dataset: np.ndarray | None = None
    initial_policies: np.ndarray | None = None

    @property
    def passed(self) -> bool:
        """True iff ``status == "passed"``."""
        return self.status == "passed"

    @property
    def compared_points(self) -> int:
        """Runs whose result was compared with a prediction or the reference map (divergent
        and excluded runs are not): 0 means the verdict rests on divergence alone."""
        if self.mode == "fixed_point":
            return int(sum(b.runs for b in self.basins))
        return int(self.details.get("compared_runs", 0))

    @property
    def verdict(self) -> str:
        """The status, with what it rests on when that is not a comparison of points.

        Example:
            >>> r = VerificationResult("passed", [], [], (math.nan,), math.nan, 2,
            ...                        np.full((2, 1), np.nan), [], np.full(2, -2), "drift", 2)
            >>> r.verdict
            'passed (all runs diverge, as predicted)'
        """
        if self.status == "passed" and self.compared_points == 0 and self.divergent_runs == len(
                self.basin_of_run) and self.expected_divergent_runs > 0:
            return "passed (all runs diverge, as predicted)"
        return self.status

    def _rows(self) -> list[tuple[str, str, str, str, str, str]]:
        """(point, stability, runs, observed, error, tolerance) per predicted point."""
        by_point = {tuple(b.point): b for b in self.basins}
        rows = []
        for p in self.predicted:
            kind = {True: "stable", False: "unstable", None: "degenerate"}[p.stable]
            b = by_point.get(tuple(float(v) for v in p.point))
            if b is not None and b.runs:
                rows.append((_fmt_point(p.point), kind, str(b.runs),
                             _fmt_point(b.observed_mean), f"{b.error:.2e}",
                             f"{b.tolerance:.2e} {'ok' if b.passed else 'FAIL'}"))
            else:
                rows.append((_fmt_point(p.point), kind, "0" if b is not None else "", "",
                             "", ""))
        return rows

    def __repr__(self) -> str:
        """One line: verdict, mode, runs and per-basin errors (the arrays are left out).

        Example:
            >>> VerificationResult("passed", [], [], (0.0,), 0.1, 0, np.zeros((3, 1)), [],
            ...                    np.zeros(3, int), "drift", 0)
            VerificationResult(PASSED, drift, 3 runs, 0 divergent (expected 0), observed (0.0000) tolerance 1.00e-01)
        """  # noqa: E501 (a doctest line cannot wrap)
        verdict = self.status.upper()
        head = (f"{verdict}, {self.mode}, {len(self.basin_of_run)} runs, "
                f"{self.divergent_runs} divergent (expected {self.expected_divergent_runs})")
        occupied = [b for b in self.basins if b.runs]
        if occupied:
            parts = [f"{_fmt_point(b.point)}: {b.runs} runs, error {b.error:.2e} <= "
                     f"{b.tolerance:.2e}? {'yes' if b.passed else 'NO'}" for b in occupied]
            return f"VerificationResult({head}, basins [{'; '.join(parts)}])"
        return (f"VerificationResult({head}, observed {_fmt_point(self.observed_mean)} "
                f"tolerance {self.tolerance:.2e})")

    def _repr_markdown_(self) -> str:
        """A table of predicted vs observed points, for notebooks."""
        lines = [f"**{self.status.upper()}** ({self.mode} mode, "
                 f"{len(self.basin_of_run)} runs, {self.divergent_runs} divergent, expected "
                 f"{self.expected_divergent_runs})", "",
                 "| predicted | kind | runs | observed mean | error | tolerance |",
                 "|---|---|---:|---|---:|---|"]
        lines += ["| " + " | ".join(r) + " |" for r in self._rows()]
        if not self.predicted:
            lines.append(f"| none (drift) | | | {_fmt_point(self.observed_mean)} | | "
                         f"{self.tolerance:.2e} |")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The same table as HTML."""
        import html

        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
            for r in self._rows())
        if not self.predicted:
            cells += (f"<tr><td>none (drift)</td><td></td><td></td>"
                      f"<td>{_fmt_point(self.observed_mean)}</td><td></td>"
                      f"<td>{self.tolerance:.2e}</td></tr>")
        head = "".join(f"<th>{h}</th>" for h in ("predicted", "kind", "runs", "observed mean",
                                                 "error", "tolerance"))
        verdict = self.status.upper()
        return (f"<p><b>{verdict}</b> ({self.mode} mode, {len(self.basin_of_run)} runs, "
                f"{self.divergent_runs} divergent, expected {self.expected_divergent_runs})</p>"
                f"<table><tr>{head}</tr>{cells}</table>")

    def summary(self) -> dict:
        """JSON-ready summary with the CLI contract's keys first (``tolerance`` only if finite).

        Example:
            >>> r = VerificationResult("inconclusive", ["no run"], [], (0.0,), math.inf, 0,
            ...                        np.zeros((1, 1)), [], np.zeros(1, int), "drift", 0)
            >>> s = r.summary(); s["status"], s["passed"], "tolerance" in s
            ('inconclusive', False, False)
        """
        out: dict = {
            "status": self.status,
            "verdict": self.verdict,
            "compared_points": self.compared_points,
            "reasons": list(self.reasons),
            "passed": self.passed,
            "predicted": [{"point": [float(v) for v in p.point], "stable": p.stable}
                          for p in self.predicted],
            "predicted_orbits": self.orbits,
            "observed_mean": [float(v) for v in self.observed_mean],
        }
        if math.isfinite(self.tolerance):
            out["tolerance"] = float(self.tolerance)
        out.update({
            "divergent_runs": int(self.divergent_runs),
            "expected_divergent_runs": int(self.expected_divergent_runs),
            "unassigned_runs": (int(np.sum(self.basin_of_run == UNASSIGNED))
                                if self.mode == "fixed_point" else 0),
            "unconverged_runs": int(np.sum(self.basin_of_run == UNCONVERGED)),
            "mode": self.mode,
            "runs": int(len(self.basin_of_run)),
            "basins": [asdict(b) for b in self.basins],
            "details": self.details,
        })
        return out


def _fmt_point(point) -> str:
    return "(" + ", ".join(f"{float(v):.4f}" for v in point) + ")"
