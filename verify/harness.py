"""Predict with the symbolic core, train many agents, compare: the verification harness.

:func:`verify_game` samples one finite dataset from a data model, predicts where learning goes
*for that dataset* (the symbolic BRUD fixed points of its divisor-N moments, or the PJAP fixed
points of its prioritised field), trains ``seeds`` independent runs in one ``jit(vmap)`` call and
compares, with a tolerance derived from the run itself (no hand-tuned slack):

* SGD noise. Near a stable point with contraction rate ``h`` (smallest ``-Re`` eigenvalue of the
  field's Jacobian) and per-sample gradient variance ``s^2``, SGD with step ``lr`` and batch ``B``
  is an AR(1) process with stationary variance ``v = lr s^2 / (B h (2 - lr h))``, i.e. the
  ``sqrt(lr / B)`` scaling divided by the curvature.
* Iterate averaging. Each run is summarised by the mean of its last ``tail`` fraction of logged
  iterates (spacing ``k`` steps, ``r = (1 - lr h)^k``): variance ``v / m * (1 + r) / (1 - r)``.
* Seeds. Runs are independent given the dataset, so the basin mean's variance divides by the
  number of runs in it. The verdict allows ``z = 4`` standard errors.
* Deterministic terms: the transient left from the farthest initialisation at the start of the
  tail, the O(lr) bias of SGD on a curved field (``|G''| v / (2h)``) and float32 rounding.
* Finite data. The prediction is for the dataset actually used, so dataset sampling error is not
  part of the tolerance; it is reported separately (``finite_data_shift``: distance between the
  population and finite-data predictions, expected size ``s / (h sqrt(N))``).

Games with no stable fixed point (sign agreement, decoupled) are checked in "drift" mode: the mean
final policy must match the deterministic flow of the same length (``lr * steps * field`` for a
constant field), within ``z`` standard errors of the mean gap (from the spread of the independent
runs; the linearised noise propagation ``T lr^2 s^2 / B`` for a constant field is reported too)
plus float32 rounding. Runs whose policy becomes non-finite or leaves
``|theta| <= bound`` are *divergent*: counted, excluded from means, and compared with whether the
deterministic flow from the same start diverges.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from brud_analysis.data import DataModel, Empirical
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from brud_analysis.solve import FixedPoint
from verify.datasets import empirical_model, sample_dataset
from verify.polygames import (
    OfflineConfig,
    Trajectory,
    brud_gradient,
    make_offline_train,
    regulariser_gradient,
    reward_function,
)
from verify.sampling import PJAPConfig, joint_action_distance, pjap_priority

Z_SCORE = 4.0  # standard errors allowed: two-sided p ~ 6e-5 per coordinate
FLOAT32_EPS = float(np.finfo(np.float32).eps)
DIVERGED = -2
UNASSIGNED = -1
Predictor = Callable[[Game, Empirical], Sequence[FixedPoint]]


@dataclass
class Basin:
    """Runs that ended near one predicted stable point.

    Attributes:
        point: the predicted fixed point.
        runs: how many runs ended in it.
        observed_mean: mean of their tail-averaged final policies.
        error: Euclidean distance between ``observed_mean`` and ``point``.
        tolerance: the derived tolerance for that mean.
        passed: ``error <= tolerance``.
    """

    point: tuple[float, ...]
    runs: int
    observed_mean: tuple[float, ...]
    error: float
    tolerance: float
    passed: bool


@dataclass
class VerificationResult:
    """Predicted vs observed for one game, data model and trainer setting.

    Attributes:
        predicted: predicted fixed points (symbolic BRUD, or PJAP) of the finite dataset.
        observed_mean: final policy averaged over the non-divergent runs of the largest basin
            (drift mode: over all non-divergent runs).
        tolerance: derived tolerance for ``observed_mean`` (see the module docstring).
        passed: verdict: every occupied basin within tolerance, no run outside every basin, and
            divergent runs exactly where the deterministic flow diverges.
        divergent_runs: runs whose policy became non-finite or exceeded ``bound``.
        final_policies: ``(S, n)`` tail-averaged final policies (NaN for divergent runs).
        basins: per predicted stable point, its runs and check.
        basin_of_run: ``(S,)`` index into ``basins``; -1 near no stable point, -2 divergent.
        mode: ``"fixed_point"`` or ``"drift"`` (no stable point predicted).
        expected_divergent_runs: runs whose deterministic flow diverges.
        details: the tolerance's ingredients and other diagnostics.
        trajectories: the runs' trajectories (numpy arrays), for plots.
        dataset: ``(N, n)`` the dataset trained on.
        initial_policies: ``(S, n)``.
    """

    predicted: list[FixedPoint]
    observed_mean: tuple[float, ...]
    tolerance: float
    passed: bool
    divergent_runs: int
    final_policies: np.ndarray
    basins: list[Basin]
    basin_of_run: np.ndarray
    mode: str
    expected_divergent_runs: int
    details: dict = field(default_factory=dict)
    trajectories: Trajectory | None = None
    dataset: np.ndarray | None = None
    initial_policies: np.ndarray | None = None

    def summary(self) -> dict:
        """JSON-ready summary with the CLI contract's keys first.

        Example:
            >>> r = VerificationResult([], (0.0,), 0.1, True, 0, np.zeros((1, 1)), [],
            ...                        np.zeros(1, int), "drift", 0)
            >>> list(r.summary())[:5]
            ['predicted', 'observed_mean', 'tolerance', 'passed', 'divergent_runs']
        """
        return {
            "predicted": [{"point": [float(v) for v in p.point], "stable": p.stable}
                          for p in self.predicted],
            "observed_mean": [float(v) for v in self.observed_mean],
            "tolerance": float(self.tolerance),
            "passed": bool(self.passed),
            "divergent_runs": int(self.divergent_runs),
            "expected_divergent_runs": int(self.expected_divergent_runs),
            "mode": self.mode,
            "runs": int(len(self.basin_of_run)),
            "unassigned_runs": (int(np.sum(self.basin_of_run == UNASSIGNED))
                                if self.mode == "fixed_point" else 0),
            "basins": [asdict(b) for b in self.basins],
            "details": self.details,
        }


def _log_every(steps: int, max_points: int = 200) -> int:
    every = max(1, steps // max_points)
    while steps % every:
        every -= 1
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
    """Predicted fixed points for the finite dataset ``model``: symbolic BRUD, or PJAP.

    PJAP uses the prioritised field of :mod:`brud_analysis.pjap` (exact finite sum); a priority
    exponent ``w`` is folded in as ``alpha * w`` and ``eps ** w``; with importance weights the
    expected update is uniform BRUD, so BRUD's points are returned.

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


