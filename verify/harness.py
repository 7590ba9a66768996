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

* One tolerance per basin. The basin's error is the larger of (runs' mean vs the reference's
  mean) and (how far the reference map moves from the predicted point itself over the horizon:
  zero for an exact prediction); both are held to the basin's tolerance, the one printed.
* Trajectory (``details["trajectory"]``). Each run's logged path is compared with the reference
  map's path from the same start, at every log point: the gap, shrunk by the propagated
  deterministic terms, standardised by the linearised SGD variance propagated along that path
  (``P <- M P M^T + lr^2 s^2 / B``), summed over runs and agents: chi-square at each log point,
  Bonferroni over the log points, and a failure must last 3 consecutive log points (heavy-tailed
  batch noise makes isolated outliers). Rate, schedule and weighting bugs that leave the end
  point alone fail here, with ``trajectory:`` in the reason. Runs where the linear model cannot
  hold (spread > 5 % of the path's scale, period-2 phases, past a period doubling) are left out.
* Clip walls: the wall's own dynamics (:func:`verify.predictions.wall_bound`). The projection
  moves no point farther from a point of the box, so a clipped coordinate's second moment about
  its wall (pinned) or its interior point (noise reaching the wall) is at most
  ``lr^2 s^2 / (B (1 - rho^2))``, ``rho`` bounding the map's slope near it (on a wall
  ``max(0, F')``: the wall pins a coordinate that would oscillate), and its mean shift at most
  the root of that (on a wall ``sigma / (2 (1 - rho))``); the smaller of this and the reflected
  walk's law is used, so a vanishing push no longer makes the tolerance unbounded. Coupled
  fields use ``||I + lr J||_2`` for ``rho``. A logged iterate outside the box fails (the
  projected step never leaves it). A basin tolerance still above 5 % of the box's width, or a
  wall within reach where no bound holds (period-2 orbits, ``rho >= 1``), is ``inconclusive``
  with the reason, never a pass.
* Path-local linearisation. The trajectory check's ``M = I + lr J`` is re-evaluated at every
  step wherever it changes over a log interval (always for a decoupled field): on a path that
  oscillates about a point near its period doubling, the two phases' ``M`` differ a lot.
* Incomplete predictions. The PJAP search (multi-start Newton, not certified) and maps past a
  period doubling without a predicted stable orbit may miss attractors: runs that end near no
  prediction *and whose reference does too* make the result ``inconclusive``, not ``failed``
  (a run whose own reference reached a predicted point but which did not is still a failure).
* ``passed`` with no point compared (every run diverges where the reference does) is labelled
  ``passed (all runs diverge, as predicted)`` (:attr:`VerificationResult.verdict`) and carries
  ``compared_points: 0``.

Games with no stable attractor are checked in "drift" mode: the mean final policy must match the
reference map's from the same starts within ``z`` standard errors of the mean gap (from the
spread of the independent runs; fewer than 8 comparable runs is inconclusive) plus float32
rounding. Runs whose policy becomes non-finite or leaves ``|theta| <= bound`` are *divergent*:
counted, excluded from means, and compared with whether the reference map from the same start
diverges (all runs diverging where the map diverges is a confirmed prediction).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from brud_analysis.data import DataModel, Empirical
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from brud_analysis.solve import FixedPoint
from verify import polygames
from verify.checks import _basin_check, _drift_check, _finite_data_shift, _trajectory_check
from verify.compiled import Compiled, shared_structure
from verify.datasets import empirical_model, sample_dataset
from verify.expected_map import first_runs, path_variance, reference_map
from verify.polygames import (
    GradientEstimator,
    OfflineConfig,
    make_offline_train,
)
from verify.predictions import (  # noqa: F401 (re-exported: verify.harness is the public API)
    FLOAT32_EPS,
    FlowPoints,
    Target,
    _as_fixed_points,
    _decoupled_predictions,
    _joint_predictions,
    predict_fixed_points,
)
from verify.reference import ReferenceField, agent_orbits
from verify.sampling import PJAPConfig
from verify.verdicts import (  # noqa: F401 (re-exported)
    DIVERGED,
    MISMATCH_ALLOWANCE,
    PHASE_SLIP,
    PJAP_REFERENCE_RUNS,
    STATUSES,
    TRAJECTORY_RUNS,
    UNASSIGNED,
    UNCONVERGED,
    Z_SCORE,
    Basin,
    VerificationResult,
)

Predictor = Callable[[Game, Empirical], Sequence[FixedPoint]]


MAX_LOG_INTERVAL = 250
MAX_LOGS = 2000


def _log_every(steps: int, max_points: int = 200, even: bool = False) -> int:
    """Largest logging interval dividing ``steps`` with at most ``max_points`` logs (even if
    asked and possible: a period-2 orbit is then always logged at the same phase)."""
    # A chunk of training is at least one log interval: at most MAX_LOG_INTERVAL updates, so
    # that a Ctrl-C lands within about a second, unless that means more than MAX_LOGS logs.
    every = max(1, steps // MAX_LOGS, min(steps // max_points, MAX_LOG_INTERVAL))
    while every > 1 and (steps % every or (even and every % 2)):
        every -= 1
    if even and every % 2 and steps % 2 == 0:
        every = 2
    return every



# ---------------------------------------------------------------------------- training


_COMPILED: OrderedDict = OrderedDict()
_COMPILED_KEEP = 32  # compiled programs are small; one per (game, structure)


def compiled_trainer(game: Game, config: OfflineConfig) -> Compiled:
    """The verifier's jitted trainer for ``game`` and ``config``'s structure, memoised: every
    caller training the same structure and shapes (runs, dataset rows; e.g. the paper checks'
    own runs, :func:`paper_checks.numeric.offline_runs`) shares one compilation.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> c = compiled_trainer(twin_peaks(), OfflineConfig(steps=10, lr=0.05))
        >>> c is compiled_trainer(twin_peaks(), OfflineConfig(steps=20, lr=0.01))
        True
    """
    # The trainer factory is part of the key: tests swap in mutated trainers (looked up per
    # call). The package's own trainer is keyed by the config's structure alone.
    factory = make_offline_train
    if factory is polygames.make_offline_train:
        config = shared_structure(config)
    key = (str(game.reward), game.agent_names, config, factory)
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
    else:
        _COMPILED[key] = Compiled(game, config, factory)
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


def _beyond_period_two(ref: ReferenceField, lr: float, clip: float | None) -> bool:
    """Whether some agent's well is past its period doubling with no stable period-2 orbit
    around it: SGD then settles on a longer cycle or is chaotic, which is not enumerated."""
    for i in range(ref.n):
        orbits = agent_orbits(ref.polys[i], lr, clip)
        for o in orbits:
            if o.period == 1 and o.flow_stable and not o.stable and not o.on_wall[0]:
                x = o.values[0]
                if not any(c.period == 2 and c.stable and not any(c.on_wall)
                           and c.values[0] < x < c.values[1] for c in orbits):
                    return True
    return False


def _newton_distance(ref: ReferenceField, points: np.ndarray, clip: float | None) -> np.ndarray:
    """``|J^-1 G|`` at each point ``(K, n) -> (K,)``: how far the mean map still has to go to
    rest (coordinates pinned to a wall by an outward field count as at rest)."""
    pts = np.nan_to_num(np.asarray(points, np.float64))
    g = ref.field_many(pts)
    jac = ref.jacobian_many(pts)
    if clip is not None:
        pinned = (np.abs(pts) >= clip) & (np.sign(pts) * g > 0)
        g = np.where(pinned, 0.0, g)
        jac = np.where(pinned[:, :, None] | pinned[:, None, :], 0.0, jac) - np.eye(
            ref.n)[None] * pinned[:, :, None]
    with np.errstate(all="ignore"):
        try:
            step = np.linalg.solve(jac, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return np.full(len(pts), np.inf)
    return np.where(np.isfinite(step).all(axis=1), np.linalg.norm(step, axis=1), np.inf)


def _rests(ref: ReferenceField, paths: np.ndarray, every: int, m_tail: int, horizon: int,
           lr: float, clip: float | None, bound: float) -> np.ndarray:
    """Whether the mean map, iterated an even ``horizon`` from each run's last logged iterate,
    comes back to it within the run's own noise: ``Z_SCORE`` standard deviations of its tail
    at one phase (logged points an even number of steps apart), plus float32 rounding.
    ``paths`` ``(K, L + 1, n)`` -> ``(K,)``: the run rests at an attractor of the mean map
    (a fixed point or, at one phase, a period-2 orbit)."""
    last = paths[:, -1].astype(np.float64)
    stride = 1 if every % 2 == 0 else 2
    tail = paths[:, -m_tail:][:, ::-stride]  # ends with the last iterate: same phase
    spread = Z_SCORE * np.sqrt(np.sum(np.var(tail, axis=1), axis=1)) + 8 * FLOAT32_EPS * (
        1 + np.max(np.abs(last), axis=1))
    back = reference_map(ref, last, horizon, lr, clip, bound, horizon, 1)
    return ~back.diverged & (np.linalg.norm(back.last - last, axis=1) <= spread)


def _cycling(ref: ReferenceField, paths: np.ndarray, every: int, m_tail: int, horizon: int,
             lr: float, clip: float | None, bound: float) -> np.ndarray:
    """Runs ``(K, L + 1, n) -> (K,)`` that :func:`_rests` places on an attractor of the mean
    map which one step of the map moves by more than the run's noise: a periodic orbit."""
    if not len(paths):
        return np.zeros(0, bool)
    rest = _rests(ref, paths, every, m_tail, horizon, lr, clip, bound)
    last = paths[:, -1].astype(np.float64)
    one = reference_map(ref, last, 1, lr, clip, bound, 1, 1)
    tail = paths[:, -m_tail:]
    spread = Z_SCORE * np.sqrt(np.sum(np.var(tail, axis=1), axis=1)) + 8 * FLOAT32_EPS * (
        1 + np.max(np.abs(last), axis=1))
    return rest & (one.diverged | (np.linalg.norm(one.last - last, axis=1) > spread))


def _bias_dominates(ref: ReferenceField, tails: np.ndarray, batch: int,
                    points: int = 25) -> np.ndarray:
    """With importance weights, whether each run's tail ``(K, m, n)`` passes where, for some
    agent, the simulated bound on the self-normalised estimator's bias is at least the uniform
    field there (the trained map's expected update can vanish or reverse where the uniform one
    does not); ``(K,)``, all False without importance weights. Up to ``points`` tail points
    per run are evaluated."""
    out = np.zeros(len(tails), bool)
    if ref.pjap is None or not ref.pjap.importance_weights:
        return out
    for k, tail in enumerate(tails):
        pts = np.asarray(tail, np.float64)[:: max(1, len(tail) // points)]
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        g = ref.field_many(pts) if len(pts) else np.zeros((0, ref.n))
        out[k] = any(np.any(np.abs(g[j]) <= np.abs(ref.importance_bias(p, batch)))
                     for j, p in enumerate(pts))
    return out


def verify_game(
    game: Game, data: DataModel, *, seeds: int = 256, steps: int = 2000, lr: float = 0.01,
    batch_size: int = 64, pjap: PJAPConfig | None = None, init: np.ndarray | None = None,
    dataset_size: int = 1000, seed: int = 0, clip: float | None = None, bound: float = 1e3,
    tail: float = 0.25, predicted: Sequence | None = None, predict: Predictor | None = None,
    gradient: GradientEstimator | None = None, regulariser=None,
    progress: Callable[[int, int], None] | None = None, check_trajectory: bool = True,
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
        progress: called as ``progress(updates_done, steps)`` after each training chunk
            (training runs in chunks of about a second: a Ctrl-C lands between two).
        check_trajectory: compare every logged point with the reference map's path (the
            default); ``False`` skips it (``benchmarks/verify_trajectory.py`` times it).

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
    beyond_period_two = own and ref.decoupled and _beyond_period_two(ref, lr, clip)
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
                predict_fixed_points(game, model, pjap, regulariser, clip))
        points, targets, notes = _joint_predictions(ref, flow, lr, clip, batch_size, every)
        orbits = []
        # A flow-stable point the coupled map does not settle at: its orbits (period 2 or
        # longer) are not predicted for a coupled field, so the prediction is incomplete.
        beyond_period_two = own and any("SGD does not settle" in n for n in notes)
    reasons += notes

    if init is None:
        # Drift mode: groups of >= 8 runs from one start, for an empirical noise estimate.
        groups = None if targets else max(1, seeds // 8)
        inits = _default_inits(key_init, data_np, points, seeds, clip, groups)
    else:
        inits = np.broadcast_to(np.asarray(init, np.float32), (seeds, game.n_agents)).copy()
    config = OfflineConfig(steps=steps, batch_size=batch_size, lr=lr, clip=clip, pjap=pjap,
                           log_every=every, gradient=gradient, regulariser=regulariser)
    traj = compiled_trainer(game, config).run(jax.random.split(key_train, seeds), dataset, inits,
                                       config, progress)
    policy = np.asarray(traj.policy)  # (S, L+1, n)
    with np.errstate(invalid="ignore"):
        divergent = ~np.all(np.isfinite(policy), axis=(1, 2)) | (
            np.nanmax(np.abs(policy), axis=(1, 2)) > bound)
    n_logs = policy.shape[1] - 1
    m_tail = max(1, int(round(tail * n_logs)))
    final = np.where(divergent[:, None], np.nan, policy[:, -m_tail:].mean(axis=1))

    # The independent reference from the same starts.
    n_ref = seeds if ref.decoupled else min(seeds, PJAP_REFERENCE_RUNS)
    n_traj = min(n_ref, TRAJECTORY_RUNS)
    if not check_trajectory:
        run = noisy = reference_map(ref, inits[:n_ref], steps, lr, clip, bound, every, m_tail)
    else:  # one pass gives the reference from every start and the noise along the paths
        run = reference_map(ref, inits[:n_ref], steps, lr, clip, bound, every, m_tail,
                            batch_size, noise_runs=n_traj)
        noisy = run if n_traj == n_ref else first_runs(run, n_traj)
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
    if clip is not None:
        # The projected step never leaves the box: a logged coordinate beyond a wall (more
        # than float32 rounding of the wall) is a trainer that projects before it steps, or
        # not at all, however close its end point is to the prediction.
        wall = float(np.float32(clip)) * (1 + 4 * FLOAT32_EPS)
        stepped = np.abs(np.nan_to_num(policy[:, 1:]))  # the start may lie anywhere
        outside = np.any(stepped > wall, axis=(1, 2)) & ~divergent
        details["runs_outside_box"] = int(outside.sum())
        if outside.any():
            failed = True
            reasons.append(f"{int(outside.sum())} run(s) logged a policy outside the clip box "
                           f"(|coordinate| up to {float(np.max(stepped[outside])):.6g}, wall "
                           f"{clip:g}): the projected step never leaves the box")
    if mismatch.sum() > MISMATCH_ALLOWANCE * n_ref:
        failed = True
        reasons.append(f"{int(mismatch.sum())} of {n_ref} runs diverge where the reference map "
                       "does not, or the reverse")
    elif mismatch.any():
        reasons.append(f"{int(mismatch.sum())} run(s) whose divergence differs from the "
                       "reference map's (starts near a basin boundary) are excluded")
    excluded = mismatch

    # Every attractor predicted? Certified for the decoupled field's exact 1-D analysis and for
    # points the caller gives (a run elsewhere refutes them); not for the multi-start PJAP
    # search, nor past a period doubling with no stable orbit predicted.
    # The certified PJAP search (verify.predictions.FlowPoints) is complete in its box: a run
    # or reference ending in that box at an unlisted point is then evidence, not a gap.
    # It lists the map's fixed points, not its periodic orbits (a coupled map can jump from
    # wall to wall): runs that the mean map brings back only after an even number of steps
    # keep the answer incomplete.
    flow_list = points if isinstance(points, FlowPoints) else FlowPoints()
    certified = own and not ref.decoupled and not beyond_period_two and flow_list.complete
    search_complete = not own or (ref.decoupled and not beyond_period_two) or (
        certified and flow_list.covers(final, run.last))
    if certified and not search_complete:
        reasons.append("the certified PJAP search covers only its box "
                       f"{[tuple(round(v, 4) for v in b) for b in flow_list.box or ()]}, and "
                       "some runs or their references end outside it")
    elif certified:
        live = np.flatnonzero(~divergent)
        cycling = _cycling(ref, policy[live], every, m_tail, max(2, steps - steps % 2), lr,
                           clip, bound)
        if cycling.any():
            search_complete = False
            reasons.append(f"{int(cycling.sum())} run(s) end where the mean map brings them "
                           "back only after an even number of steps (a periodic orbit, or an "
                           "oscillation not yet decayed): the certified search lists fixed "
                           "points only, so the prediction is not taken as complete")
    if targets:
        mode = "fixed_point"
        # Where the reference map goes from each predicted point itself (an exact prediction
        # stays put): the prediction's error, judged with the basin's own tolerance.
        centres = np.array([t.point for t in targets])
        horizon = max(2, steps - steps % 2)  # even: a period-2 phase maps back to itself
        moved = reference_map(ref, centres, horizon, lr, clip, bound, horizon, 1)
        residual = np.where(moved.diverged, np.inf,
                            np.linalg.norm(np.nan_to_num(moved.last) - centres, axis=1))
        (basins, basin_of_run, check_failed, observed, tolerance, check_reasons,
         tracking) = _basin_check(
            targets, final, policy[:, -1], divergent | excluded, run, n_ref, m_tail, details,
            lambda idx: path_variance(ref, inits[idx], steps, lr, batch_size, every, m_tail)[0],
            residual=residual, box_width=None if clip is None else 2 * clip,
            search_complete=search_complete,
            rest_distance=lambda x: _newton_distance(ref, x, clip),
            rests=lambda idx: _rests(ref, policy[idx], every, m_tail, horizon, lr, clip, bound),
            bias_dominates=lambda idx: _bias_dominates(ref, policy[idx, -m_tail:], batch_size))
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
            lambda idx: path_variance(ref, inits[idx], steps, lr, batch_size, every, m_tail)[1],
            bias=0.0 if noisy.path_bias is None else float(np.max(
                noisy.path_bias[:, -1][~noisy.diverged], initial=0.0)))
        failed |= drift_failed
        reasons += drift_reasons
        tracking = ok
        if not search_complete and ok.any() and math.isfinite(tolerance):
            # An uncertified search that found no attractor, while the reference map has come
            # to rest (it moves less than the drift tolerance over the whole tail): missed.
            tail_move = lr * every * m_tail * np.linalg.norm(
                ref.field_many(run.last[ok[:n_ref]]), axis=1)
            if np.any(tail_move < tolerance):
                rest = run.last[ok[:n_ref]][np.argmin(tail_move)]
                details["incomplete_search"] = True
                reasons.append(f"the reference map comes to rest near "
                               f"{tuple(round(float(v), 4) for v in rest)}, which is no predicted "
                               "attractor: the fixed-point search is not certified and missed "
                               "it (inconclusive)")

    # How the runs trained: every logged point of each run against the reference map's path
    # from the same start (rate, schedule and weighting bugs leave the end point alone).
    if not check_trajectory:
        trajectory: dict = {"passed": None, "reason": "not requested"}
    elif beyond_period_two:
        # longer cycles or chaos: noise is amplified along the way, the linear model fails
        trajectory = {"passed": None, "reason": "past a period doubling with no predicted "
                      "stable orbit: paths are not comparable with a linear noise model"}
    else:
        trajectory = _trajectory_check(policy, noisy, tracking & ~divergent & ~ref_div)
    details["trajectory"] = trajectory
    if trajectory["passed"] is False:
        failed = True
        reasons.append(
            f"trajectory: at log point {trajectory['worst_log']} (step "
            f"{trajectory['worst_log'] * every}) the {trajectory['compared_runs']} runs are "
            f"{trajectory['worst_mean_gap']:.3g} (mean gap) from the reference map's paths, "
            f"whose noise sd there is {trajectory['worst_rms_sd']:.3g}: chi-square "
            f"{trajectory['worst_statistic']:.3g} > {trajectory['limit']:.3g} "
            f"({trajectory['failed_logs']} of {trajectory['log_points']} log points fail, up to "
            f"{trajectory['longest_failing_stretch']} in a row)")

    compared = (sum(b.runs for b in basins) if mode == "fixed_point"
                else int(details.get("compared_runs", 0)))
    all_diverged_as_predicted = bool(divergent.all() and ref_div[referenced].all())
    if failed:
        status = "failed"
    elif all_diverged_as_predicted:
        status = "passed"
        reasons.append("every run diverges, as the reference map predicts from every start; "
                       "no point was compared")
    elif details.get("incomplete_search") or details.get("tolerance_too_wide"):
        status = "inconclusive"  # the reason is already listed
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
