"""Predict with the symbolic core, train many agents, compare: the verification harness.

:func:`verify_game` samples one finite dataset from a data model, predicts where the *trained
update* goes for that dataset, trains ``seeds`` independent runs in one ``jit(vmap)`` call and
compares, with a tolerance derived from the run itself (no hand-tuned slack). The verdict is a
``status``: ``passed``, ``failed`` or ``inconclusive``, with ``reasons``; a tolerance that is not
finite never passes anything.

* Independent reference. The expected update is rebuilt by :mod:`verify.reference` from SymPy
  (``lambdify`` to NumPy, float64), never from the trainer's JAX gradient, and iterated with the
  trainer's step, clip box and sampler: ``theta <- P_box(theta + lr G(theta))``.
* Predictions for the map, not the flow. For the decoupled BRUD field (uniform sampling, or PJAP
  with importance weights, whose expectation is uniform BRUD) each agent's 1-D SGD map is
  analysed exactly: fixed points inside the box, walls where the field points outwards, and
  period-2 orbits, each stable iff ``|multiplier| < 1`` (so ``lr * h`` outside ``(0, 2)`` makes a
  flow-stable point unstable, and the orbit SGD settles on instead is predicted). For PJAP
  without importance weights the fixed points of the prioritised field (and of its faces on the
  clip box) are judged by the spectral radius of the projected map's Jacobian.
* SGD noise. Near a stable point with map multiplier ``rho`` (spectral radius of
  ``I + lr J``) and per-sample gradient variance ``s^2``, SGD with batch ``B`` is an AR(1)
  process with stationary variance ``lr^2 s^2 / (B (1 - rho^2))`` (``= lr s^2 / (B h (2 - lr
  h))`` for a real contraction rate ``h``); on a period-2 orbit the two-step map has multiplier
  ``mu`` and variance ``lr^2 (s_a^2 F'(b)^2 + s_b^2) / (B (1 - mu^2))``; on a wall the reflected
  walk is exponential with mean ``lr s^2 / (2 B |g|)``. With importance weights ``s^2 / B`` is
  the self-normalised batch estimator's variance and its bias a deterministic term, both
  estimated by simulating the sampler at the point (heavy-tailed weights defeat the delta
  method; see :meth:`verify.reference.ReferenceField.variance`).
* Iterate averaging. Each run is summarised by the mean of its last ``tail`` fraction of logged
  iterates (spacing ``k``, correlation ``r = rho^k``): variance ``v / m * (1 + r) / (1 - r)``.
* Seeds. Runs are independent given the dataset, so the basin mean's variance divides by the
  number of runs in it. The verdict allows ``z = 4`` standard errors. Each run is compared with
  the reference map's tail average *from the same start*, which carries the transient exactly.
* Deterministic terms: the O(lr) bias of SGD on a curved field (``lr |G''| v / (2 (1 - rho))``),
  float32 rounding, and the importance-weighting bias.
* Finite data. The prediction is for the dataset actually used; the population prediction's
  distance is reported separately (``finite_data_shift``, expected size ``s / (h sqrt(N))``).

Games with no stable attractor are checked in "drift" mode: the mean final policy must match the
reference map's from the same starts within ``z`` standard errors of the mean gap (from the
spread of the independent runs; fewer than 8 comparable runs is inconclusive) plus float32
rounding. Runs whose policy becomes non-finite or leaves ``|theta| <= bound`` are *divergent*:
counted, excluded from means, and compared with whether the reference map from the same start
diverges (all runs diverging where the map diverges is a confirmed prediction).
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from brud_analysis.data import DataModel, Empirical
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from brud_analysis.solve import FixedPoint
from verify.datasets import empirical_model, sample_dataset
from verify.polygames import GradientEstimator, OfflineConfig, Trajectory, make_offline_train
from verify.reference import (
    MapRun,
    ReferenceField,
    agent_orbits,
    path_variance,
    reference_map,
)
from verify.sampling import PJAPConfig

Z_SCORE = 4.0  # standard errors allowed: two-sided p ~ 6e-5 per coordinate
FLOAT32_EPS = float(np.finfo(np.float32).eps)
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
STATUSES = ("passed", "failed", "inconclusive")
Predictor = Callable[[Game, Empirical], Sequence[FixedPoint]]


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
        error: distance between ``observed_mean`` and ``reference_mean``.
        tolerance: the derived tolerance for that error.
        passed: ``error <= tolerance`` (and the tolerance is finite).
        kind: ``"fixed point"``, ``"period-2 orbit"`` or ``"wall"`` (on the clip box).
    """

    point: tuple[float, ...]
    runs: int
    observed_mean: tuple[float, ...]
    error: float
    tolerance: float
    passed: bool
    reference_mean: tuple[float, ...] = ()
    kind: str = "fixed point"


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