def _expected_field_fn(reward, pjap: PJAPConfig | None, regulariser=None):
    """``G(theta, dataset)`` ``(n,)``: the sampler's expected update (uniform BRUD or PJAP with
    every priority fresh), and the per-sample gradient variance ``(n,)`` under that sampler."""

    def probabilities(theta, dataset):
        if pjap is None or pjap.importance_weights:
            return jnp.full(dataset.shape[0], 1.0 / dataset.shape[0], jnp.float32)
        d = joint_action_distance(dataset, theta, pjap.distance)
        # priority**w == max(exp(-w alpha d^2), eps**w): the same weights without a power,
        # whose second derivative is 0 * inf = NaN where exp underflows to zero.
        w = pjap_priority(d, pjap.alpha * pjap.exponent, pjap.eps**pjap.exponent)
        return w / jnp.sum(w)

    penalty = regulariser_gradient(regulariser) if regulariser is not None else None

    def per_sample(theta, dataset):  # (N, n)
        if penalty is not None:  # beyond the paper: the penalty's per-sample gradient too
            return jax.vmap(lambda row: brud_gradient(reward, theta, row[None])
                            + penalty(theta, row[None]))(dataset)
        return jax.vmap(lambda row: brud_gradient(reward, theta, row[None]))(dataset)

    def field_fn(theta, dataset):
        return probabilities(theta, dataset) @ per_sample(theta, dataset)

    def variance(theta, dataset):
        p = probabilities(theta, dataset)
        g = per_sample(theta, dataset)
        return p @ (g - p @ g) ** 2

    return field_fn, variance