def _log_every(steps: int, max_points: int = 200, even: bool = False) -> int:
    """Largest logging interval dividing ``steps`` with at most ``max_points`` logs (even if
    asked and possible: a period-2 orbit is then always logged at the same phase)."""
    every = max(1, steps // max_points)
    while every > 1 and (steps % every or (even and every % 2)):
        every -= 1
    if even and every % 2 and steps % 2 == 0:
        every = 2
    return every


def _as_fixed_points(points: Sequence) -> list[FixedPoint]:
    out = []
    for p in points:
        if isinstance(p, FixedPoint):
            out.append(p)
        elif hasattr(p, "point"):  # e.g. brud_analysis.pjap.PJAPFixedPoint
            out.append(FixedPoint(tuple(map(float, p.point)), None, getattr(p, "stable", None),
                                  tuple(getattr(p, "eigenvalues", ()))))
        else:  # a bare coordinate tuple: stability unknown, treated as a stable target
            out.append(FixedPoint(tuple(map(float, p)), None, True, ()))
    return out


def predict_fixed_points(game: Game, model: Empirical, pjap: PJAPConfig | None = None,
                         regulariser=None) -> list[FixedPoint]:
    """Predicted fixed points of the expected *flow* for the finite dataset ``model``.

    Symbolic BRUD, or the PJAP prioritised field of :mod:`brud_analysis.pjap` (exact finite
    sum; a priority exponent ``w`` is folded in as ``alpha * w`` and ``eps ** w``). With
    importance weights the expected update is uniform BRUD, so BRUD's points are returned.
    :func:`verify_game` then judges each for the trained map.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> pts = predict_fixed_points(twin_peaks(), Empirical([[0.5, 0.5]]))
        >>> [round(v, 4) for v in pts[0].point], pts[0].stable   # 2.5 / (2 + 8 * 0.25)
        ([0.625, 0.625], True)
    """
    if regulariser is not None and (pjap is None or pjap.importance_weights):
        from brud_analysis.regularisers import regularised_fixed_points  # beyond the paper

        return list(regularised_fixed_points(game, model, regulariser).points)
    if pjap is None or pjap.importance_weights:
        from brud_analysis.solve import brud_fixed_points

        return list(brud_fixed_points(game, model).points)
    from brud_analysis.pjap import pjap_fixed_points

    lo, hi = model.samples.min(axis=0), model.samples.max(axis=0)
    pad = 0.5 * (hi - lo) + 0.5
    box = list(zip((lo - pad).tolist(), (hi + pad).tolist(), strict=True))
    points = pjap_fixed_points(game, model, pjap.alpha * pjap.exponent,
                               pjap.eps**pjap.exponent, pjap.distance, box=box,
                               regulariser=regulariser)
    return _as_fixed_points(points)


# ---------------------------------------------------------------------------- predictions


@dataclass
class _Target:
    """One point the tail average of a run can settle at, with its noise model."""

    point: np.ndarray
    kind: str
    variance: np.ndarray        # (n,) stationary variance of one iterate, per agent
    correlation: np.ndarray     # (n,) correlation of consecutive logged iterates
    deterministic: float        # bias + rounding + importance bias (distance units)
    single_tol: float = math.nan
    orbit: tuple = ()            # which joint orbit (phases of one orbit share it)


def _orbit_noise(ref: ReferenceField, point: np.ndarray, agent: int, values: tuple[float, ...],
                 phase: int, orbit, lr: float, batch: int, every: int, clip: float | None
                 ) -> tuple[float, float, float]:
    """(variance, correlation of logs ``every`` apart, deterministic) for one agent."""
    g = ref.polys[agent]
    x = values[phase]

    def s2(v: float) -> float:
        q = point.copy()
        q[agent] = v
        return float(ref.variance(q, batch)[agent])

    def slope(v: float) -> float:
        f = v + lr * g(v)
        if clip is not None and not -clip <= f <= clip:
            return 0.0
        return float(1 + lr * g.deriv()(v))

    curv = float(max(abs(g.deriv(2)(v)) for v in values))
    q = point.copy()
    q[agent] = x
    is_bias = abs(float(ref.importance_bias(q, batch)[agent]))
    if orbit.period == 1 and orbit.on_wall[0]:
        push = abs(float(g(x)))
        offset = lr * s2(x) / (2 * batch * push)
        tau = max(1.0, s2(x) / (2 * batch * push * push))  # relaxation time, in steps
        return offset**2, math.exp(-every / tau), offset + lr * is_bias / 1.0
    if orbit.period == 1:
        rho = abs(slope(x))
        v = lr * lr * s2(x) / (batch * (1 - rho * rho))
        gap = 1 - rho
        corr = rho**every
    else:
        other = values[1 - phase]
        mu = abs(slope(x) * slope(other))
        v = lr * lr * (s2(x) * slope(other) ** 2 + s2(other)) / (batch * (1 - mu * mu))
        gap = 1 - math.sqrt(mu)
        corr = mu ** (every / 2)
    deterministic = (lr * curv * v / (2 * gap) + 8 * FLOAT32_EPS * (1 + abs(x)) / gap
                     + lr * is_bias / gap)
    return v, corr, deterministic


def _decoupled_predictions(ref: ReferenceField, lr: float, clip: float | None, batch: int,
                           every: int) -> tuple[list[FixedPoint], list[dict], list[_Target],
                                                list[str]]:
    """Exact per-agent analysis of the SGD map for the decoupled BRUD field."""
    per_agent = [agent_orbits(ref.polys[i], lr, clip) for i in range(ref.n)]
    predicted = []
    for combo in itertools.product(*[[o for o in orbits if o.period == 1]
                                     for orbits in per_agent]):
        fixed = tuple(o.values[0] for o in combo)
        eig = tuple(complex(ref.polys[i].deriv()(v)) for i, v in enumerate(fixed))
        predicted.append(FixedPoint(fixed, None, all(o.stable for o in combo), eig))
    targets, orbits_out, notes = [], [], []
    stable_per_agent = [[o for o in orbits if o.stable] for orbits in per_agent]
    for i, orbits in enumerate(per_agent):
        for o in orbits:
            if o.period == 1 and o.flow_stable and not o.stable and not o.on_wall[0]:
                h = -float(ref.polys[i].deriv()(o.values[0]))
                notes.append(f"agent {ref.game.agent_names[i]}: {o.values[0]:.4g} is stable for "
                             f"the flow but lr*h = {lr * h:.3g} is outside (0, 2): SGD does not "
                             "settle there")
    for combo in itertools.product(*stable_per_agent):
        if any(o.period == 2 for o in combo):
            a = tuple(o.values[0] for o in combo)
            b = tuple(o.values[-1] for o in combo)
            orbits_out.append({"points": [list(a), list(b)], "stable": True,
                               "kind": "period-2 orbit"})
        for phases in itertools.product(*[range(o.period) for o in combo]):
            point = np.array([o.values[p] for o, p in zip(combo, phases, strict=True)])
            var, corr, det = np.zeros(ref.n), np.zeros(ref.n), 0.0
            for i, (o, p) in enumerate(zip(combo, phases, strict=True)):
                var[i], corr[i], d = _orbit_noise(ref, point, i, o.values, p, o, lr, batch,
                                                  every, clip)
                det += d
            kind = ("period-2 orbit" if any(o.period == 2 for o in combo) else
                    "wall" if any(o.on_wall[0] for o in combo) else "fixed point")
            targets.append(_Target(point, kind, var, corr, det, orbit=tuple(map(id, combo))))
    return predicted, orbits_out, targets, notes


def _box_points(ref: ReferenceField, clip: float, flow_points: list[FixedPoint]
                ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed points of the projected map for a non-decoupled field: interior zeros of ``G``,
    and on every face of the box the zeros of the free coordinates where the pinned ones'
    field points outwards. Returns ``(point, pinned mask)`` pairs."""
    from brud_analysis.pjap import find_fixed_points

    n = ref.n
    out = [(np.asarray(p.point), np.zeros(n, bool)) for p in flow_points
           if np.all(np.abs(p.point) < clip)]
    for k in range(1, n + 1):
        for pinned in itertools.combinations(range(n), k):
            for signs in itertools.product((-clip, clip), repeat=k):
                free = [j for j in range(n) if j not in pinned]

                def full(z, pinned=pinned, signs=signs, free=free):
                    x = np.empty(n)
                    x[list(pinned)] = signs
                    x[free] = z
                    return x

                def free_field(z: np.ndarray, full=full, free=free) -> np.ndarray:
                    return ref.field(full(z))[free]

                if free:
                    cands = find_fixed_points(free_field, [(-clip, clip)] * len(free),
                                              starts_per_axis=5)
                    zs = [np.asarray(c.point) for c in cands if np.all(np.abs(c.point) < clip)]
                else:
                    zs = [np.zeros(0)]
                for z in zs:
                    x = full(z)
                    g = ref.field(x)
                    if all(np.sign(s) * g[j] > 0 for j, s in zip(pinned, signs, strict=True)):
                        mask = np.zeros(n, bool)
                        mask[list(pinned)] = True
                        out.append((x, mask))
    return out


def _joint_predictions(ref: ReferenceField, flow_points: list[FixedPoint], lr: float,
                       clip: float | None, batch: int, every: int
                       ) -> tuple[list[FixedPoint], list[_Target], list[str]]:
    """Period-1 points of the projected SGD map for a coupled field (PJAP, or given points)."""
    if clip is not None:
        candidates = _box_points(ref, clip, flow_points)
        flow_stable = {tuple(np.round(p.point, 9)): p.stable for p in flow_points}
    else:
        candidates = [(np.asarray(p.point, float), np.zeros(ref.n, bool)) for p in flow_points]
        flow_stable = {tuple(np.round(p.point, 9)): p.stable for p in flow_points}
    predicted, targets, notes = [], [], []
    for x, pinned in candidates:
        jac = ref.jacobian(x)
        step = np.eye(ref.n) + lr * jac
        step[pinned] = 0.0  # a projected coordinate pushed outwards stays on the wall
        rho = float(np.max(np.abs(np.linalg.eigvals(step))))
        claimed = flow_stable.get(tuple(np.round(x, 9)), True)
        stable = bool(claimed) and rho < 1
        eig = tuple(complex(e) for e in np.linalg.eigvals(jac))
        predicted.append(FixedPoint(tuple(map(float, x)), None, stable, eig))
        if claimed and not rho < 1:
            notes.append(f"{tuple(round(float(v), 4) for v in x)} is stable for the flow but the "
                         f"SGD map's multiplier there is {rho:.3g} >= 1 (lr {lr}): SGD does not "
                         "settle there; period-2 orbits are predicted only for the decoupled "
                         "BRUD field")
        if not stable:
            continue
        s2 = ref.variance(x, batch)
        g = ref.field(x)
        var = lr * lr * s2 / (batch * (1 - rho * rho))
        corr = np.full(ref.n, rho**every)
        for j in np.flatnonzero(pinned):  # reflected walk on the wall
            offset = lr * s2[j] / (2 * batch * abs(g[j]))
            var[j] = offset**2
            corr[j] = math.exp(-every / max(1.0, s2[j] / (2 * batch * g[j] ** 2)))
        gap = 1 - rho
        is_bias = float(np.linalg.norm(ref.importance_bias(x, batch)))
        det = (lr * ref.curvature(x) * float(np.max(var)) / (2 * gap)
               + 8 * FLOAT32_EPS * (1 + float(np.max(np.abs(x)))) / gap + lr * is_bias / gap
               + float(np.sum(np.sqrt(var[pinned]))))
        kind = "wall" if pinned.any() else "fixed point"
        targets.append(_Target(x, kind, var, corr, det))
    return predicted, targets, notes


# ---------------------------------------------------------------------------- training


class _Compiled:
    """The trainer, jitted once per (game, trainer setting): one compilation serves every
    dataset of the same shape (for checks of a few seconds, compiling is what costs)."""

    def __init__(self, game: Game, config: OfflineConfig) -> None:
        self.train = jax.jit(jax.vmap(make_offline_train(game, config), in_axes=(0, None, 0)))


_COMPILED: OrderedDict = OrderedDict()
_COMPILED_KEEP = 8


def _compiled(game: Game, config: OfflineConfig) -> _Compiled:
    key = (str(game.reward), game.agent_names, config)
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
    else:
        _COMPILED[key] = _Compiled(game, config)
        while len(_COMPILED) > _COMPILED_KEEP:
            _COMPILED.popitem(last=False)
    return _COMPILED[key]


def _default_inits(key: jax.Array, dataset: np.ndarray, predicted: list[FixedPoint],
                   seeds: int, clip: float | None, groups: int | None = None) -> np.ndarray:
    """Uniform starts in a box around the data and the stable points; with ``groups``, only
    that many distinct starts, each shared by consecutive runs (their spread is then SGD noise
    alone, which drift mode uses to estimate it)."""
    mean, std = dataset.mean(axis=0), dataset.std(axis=0)
    lo, hi = mean - 2 * std - 0.5, mean + 2 * std + 0.5
    for p in predicted:
        if p.stable:
            lo = np.minimum(lo, np.asarray(p.point) - 0.5)
            hi = np.maximum(hi, np.asarray(p.point) + 0.5)
    if clip is not None:
        lo, hi = np.maximum(lo, -clip), np.minimum(hi, clip)
    distinct = seeds if groups is None else groups
    u = np.asarray(jax.random.uniform(key, (distinct, dataset.shape[1]), jnp.float32))
    starts = (lo + (hi - lo) * u).astype(np.float32)
    return starts[np.arange(seeds) * distinct // seeds]


def verify_game(
    game: Game, data: DataModel, *, seeds: int = 256, steps: int = 2000, lr: float = 0.01,
    batch_size: int = 64, pjap: PJAPConfig | None = None, init: np.ndarray | None = None,
    dataset_size: int = 1000, seed: int = 0, clip: float | None = None, bound: float = 1e3,
    tail: float = 0.25, predicted: Sequence | None = None, predict: Predictor | None = None,
    gradient: GradientEstimator | None = None, regulariser=None,
) -> VerificationResult:
    """Train ``seeds`` offline SGD runs on one dataset from ``data`` and check the prediction.

    Args:
        game: a numeric polynomial game.
        data: data model; an :class:`Empirical` model is used as the dataset itself.
        init: ``(n,)`` or ``(seeds, n)`` initial policies; default uniform in a box around the
            data and the predicted stable points (inside the clip box).
        predicted: fixed points to check against instead of predicting (any objects with
            ``.point`` / ``.stable``, or coordinate tuples); ``predict(game, model)`` likewise.
            Their stability is re-judged for the trained map.
        bound: ``|theta|`` beyond which a run counts as divergent.
        tail: fraction of the logged trajectory averaged into each run's final policy.
        gradient: the trainer's gradient estimator (:class:`~verify.polygames.OfflineConfig`);
            the prediction and the reference never use it, so a wrong estimator is caught.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> from brud_analysis.data import Normal
        >>> r = verify_game(twin_peaks(), Normal([0.6, 0.6], [0.3, 0.3]), seeds=8, steps=400,
        ...                 lr=0.05)
        >>> r.status, r.divergent_runs
        ('passed', 0)
    """
    game.require_numeric()
    if data.n_agents != game.n_agents:
        raise BrudError(f"the data has {data.n_agents} agents, the game {game.n_agents}")
    if seeds < 1 or steps < 1 or not 0 < tail <= 1:
        raise BrudError("seeds and steps must be >= 1 and tail in (0, 1]")
    key_data, key_init, key_train = jax.random.split(jax.random.key(seed), 3)
    if isinstance(data, Empirical):
        dataset = jnp.asarray(data.samples, jnp.float32)
    else:
        dataset = sample_dataset(key_data, data, dataset_size)
    data_np = np.asarray(dataset)
    model = empirical_model(data_np)
    ref = ReferenceField(game, data_np, pjap, regulariser)
    reasons: list[str] = []

    # Predict for the map that is trained. Orbits of period 2 need an even logging interval.
    own = predicted is None and predict is None
    every = _log_every(steps)
    if own and ref.decoupled:
        cycles = any(o.period == 2 and o.stable for i in range(ref.n)
                     for o in agent_orbits(ref.polys[i], lr, clip))
        if cycles:
            every = _log_every(steps, even=True)
            if every % 2:
                reasons.append("a period-2 orbit is predicted but an odd number of steps cannot "
                               "log it at one phase: use an even --steps")
        points, orbits, targets, notes = _decoupled_predictions(ref, lr, clip, batch_size, every)
    else:
        flow = (_as_fixed_points(predicted) if predicted is not None else
                _as_fixed_points(predict(game, model)) if predict is not None else
                predict_fixed_points(game, model, pjap, regulariser))
        points, targets, notes = _joint_predictions(ref, flow, lr, clip, batch_size, every)
        orbits = []
    reasons += notes

    if init is None:
        # Drift mode: groups of >= 8 runs from one start, for an empirical noise estimate.
        groups = None if targets else max(1, seeds // 8)
        inits = _default_inits(key_init, data_np, points, seeds, clip, groups)
    else:
        inits = np.broadcast_to(np.asarray(init, np.float32), (seeds, game.n_agents)).copy()
    config = OfflineConfig(steps=steps, batch_size=batch_size, lr=lr, clip=clip, pjap=pjap,
                           log_every=every, gradient=gradient, regulariser=regulariser)
    traj = jax.tree.map(np.asarray, _compiled(game, config).train(
        jax.random.split(key_train, seeds), dataset, jnp.asarray(inits)))
    policy = traj.policy  # (S, L+1, n)
    with np.errstate(invalid="ignore"):
        divergent = ~np.all(np.isfinite(policy), axis=(1, 2)) | (
            np.nanmax(np.abs(policy), axis=(1, 2)) > bound)
    n_logs = policy.shape[1] - 1
    m_tail = max(1, int(round(tail * n_logs)))
    final = np.where(divergent[:, None], np.nan, policy[:, -m_tail:].mean(axis=1))

    # The independent reference from the same starts.
    n_ref = seeds if ref.decoupled else min(seeds, PJAP_REFERENCE_RUNS)
    run = reference_map(ref, inits[:n_ref], steps, lr, clip, bound, every, m_tail)
    ref_div = np.zeros(seeds, bool)
    ref_div[:n_ref] = run.diverged
    referenced = np.arange(seeds) < n_ref
    mismatch = referenced & (divergent != ref_div)
    details: dict = {
        "dataset_size": int(data_np.shape[0]), "steps": steps, "lr": lr,
        "batch_size": batch_size, "seeds": seeds, "tail_points": m_tail, "log_every": every,
        "z_score": Z_SCORE, "divergence_mismatches": int(mismatch.sum()),
        "reference": "SymPy -> NumPy expected update, iterated with the trainer's step"
                     + ("" if n_ref == seeds else f" (first {n_ref} starts)"),
    }
    failed = False
    if mismatch.sum() > MISMATCH_ALLOWANCE * n_ref:
        failed = True
        reasons.append(f"{int(mismatch.sum())} of {n_ref} runs diverge where the reference map "
                       "does not, or the reverse")
    elif mismatch.any():
        reasons.append(f"{int(mismatch.sum())} run(s) whose divergence differs from the "
                       "reference map's (starts near a basin boundary) are excluded")
    excluded = mismatch

    if targets:
        mode = "fixed_point"
        basins, basin_of_run, check_failed, observed, tolerance, check_reasons = _basin_check(
            targets, final, policy[:, -1], divergent | excluded, run, n_ref, m_tail, details,
            lambda idx: path_variance(ref, inits[idx], steps, lr, batch_size, every, m_tail)[0])
        failed |= check_failed
        reasons += check_reasons
        if pjap is None and regulariser is None and not isinstance(data, Empirical):
            details.update(_finite_data_shift(game, data, targets, ref, data_np.shape[0],
                                              lr))
    else:
        mode = "drift"
        basins = []
        basin_of_run = np.where(divergent, DIVERGED, UNASSIGNED)
        ok = referenced & ~divergent & ~ref_div & ~excluded
        observed, tolerance, drift_failed, drift_reasons = _drift_check(
            policy, run, ok, inits, ref, details,
            lambda idx: path_variance(ref, inits[idx], steps, lr, batch_size, every, m_tail)[1])
        failed |= drift_failed
        reasons += drift_reasons

    compared = (sum(b.runs for b in basins) if mode == "fixed_point"
                else int(details.get("compared_runs", 0)))
    all_diverged_as_predicted = bool(divergent.all() and ref_div[referenced].all())
    if failed:
        status = "failed"
    elif all_diverged_as_predicted:
        status = "passed"
        reasons.append("every run diverges, as the reference map predicts from every start")
    elif (compared == 0 or not math.isfinite(tolerance)
          or any(b.runs and not math.isfinite(b.tolerance) for b in basins)
          or any("odd number of steps" in r for r in reasons)):
        # Never a pass on an undefined or infinite tolerance, in any occupied basin.
        status = "inconclusive"
        if compared == 0:
            reasons.append("no run could be compared with a prediction")
        else:
            reasons.append("a derived tolerance is not finite")
    else:
        status = "passed"
    return VerificationResult(
        status=status, reasons=reasons, predicted=points,
        observed_mean=tuple(float(v) for v in observed), tolerance=float(tolerance),
        divergent_runs=int(divergent.sum()), final_policies=final, basins=basins,
        basin_of_run=np.asarray(basin_of_run), mode=mode,
        expected_divergent_runs=int(ref_div.sum()), orbits=orbits, details=details,
        trajectories=traj, dataset=data_np, initial_policies=inits,
    )


def _basin_check(targets: list[_Target], final: np.ndarray, last: np.ndarray, skip: np.ndarray,
                 run: MapRun,
                 n_ref: int, m_tail: int, details: dict,
                 path_var: Callable[[np.ndarray], np.ndarray]):
    """Assign runs to target points and check each occupied basin against the reference.

    A run that is near no target but whose reference map has not reached one either is compared
    with that reference alone, with the noise propagated along the path (``path_var``)."""
    seeds, n = final.shape
    centres = np.array([t.point for t in targets])
    averaged = []  # per target: (n,) variance of one run's tail average
    for t in targets:
        # Tail average of m correlated iterates; r -> 1 leaves one iterate's variance.
        r = np.minimum(t.correlation, 1 - 1e-12)
        averaged.append(np.minimum(t.variance, t.variance / m_tail * (1 + r) / (1 - r)))
        t.single_tol = Z_SCORE * math.sqrt(float(np.sum(averaged[-1]))) + t.deterministic
    single = np.array([t.single_tol for t in targets])

    # Where the reference map from each start ends, relative to the targets.
    ref_tail = np.full((seeds, n), np.nan)
    ref_tail[:n_ref] = run.tail_mean
    ref_ok = np.zeros(seeds, bool)
    ref_ok[:n_ref] = ~run.diverged
    ref_dist = np.linalg.norm(np.nan_to_num(ref_tail)[:, None] - centres[None], axis=2)
    ref_nearest = np.argmin(ref_dist, axis=1)
    ref_gap = ref_dist[np.arange(seeds), ref_nearest]
    ref_at_target = ref_ok & (ref_gap <= single[ref_nearest])
    moving = np.zeros(seeds, bool)
    moving[:n_ref] = np.linalg.norm(run.last - run.tail_start, axis=1) > single[
        ref_nearest[:n_ref]]
    ref_elsewhere = ref_ok & ~ref_at_target & ~moving  # settled where nothing is predicted

    basin_of_run = np.full(seeds, UNASSIGNED)
    basin_of_run[skip] = DIVERGED
    ok = ~skip
    dist = np.linalg.norm(np.nan_to_num(final)[:, None] - centres[None], axis=2)
    nearest = np.argmin(dist, axis=1)
    allowance = single[nearest] + np.where(ref_at_target & (ref_nearest == nearest), ref_gap, 0)
    close = ok & (dist[np.arange(seeds), nearest] <= allowance)
    basin_of_run[close] = nearest[close]
    # A weakly stable period-2 orbit can have its phase flipped by noise; a run that flipped
    # within the tail averages two phases of one orbit. Such runs are excluded, with a note.
    slipped = np.zeros(seeds, bool)
    for a, b in itertools.combinations(range(len(targets)), 2):
        ta, tb = targets[a], targets[b]
        if not ta.orbit or ta.orbit != tb.orbit:
            continue
        seg = tb.point - ta.point
        x = np.nan_to_num(final) - ta.point
        w = np.clip(x @ seg / (seg @ seg), 0, 1)
        off = np.linalg.norm(x - w[:, None] * seg[None], axis=1)
        # ... and whose last iterate sits on one of the two phases (a run resting between
        # them, e.g. at the fixed point inside the orbit, did not flip).
        on_phase = np.zeros(seeds, bool)
        for t in (ta, tb):
            one = Z_SCORE * math.sqrt(float(np.sum(t.variance))) + t.deterministic
            on_phase |= np.linalg.norm(np.nan_to_num(last) - t.point, axis=1) <= one
        slipped |= ok & ~close & on_phase & (off <= max(ta.single_tol, tb.single_tol))
    if slipped.sum() > MAX_PHASE_SLIPS * max(1, int(ok.sum())):
        # Flips need a noise event; when most runs sit between the phases the orbit is not
        # what they do (or it is too weakly stable for the linear noise model): not excused.
        slipped[:] = False
    basin_of_run[slipped] = PHASE_SLIP

    # Not at a target, but tracking a reference map that has not reached one yet.
    candidates = np.flatnonzero(ok & ~close & ~slipped & ref_ok & ~ref_at_target & moving)
    if candidates.size:
        spread = path_var(candidates)
        gap = np.linalg.norm(final[candidates] - ref_tail[candidates], axis=1)
        within = gap <= Z_SCORE * np.sqrt(spread) + np.array(
            [targets[j].deterministic for j in nearest[candidates]])
        basin_of_run[candidates[within]] = UNCONVERGED

    reasons, failed = [], False
    basins = []
    for k, t in enumerate(targets):
        members = basin_of_run == k
        count = int(members.sum())
        if count:
            expected = np.where((ref_at_target & (ref_nearest == k))[:, None], ref_tail, t.point)
            mean = final[members].mean(axis=0)
            ref_mean = expected[members].mean(axis=0)
            # Members without a reference of their own (PJAP, beyond the referenced starts):
            # allow the largest transient seen among referenced members of this basin.
            unreferenced = members & ~(ref_at_target & (ref_nearest == k))
            transient = float(np.max(ref_gap[ref_at_target & (ref_nearest == k)], initial=0.0)
                              ) if unreferenced.any() else 0.0
            tol = Z_SCORE * math.sqrt(float(np.sum(averaged[k])) / count) + t.deterministic \
                + transient
            err = float(np.linalg.norm(mean - ref_mean))
        else:
            mean = ref_mean = np.full(n, np.nan)
            tol, err = math.nan, math.nan
        ok_basin = bool(count and math.isfinite(tol) and err <= tol)
        basins.append(Basin(tuple(map(float, t.point)), count, tuple(map(float, mean)), err,
                            float(tol), ok_basin, tuple(map(float, ref_mean)), t.kind))
        if count and not ok_basin:
            failed = failed or math.isfinite(tol)
            reasons.append(f"basin {tuple(round(float(v), 4) for v in t.point)}: mean of "
                           f"{count} runs is {err:.3g} from the reference, tolerance {tol:.3g}")
        details.setdefault("per_point", []).append({
            "point": t.point.tolist(), "kind": t.kind,
            "stationary_variance": t.variance.tolist(), "log_correlation": t.correlation.tolist(),
            "deterministic_terms": t.deterministic, "single_run_tolerance": t.single_tol})
    unassigned = int(np.sum(basin_of_run == UNASSIGNED))
    if unassigned:
        failed = True
        reasons.append(f"{unassigned} run(s) ended near no predicted attractor and away from "
                       "the reference map")
    if np.any(ref_elsewhere):
        failed = True
        where = ref_tail[np.flatnonzero(ref_elsewhere)[0]]
        reasons.append(f"the reference map from {int(ref_elsewhere.sum())} start(s) settles "
                       f"near {tuple(round(float(v), 4) for v in where)}, which is no predicted "
                       "attractor")
    if slipped.any():
        reasons.append(f"{int(slipped.sum())} run(s) flipped the phase of a period-2 orbit "
                       "within the averaged tail and are excluded")
    unconverged = int(np.sum(basin_of_run == UNCONVERGED))
    if unconverged:
        reasons.append(f"{unconverged} run(s) have not reached an attractor within the horizon "
                       "(they track the reference map, which has not either)")
    details["runs_in_reference_basin"] = int(np.sum(
        (basin_of_run >= 0) & ref_at_target & (ref_nearest == basin_of_run)))
    occupied = [b for b in basins if b.runs]
    main = max(occupied, key=lambda b: b.runs) if occupied else None
    observed = main.observed_mean if main else tuple([math.nan] * n)
    tolerance = main.tolerance if main else math.nan
    return basins, basin_of_run, failed, observed, tolerance, reasons


def _drift_check(policy: np.ndarray, run: MapRun, ok: np.ndarray, inits: np.ndarray,
                 ref: ReferenceField, details: dict,
                 path_var: Callable[[np.ndarray], np.ndarray]):
    """No stable attractor: the runs' final policies vs the reference map's from the same starts.

    Runs sharing a start (the default) estimate the SGD noise from their own spread, so each
    group's mean gap gets a z-test; runs with distinct starts use the noise propagated along
    the reference path instead. ``ok`` marks the runs to compare (all referenced)."""
    n_agents = policy.shape[-1]
    n_ok = int(ok.sum())
    details["compared_runs"] = n_ok
    if n_ok == 0:
        return tuple([math.nan] * n_agents), math.nan, False, []
    steps, lr = details["steps"], details["lr"]
    idx = np.flatnonzero(ok)
    last = policy[idx, -1]
    expected = run.last[idx]
    gaps = last - expected
    # float32: each update's rounding is at most eps * (|theta| + lr |G|), and it can be
    # systematic (the same rounding every step), so it adds up linearly.
    largest = float(np.max(np.abs(policy[idx])))
    increment = lr * float(np.max(np.abs(ref.field_many(expected))))
    rounding = steps * FLOAT32_EPS * (largest + increment)
    _, group = np.unique(inits[idx], axis=0, return_inverse=True)
    group = group.ravel()
    sizes = np.bincount(group)
    checks = []  # (error, tolerance) per group of runs sharing a start, or one for all
    if np.all(sizes >= 8):
        for g in range(len(sizes)):
            d = gaps[group == g]
            se = float(np.linalg.norm(d.std(axis=0, ddof=1))) / math.sqrt(len(d))
            checks.append((float(np.linalg.norm(d.mean(axis=0))), Z_SCORE * se + rounding))
        details["noise_estimate"] = "spread of runs sharing a start"
    else:
        var = path_var(idx)
        se = math.sqrt(float(np.sum(var))) / n_ok
        checks.append((float(np.linalg.norm(gaps.mean(axis=0))), Z_SCORE * se + rounding))
        details["noise_estimate"] = "linearised SGD noise along the reference path"
    error, tolerance = max(checks, key=lambda c: c[0] / c[1] if c[1] > 0 else math.inf)
    details.update({"reference_mean": expected.mean(axis=0).tolist(), "error": error,
                    "groups": len(checks)})
    reasons = []
    failed = bool(math.isfinite(tolerance) and not error <= tolerance)
    if failed:
        reasons.append(f"final policies are {error:.3g} from the reference map's (mean over runs "
                       f"from one start), tolerance {tolerance:.3g}")
    return tuple(last.mean(axis=0).tolist()), tolerance, failed, reasons


def _finite_data_shift(game, data, targets, ref: ReferenceField, n_rows, lr) -> dict:
    """How far the population prediction is from the finite-dataset one (reported, not used)."""
    try:
        from brud_analysis.solve import brud_fixed_points

        population = [p for p in brud_fixed_points(game, data).points if p.stable]
    except BrudError:
        return {}
    points = [t.point for t in targets if t.kind == "fixed point"]
    if not population or not points:
        return {}
    shifts, expected = [], []
    for p in points:
        q = min(population, key=lambda c: np.linalg.norm(np.subtract(c.point, p)))
        shifts.append(float(np.linalg.norm(np.subtract(q.point, p))))
        h = float(np.min(-np.linalg.eigvals(ref.jacobian(p)).real))
        s2 = float(np.sum(ref.variance(p)))
        expected.append(math.sqrt(s2 / n_rows) / h if h > 0 else math.inf)
    return {"population_predicted": [list(map(float, p.point)) for p in population],
            "finite_data_shift": shifts, "finite_data_shift_expected": expected}