def _flow(field_fn, steps: int, lr: float, clip: float | None, bound: float, theta0, dataset):
    """Euler flow ``theta += lr * G(theta)`` (the mean SGD path); ``(end, escaped)``."""

    def step(carry, _):
        theta, escaped = carry
        theta = theta + lr * field_fn(theta, dataset)
        if clip is not None:
            theta = jnp.clip(theta, -clip, clip)
        escaped = escaped | ~jnp.all(jnp.isfinite(theta)) | (jnp.max(jnp.abs(theta)) > bound)
        # Freeze an escaped path so that it stays finite (and flagged).
        return (jnp.where(escaped, theta0, theta), escaped), None

    (theta, escaped), _ = jax.lax.scan(step, (theta0, jnp.bool_(False)), None, length=steps)
    return theta, escaped


def _noise_along(field_fn, variance_fn, steps: int, lr: float, batch_size: int, theta0, dataset):
    """Variance of (SGD policy - flow) after ``steps``, summed over agents, from ``theta0``.

    Propagates ``v <- |1 + lr * lambda|^2 v + lr^2 s^2 / B`` along the flow with the Jacobian's
    largest real eigenvalue ``lambda`` and per-sample variance ``s^2`` re-evaluated every
    ``chunk`` steps (piecewise constant in between). For a constant field (the drift games) this
    is exactly ``steps * lr^2 s^2 / B``.
    """
    chunk = _log_every(steps, 50)

    def one_chunk(carry, _):
        x, v = carry
        lam = jnp.max(jnp.real(jnp.linalg.eigvals(jax.jacfwd(field_fn)(x, dataset))))
        grow = (1 + lr * lam) ** 2
        step_noise = lr * lr * jnp.sum(variance_fn(x, dataset)) / batch_size
        geometric = jnp.where(jnp.abs(grow - 1) < 1e-6, jnp.float32(chunk),
                              (grow**chunk - 1) / (grow - 1))
        v = v * grow**chunk + step_noise * geometric
        x = jax.lax.fori_loop(0, chunk, lambda _, y: y + lr * field_fn(y, dataset), x)
        return (x, v), None

    (_, v), _ = jax.lax.scan(one_chunk, (theta0, jnp.float32(0.0)), None, length=steps // chunk)
    return v


class _Compiled:
    """Everything :func:`verify_game` runs, jitted once per (game, trainer setting, bound).

    The dataset is an argument throughout, so one compilation serves every dataset of the same
    shape: for checks of a few seconds, compiling (not training) is what costs.
    """

    def __init__(self, game: Game, config: OfflineConfig, bound: float) -> None:
        field_fn, variance_fn = _expected_field_fn(reward_function(game), config.pjap,
                                                   config.regulariser)
        lr, clip, steps = config.lr, config.clip, config.steps
        self.train = jax.jit(jax.vmap(make_offline_train(game, config), in_axes=(0, None, 0)))
        self.field = jax.jit(field_fn)

        def local(x, dataset):  # Jacobian (n, n), second derivatives (n, n, n), variance (n,)
            return (jax.jacfwd(field_fn)(x, dataset),
                    jax.jacfwd(jax.jacfwd(field_fn))(x, dataset), variance_fn(x, dataset))

        self.local = jax.jit(local)
        self.flow = jax.jit(jax.vmap(partial(_flow, field_fn, steps, lr, clip, bound),
                                     in_axes=(0, None)))
        self.drift_noise = jax.jit(jax.vmap(
            partial(_noise_along, field_fn, variance_fn, steps, lr, config.batch_size),
            in_axes=(0, None)))


_COMPILED: OrderedDict = OrderedDict()
_COMPILED_KEEP = 8


def _compiled(game: Game, config: OfflineConfig, bound: float) -> _Compiled:
    key = (str(game.reward), game.agent_names, config, float(bound))
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
    else:
        _COMPILED[key] = _Compiled(game, config, bound)
        while len(_COMPILED) > _COMPILED_KEEP:
            _COMPILED.popitem(last=False)
    return _COMPILED[key]


class _FieldTools:
    """The compiled field functions bound to one dataset."""

    def __init__(self, compiled: _Compiled, dataset: jax.Array) -> None:
        self.compiled, self.dataset = compiled, dataset

    def field(self, x: jax.Array) -> jax.Array:
        return self.compiled.field(x, self.dataset)

    def local(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        return self.compiled.local(x, self.dataset)


def _default_inits(key: jax.Array, dataset: np.ndarray, predicted: list[FixedPoint],
                   seeds: int) -> np.ndarray:
    mean, std = dataset.mean(axis=0), dataset.std(axis=0)
    lo, hi = mean - 2 * std - 0.5, mean + 2 * std + 0.5
    for p in predicted:
        if p.stable:
            lo = np.minimum(lo, np.asarray(p.point) - 0.5)
            hi = np.maximum(hi, np.asarray(p.point) + 0.5)
    u = np.asarray(jax.random.uniform(key, (seeds, dataset.shape[1]), jnp.float32))
    return (lo + (hi - lo) * u).astype(np.float32)


def verify_game(
    game: Game, data: DataModel, *, seeds: int = 256, steps: int = 2000, lr: float = 0.01,
    batch_size: int = 64, pjap: PJAPConfig | None = None, init: np.ndarray | None = None,
    dataset_size: int = 1000, seed: int = 0, clip: float | None = None, bound: float = 1e3,
    tail: float = 0.25, predicted: Sequence | None = None, predict: Predictor | None = None,
    regulariser=None,
) -> VerificationResult:
    """Train ``seeds`` offline runs on one dataset from ``data`` and check the prediction.

    Args:
        game: a numeric polynomial game.
        data: data model; an :class:`Empirical` model is used as the dataset itself.
        init: ``(n,)`` or ``(seeds, n)`` initial policies; default uniform in a box around the
            data and the predicted stable points.
        predicted: fixed points to check against instead of predicting (any objects with
            ``.point`` / ``.stable``, or coordinate tuples); ``predict(game, model)`` likewise.
        bound: ``|theta|`` beyond which a run counts as divergent.
        regulariser: a policy penalty (:mod:`brud_analysis.regularisers`, beyond the paper),
            trained and predicted.
        tail: fraction of the logged trajectory averaged into each run's final policy.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> from brud_analysis.data import Normal
        >>> r = verify_game(twin_peaks(), Normal([0.6, 0.6], [0.3, 0.3]), seeds=8, steps=400,
        ...                 lr=0.05)
        >>> r.passed, r.divergent_runs
        (True, 0)
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
    if predicted is not None:
        points = _as_fixed_points(predicted)
    elif predict is not None:
        points = _as_fixed_points(predict(game, model))
    else:
        points = predict_fixed_points(game, model, pjap, regulariser)
    stable = [p for p in points if p.stable]

    if init is None:
        inits = _default_inits(key_init, data_np, points, seeds)
    else:
        inits = np.broadcast_to(np.asarray(init, np.float32), (seeds, game.n_agents)).copy()
    every = _log_every(steps)
    config = OfflineConfig(steps=steps, batch_size=batch_size, lr=lr, clip=clip, pjap=pjap,
                           log_every=every, regulariser=regulariser)
    compiled = _compiled(game, config, bound)
    traj = jax.tree.map(np.asarray, compiled.train(jax.random.split(key_train, seeds), dataset,
                                                   jnp.asarray(inits)))
    policy = traj.policy  # (S, L+1, n)
    with np.errstate(invalid="ignore"):
        divergent = ~np.all(np.isfinite(policy), axis=(1, 2)) | (
            np.nanmax(np.abs(policy), axis=(1, 2)) > bound)
    n_logs = policy.shape[1] - 1
    m_tail = max(1, int(round(tail * n_logs)))
    final = np.where(divergent[:, None], np.nan, policy[:, -m_tail:].mean(axis=1))

    tools = _FieldTools(compiled, dataset)
    flow_end, flow_diverged = (np.asarray(a) for a in compiled.flow(jnp.asarray(inits), dataset))
    expected_divergent = int(flow_diverged.sum())
    divergence_mismatch = int(np.sum(divergent != flow_diverged))
    details: dict = {
        "dataset_size": int(data_np.shape[0]), "steps": steps, "lr": lr,
        "batch_size": batch_size, "seeds": seeds, "tail_points": m_tail, "log_every": every,
        "z_score": Z_SCORE, "divergence_mismatches": divergence_mismatch,
    }

    if stable:
        basins, basin_of_run, unassigned_tol = _fixed_point_check(
            stable, final, divergent, inits, tools, steps, lr, batch_size,
            every, m_tail, details)
        # Which basin the deterministic flow from each start predicts (reported, not in the
        # verdict: near a separatrix SGD noise may legitimately pick the other side).
        flow_basin = np.argmin(np.linalg.norm(
            flow_end[:, None, :] - np.array([p.point for p in stable])[None], axis=2), axis=1)
        landed = basin_of_run >= 0
        details["runs_in_flow_predicted_basin"] = int(np.sum(flow_basin[landed]
                                                             == basin_of_run[landed]))
        occupied = [b for b in basins if b.runs]
        main = max(occupied, key=lambda b: b.runs) if occupied else None
        observed = main.observed_mean if main else tuple([math.nan] * game.n_agents)
        tolerance = main.tolerance if main else unassigned_tol
        passed = (bool(occupied) and all(b.passed for b in occupied)
                  and not np.any(basin_of_run == UNASSIGNED) and divergence_mismatch == 0)
        mode = "fixed_point"
        if pjap is None and regulariser is None and not isinstance(data, Empirical):
            details.update(_finite_data_shift(game, data, stable, tools, data_np.shape[0]))
    else:
        mode = "drift"
        basins, basin_of_run = [], np.where(divergent, DIVERGED, UNASSIGNED)
        observed, tolerance, passed = _drift_check(
            policy, flow_end, ~divergent & ~flow_diverged, inits, compiled, dataset, details)
        passed = passed and divergence_mismatch == 0
    return VerificationResult(
        predicted=points, observed_mean=tuple(float(v) for v in observed),
        tolerance=float(tolerance), passed=bool(passed), divergent_runs=int(divergent.sum()),
        final_policies=final, basins=basins, basin_of_run=np.asarray(basin_of_run), mode=mode,
        expected_divergent_runs=expected_divergent, details=details, trajectories=traj,
        dataset=data_np, initial_policies=inits,
    )


def _drift_check(policy: np.ndarray, flow_end: np.ndarray, ok: np.ndarray, inits: np.ndarray,
                 compiled: _Compiled, dataset: jax.Array, details: dict
                 ) -> tuple[tuple[float, ...], float, bool]:
    """No stable point: mean final policy of the ``ok`` runs vs the deterministic flow's."""
    n_agents = policy.shape[-1]
    if not ok.any():
        return tuple([math.nan] * n_agents), math.nan, True
    steps, lr = details["steps"], details["lr"]
    last = policy[ok, -1]
    gaps = last - flow_end[ok]
    n_ok = int(ok.sum())
    # The noise scale varies slowly between starts: a sample of them is enough.
    noise = compiled.drift_noise(jnp.asarray(inits[ok][:64]), dataset)
    theory_se = math.sqrt(float(np.mean(np.asarray(noise))) / n_ok)
    # Linear noise propagation is exact for a constant field, but near a saddle it amplifies
    # noise exponentially where the real (saturating) dynamics do not. The runs are
    # independent, so their own spread gives the standard error of the mean gap directly (a
    # z-test); the linear theory is the fallback for very few runs.
    empirical_se = (float(np.linalg.norm(gaps.std(axis=0, ddof=1))) / math.sqrt(n_ok)
                    if n_ok >= 8 else math.nan)
    se = empirical_se if n_ok >= 8 else theory_se
    # float32: each update's rounding is at most eps * (|theta| + lr |G|), and it can be
    # systematic (the same rounding every step), so it adds up linearly.
    largest = float(np.max(np.abs(policy[ok])))
    increment = lr * float(np.max(np.abs(np.asarray(compiled.field(jnp.asarray(last[0]),
                                                                   dataset)))))
    tolerance = float(Z_SCORE * se + steps * FLOAT32_EPS * (largest + increment))
    error = float(np.linalg.norm(gaps.mean(axis=0)))
    details.update({"flow_mean": flow_end[ok].mean(axis=0).tolist(), "error": error,
                    "sgd_noise_se_linear_theory": theory_se,
                    "sgd_noise_se_across_runs": empirical_se})
    return tuple(last.mean(axis=0).tolist()), tolerance, error <= tolerance


def _contraction(tools: _FieldTools, point: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Slowest contraction rate ``h``, Jacobian and max ``|G_i''|`` at a fixed point."""
    jac, hess, _ = (np.asarray(a, dtype=float) for a in tools.local(
        jnp.asarray(point, jnp.float32)))
    h = float(np.min(-np.linalg.eigvals(jac).real))
    curvature = float(np.max(np.abs(hess))) if hess.size else 0.0
    return h, jac, curvature


def _fixed_point_check(stable, final, divergent, inits, tools, steps, lr,
                       batch_size, every, m_tail, details):
    centres = np.array([p.point for p in stable], dtype=float)
    per_point = []
    for p in stable:
        h, _, curvature = _contraction(tools, np.asarray(p.point))
        s2 = np.asarray(tools.local(jnp.asarray(p.point, jnp.float32))[2], dtype=float)
        rate = lr * h
        if not 0 < rate < 2:  # SGD itself is unstable here, whatever the flow says
            v = np.full_like(s2, np.inf)
        else:
            v = lr * s2 / (batch_size * h * (2 - rate))  # stationary variance per agent
        r = (1 - rate) ** every if 0 < rate < 2 else 1.0
        averaged = np.minimum(v, v / m_tail * (1 + abs(r)) / max(1e-12, 1 - abs(r)))
        tail_start = steps - m_tail * every
        farthest = float(np.max(np.linalg.norm(inits - np.asarray(p.point), axis=1)))
        transient = farthest * abs(1 - rate) ** tail_start if 0 < rate < 2 else math.inf
        bias = curvature * float(np.max(v)) / (2 * h) if h > 0 else math.inf
        rounding = 8 * FLOAT32_EPS * (1 + float(np.max(np.abs(p.point)))) / max(rate, 1e-12)
        per_point.append((averaged, transient + bias + rounding, v, h, s2))

    # Assign each run to the nearest stable point, if within a single run's tolerance of it.
    basin_of_run = np.full(final.shape[0], UNASSIGNED)
    basin_of_run[divergent] = DIVERGED
    ok = ~divergent
    dist = np.linalg.norm(final[:, None, :] - centres[None], axis=2)  # (S, P)
    nearest = np.where(ok, np.nanargmin(np.where(ok[:, None], dist, 0.0), axis=1), 0)
    single_run_tol = np.array([Z_SCORE * math.sqrt(float(np.sum(a))) + b
                               for a, b, *_ in per_point])
    close = ok & (dist[np.arange(len(final)), nearest] <= single_run_tol[nearest])
    basin_of_run[close] = nearest[close]

    basins = []
    for k, p in enumerate(stable):
        averaged, deterministic, v, h, s2 = per_point[k]
        members = basin_of_run == k
        count = int(members.sum())
        if count:
            mean = final[members].mean(axis=0)
            tol = Z_SCORE * math.sqrt(float(np.sum(averaged)) / count) + deterministic
            err = float(np.linalg.norm(mean - np.asarray(p.point)))
        else:
            mean, tol, err = np.full(len(p.point), np.nan), math.nan, math.nan
        basins.append(Basin(tuple(map(float, p.point)), count, tuple(map(float, mean)), err,
                            float(tol), bool(count and err <= tol)))
        details.setdefault("per_point", []).append({
            "point": list(map(float, p.point)), "contraction_rate": h,
            "per_sample_gradient_variance": s2.tolist(), "stationary_variance": v.tolist(),
            "deterministic_terms": deterministic, "single_run_tolerance": single_run_tol[k],
        })
    return basins, basin_of_run, float(np.max(single_run_tol))


def _finite_data_shift(game, data, stable, tools, n_rows) -> dict:
    """How far the population prediction is from the finite-dataset one (reported, not used)."""
    try:
        from brud_analysis.solve import brud_fixed_points

        population = [p for p in brud_fixed_points(game, data).points if p.stable]
    except BrudError:
        return {}
    if not population:
        return {}
    shifts, expected = [], []
    for p in stable:
        q = min(population, key=lambda c: np.linalg.norm(np.subtract(c.point, p.point)))
        shifts.append(float(np.linalg.norm(np.subtract(q.point, p.point))))
        h, _, _ = _contraction(tools, np.asarray(p.point))
        s2 = float(np.sum(np.asarray(tools.local(jnp.asarray(p.point, jnp.float32))[2])))
        expected.append(math.sqrt(s2 / n_rows) / h if h > 0 else math.inf)
    return {"population_predicted": [list(map(float, p.point)) for p in population],
            "finite_data_shift": shifts, "finite_data_shift_expected": expected}
