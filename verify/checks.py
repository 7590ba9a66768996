"""The checks behind a verdict: runs vs the reference map and the predictions, with derived
tolerances: the basin check (fixed-point mode), the drift check (no stable attractor), the
trajectory check (every logged point against the reference map's path) and the finite-data
shift report. Result types and shared constants are in :mod:`verify.verdicts`; the noise
model is derived in the :mod:`verify.harness` docstring.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

from brud_analysis.errors import BrudError
from verify.expected_map import MapRun
from verify.predictions import FLOAT32_EPS, Target
from verify.reference import ReferenceField
from verify.verdicts import (
    DIVERGED,
    LINEAR_NOISE_LIMIT,
    MAX_BOX_FRACTION,
    MAX_PHASE_SLIPS,
    PHASE_SLIP,
    TRAJECTORY_FAMILY_P,
    TRAJECTORY_PERSISTENCE,
    UNASSIGNED,
    UNCONVERGED,
    Z_SCORE,
    Basin,
)


def _phase_flips(t: Target) -> bool:
    """Whether the noise model cannot rule out that a period-2 target's phase flips: its
    stationary noise (``Z_SCORE`` sd) plus the deterministic terms reach the fixed point
    between the orbit's phases."""
    if t.phase_margin is None or t.kind != "period-2 orbit":
        return False
    return bool(np.any(Z_SCORE * np.sqrt(t.variance) + t.deterministic >= t.phase_margin))


def _wall_bounded(t: Target) -> np.ndarray:
    """Per agent: the wall's own bound carries this coordinate's noise (see
    :func:`verify.predictions.wall_bound`), so a wall within its reach is no reason to stop."""
    n = len(t.point)
    return np.zeros(n, bool) if t.wall_bounded is None else np.asarray(t.wall_bounded, bool)


def _margin(t: Target) -> float:
    return float(np.min(np.asarray(t.phase_margin)))


def _basin_check(targets: list[Target], final: np.ndarray, last: np.ndarray, skip: np.ndarray,
                 run: MapRun,
                 n_ref: int, m_tail: int, details: dict,
                 path_var: Callable[[np.ndarray], np.ndarray],
                 residual: np.ndarray | None = None, box_width: float | None = None,
                 search_complete: bool = True,
                 rest_distance: Callable[[np.ndarray], np.ndarray] | None = None,
                 rests: Callable[[np.ndarray], np.ndarray] | None = None,
                 bias_dominates: Callable[[np.ndarray], np.ndarray] | None = None):
    """Assign runs to target points and check each occupied basin against the reference.

    A run that is near no target but whose reference map has not reached one either is compared
    with that reference alone, with the noise propagated along the path (``path_var``).

    ``residual[k]``: how far the reference map moves from target ``k`` itself over the horizon
    (zero for an exact fixed point or orbit phase; a wrong prediction drifts to the true one).
    It is held to the *same* tolerance as the runs' mean: one tolerance decides the basin, and
    it is the one printed. ``box_width``: with a clip box, a tolerance above
    :data:`MAX_BOX_FRACTION` of it cannot tell a wall from the interior: inconclusive.

    Runs that end off every target are failures, except where the theory cannot decide (each
    inconclusive, with its reason): with an uncertified search, runs whose reference also
    missed, or that rest where the mean map rests (``rests(idx)``: a missed attractor, e.g. a
    period-2 orbit between walls that the coupled search does not enumerate); runs near a
    target whose noise reaches a wall or the boundary between an orbit's phases; and runs
    whose tail passes where the importance-weighting bias bound exceeds the uniform field
    (``bias_dominates(idx)``: the trained map's zeros and transit times are not the uniform
    field's there)."""
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
    if rest_distance is not None:
        # A slow reference moves little over the tail yet is far from rest: the Newton step
        # from its last iterate says how far it still has to go.
        moving[:n_ref] |= rest_distance(run.last) > single[ref_nearest[:n_ref]]
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
            run_err = float(np.linalg.norm(mean - ref_mean))
            pred_err = float(residual[k]) if residual is not None else 0.0
            err = max(run_err, pred_err)
        else:
            mean = ref_mean = np.full(n, np.nan)
            tol, err, run_err, pred_err = math.nan, math.nan, math.nan, math.nan
        too_wide = bool(box_width is not None and count and math.isfinite(tol)
                        and tol > MAX_BOX_FRACTION * box_width)
        # An interior coordinate whose noise reaches a wall: the wall truncates the spread
        # and shifts the mean, which the linear noise model does not describe.
        gap_to_wall = (box_width / 2 - np.abs(t.point)) if box_width is not None else None
        interior = gap_to_wall is not None and gap_to_wall > 0
        near_wall = bool(count and gap_to_wall is not None and np.any(
            interior & (gap_to_wall <= Z_SCORE * np.sqrt(t.variance) + t.deterministic)
            & ~_wall_bounded(t)))
        ok_basin = bool(count and math.isfinite(tol) and err <= tol and not too_wide
                        and not near_wall)
        basins.append(Basin(tuple(map(float, t.point)), count, tuple(map(float, mean)), err,
                            float(tol), ok_basin, tuple(map(float, ref_mean)), t.kind,
                            run_err, pred_err))
        where = tuple(round(float(v), 4) for v in t.point)
        if too_wide:
            details["tolerance_too_wide"] = True
            reasons.append(f"basin {where}: the derived tolerance {tol:.3g} exceeds "
                           f"{MAX_BOX_FRACTION:g} of the clip box's width {box_width:g}: a spread "
                           "this wide cannot tell a wall from the interior (inconclusive)")
        elif near_wall and gap_to_wall is not None:
            details["tolerance_too_wide"] = True
            reasons.append(f"basin {where}: the SGD noise reaches the clip box's wall "
                           f"({float(np.min(gap_to_wall[interior])):.3g} away), which truncates "
                           "it: the linear noise model does not apply (inconclusive)")
        elif count and not ok_basin:
            failed = failed or math.isfinite(tol)
            if pred_err > tol:
                reasons.append(f"prediction: the reference map moves {pred_err:.3g} away from "
                               f"the predicted point {where}, tolerance {tol:.3g}")
            if run_err > tol:
                reasons.append(f"basin {where}: mean of {count} runs is {run_err:.3g} from the "
                               f"reference, tolerance {tol:.3g}")
        details.setdefault("per_point", []).append({
            "point": t.point.tolist(), "kind": t.kind,
            "stationary_variance": t.variance.tolist(), "log_correlation": t.correlation.tolist(),
            "deterministic_terms": t.deterministic, "single_run_tolerance": t.single_tol})
    unassigned_mask = basin_of_run == UNASSIGNED
    # An uncertified fixed-point search may have missed the attractor that a run and its
    # reference both reached: that is an incomplete prediction, not a broken trainer.
    # (A run whose own reference reached a predicted point but which did not is a failure
    # either way.)
    missed = (unassigned_mask & ~ref_at_target if not search_complete
              else np.zeros(seeds, bool))
    if missed.any():
        details["incomplete_search"] = True
        reasons.append(f"{int(missed.sum())} run(s) ended near no predicted attractor, as did "
                       "their reference map: the prediction is not complete here (inconclusive)")
    # ... or where the mean map itself rests (a run that noise took into another basin than
    # its reference's): an attractor the uncertified search did not list.
    resting = np.zeros(seeds, bool)
    if not search_complete and rests is not None and np.any(unassigned_mask & ~missed):
        idx = np.flatnonzero(unassigned_mask & ~missed)
        resting[idx] = rests(idx)
    if resting.any():
        details["incomplete_search"] = True
        missed |= resting
        reasons.append(f"{int(resting.sum())} run(s) ended where the mean map rests (it maps "
                       "their last iterate back onto itself) but no attractor is predicted: "
                       "the search is not certified and missed it (inconclusive)")
    # Runs off a target whose noise model does not hold are not judged: a target whose noise
    # reaches a wall of the clip box (truncated noise, see the basins above) or whose
    # tolerance is too wide for the box, and a
    # period-2 orbit whose noise can reach the point between its phases (without a clip box
    # too: phase flips are more than the slip exclusion absorbs, and a run that flipped mixes
    # phases in its tail).
    walled = np.zeros(seeds, bool)
    flipping = [k for k, t in enumerate(targets) if _phase_flips(t)]
    for k, t in enumerate(targets):
        reach = Z_SCORE * np.sqrt(t.variance) + t.deterministic
        at_wall = False
        if box_width is not None:
            inside = box_width / 2 - np.abs(t.point)  # 0 on a wall, whose model is the wall's
            at_wall = bool(np.any((inside > 0) & (inside <= reach) & ~_wall_bounded(t))
                           or t.single_tol > MAX_BOX_FRACTION * box_width)
        if at_wall or k in flipping:
            near = np.linalg.norm(np.nan_to_num(final) - t.point, axis=1) <= max(
                t.single_tol, float(np.max(reach)))
            walled |= unassigned_mask & ~missed & (near | (ref_nearest == k))
    if walled.any():
        details["tolerance_too_wide"] = True
        if flipping:
            reasons.append("period-2 orbit(s) whose noise reaches the point between their "
                           f"phases, as close as {min(_margin(targets[k]) for k in flipping):.3g}")
        reasons.append(f"{int(walled.sum())} run(s) ended off a predicted point whose SGD noise "
                       "reaches a wall of the clip box or the boundary between an orbit's "
                       "phases: the linear noise model does not apply there (inconclusive)")
    biased = np.zeros(seeds, bool)
    if bias_dominates is not None and np.any(unassigned_mask & ~missed & ~walled):
        idx = np.flatnonzero(unassigned_mask & ~missed & ~walled)
        biased[idx] = bias_dominates(idx)
    if biased.any():
        details["incomplete_search"] = True
        reasons.append(f"{int(biased.sum())} run(s) ended off every target after passing, in "
                       "their averaged tail, where the importance-weighting bias bound exceeds "
                       "the uniform field: the trained map's zeros and transit times there are "
                       "not the uniform field's (inconclusive)")
    unassigned = int(np.sum(unassigned_mask & ~missed & ~walled & ~biased))
    if unassigned:
        failed = True
        reasons.append(f"{unassigned} run(s) ended near no predicted attractor and away from "
                       "the reference map")
    if np.any(ref_elsewhere):
        where = ref_tail[np.flatnonzero(ref_elsewhere)[0]]
        what = (f"the reference map from {int(ref_elsewhere.sum())} start(s) settles near "
                f"{tuple(round(float(v), 4) for v in where)}, which is no predicted attractor")
        if search_complete:
            failed = True
            reasons.append(what)
        else:
            details["incomplete_search"] = True
            reasons.append(what + ": the fixed-point search is not certified and missed it "
                           "(inconclusive)")
    if slipped.any():
        reasons.append(f"{int(slipped.sum())} run(s) flipped the phase of a period-2 orbit "
                       "within the averaged tail and are excluded")
    unconverged = int(np.sum(basin_of_run == UNCONVERGED))
    if unconverged:
        reasons.append(f"{unconverged} run(s) have not reached an attractor within the horizon "
                       "(they track the reference map, which has not either)")
    same_basin = (basin_of_run >= 0) & ref_at_target & (ref_nearest == basin_of_run)
    details["runs_in_reference_basin"] = int(np.sum(same_basin))
    occupied = [b for b in basins if b.runs]
    main = max(occupied, key=lambda b: b.runs) if occupied else None
    observed = main.observed_mean if main else tuple([math.nan] * n)
    tolerance = main.tolerance if main else math.nan
    # Runs for the trajectory check. Not on a period-2 orbit: noise can flip a run's phase
    # against its reference's (and flip it back) anywhere along the way, a gap of the orbit's
    # amplitude the linear noise model cannot describe.
    orbit_kind = np.array([t.kind == "period-2 orbit" for t in targets])
    on_orbit = (basin_of_run >= 0) & orbit_kind[np.maximum(basin_of_run, 0)]
    tracking = (same_basin & ~on_orbit) | (
        (basin_of_run == UNCONVERGED) & (not orbit_kind.any()))
    details["trajectory_excluded_orbit_runs"] = int(np.sum(on_orbit))
    return basins, basin_of_run, failed, observed, tolerance, reasons, tracking


def _drift_check(policy: np.ndarray, run: MapRun, ok: np.ndarray, inits: np.ndarray,
                 ref: ReferenceField, details: dict,
                 path_var: Callable[[np.ndarray], np.ndarray], bias: float = 0.0):
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
    # ``bias``: the deterministic terms propagated along the reference paths (curvature,
    # importance-weighting bias), the largest over the paths followed (MapRun.path_bias)
    rounding = steps * FLOAT32_EPS * (largest + increment) + bias
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


def _trajectory_check(policy: np.ndarray, run: MapRun, compare: np.ndarray) -> dict:
    """How the runs trained, not only where they ended: each run's logged path against the
    reference map's path *from the same start*, at every log point.

    Under the noise model the gap of run ``k`` at log ``t`` is Gaussian with variance
    ``run.path_variance[k, t]`` (linearised SGD noise propagated along the path) about a mean
    no larger than ``run.path_bias[k, t]``. Each gap is shrunk by that bias bound, standardised,
    and the squares are summed over runs and agents: under the model a chi-square variable with
    ``runs x agents`` degrees of freedom at every log point, tested at
    ``TRAJECTORY_FAMILY_P / logs`` (Bonferroni over the log points). A rate-only bug (a 10 %
    wrong step, skipped updates, a clip before the step) leaves the end point where it was but
    moves the path by many standard deviations of the early, still small, noise.

    ``compare``: ``(K,)`` runs to use (referenced, not divergent, in the same basin as their
    reference). Returns the JSON-ready ``trajectory`` entry (``passed`` None: not run).
    """
    # chi2.isf(p, dof) is chdtri(dof, p) (SciPy's own definition): scipy.special alone, not
    # the 1 s import of scipy.stats in a `brud verify` process
    from scipy.special import chdtri

    assert run.path is not None and run.path_variance is not None and run.path_bias is not None
    idx = np.flatnonzero(compare[:run.path.shape[0]])
    # The linearisation holds while the noise stays small against the scale of the path: a run
    # whose linearised spread grows beyond LINEAR_NOISE_LIMIT of it (an expanding map, past a
    # period doubling) is not judged here (the end-point checks still see it).
    scale = 1.0 + np.max(np.abs(run.path[idx]), axis=(1, 2))
    spread = np.sqrt(np.max(np.nan_to_num(np.sum(run.path_variance[idx], axis=2), nan=np.inf),
                            axis=1))
    linear = spread <= LINEAR_NOISE_LIMIT * scale
    unjudged = int(np.sum(~linear))
    idx = idx[linear]
    if idx.size == 0:
        return {"passed": None, "reason": "no run to compare with the reference path",
                "unjudged_runs": unjudged}
    n_logs = run.path.shape[1] - 1
    gap = policy[idx, 1:].astype(np.float64) - run.path[idx, 1:]              # (k, L, n)
    # A non-finite linearised variance (an expanding map: chaos, past a period doubling) says
    # nothing about that run there: it is left out of the sum rather than failing it.
    var = np.where(np.isfinite(run.path_variance[idx, 1:]), run.path_variance[idx, 1:], np.inf)
    # float32 representation of the iterate: even a noiseless step cannot do better
    floor = (FLOAT32_EPS * (1 + np.abs(run.path[idx, 1:]))) ** 2
    bias = np.nan_to_num(run.path_bias[idx, 1:, None], nan=np.inf)
    excess = np.maximum(np.abs(gap) - bias, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.sum(excess**2 / (var + floor), axis=(0, 2))                   # (L,)
    dof = idx.size * gap.shape[2]
    limit = float(chdtri(dof, TRAJECTORY_FAMILY_P / n_logs))
    ratio = stat / limit
    worst = int(np.nanargmax(np.where(np.isfinite(ratio), ratio, np.inf)))
    mean_gap = np.linalg.norm(gap.mean(axis=0), axis=1)
    # A failure must persist over TRAJECTORY_PERSISTENCE consecutive log points. Heavy-tailed
    # minibatch noise (PJAP's rare far rows, e.g. 9-sigma kicks at alpha 16) makes one log
    # point of one run an outlier, and such a kick decays within a log interval where the
    # map contracts fast; where it contracts slowly the logs average many steps (Gaussian
    # again). A wrong rate or schedule moves the path over a whole stretch of the transient.
    over = ~(stat <= limit)
    run_length = np.zeros(n_logs, int)
    for t in range(n_logs):
        run_length[t] = (run_length[t - 1] + 1 if t else 1) if over[t] else 0
    persistent = bool(np.any(run_length >= TRAJECTORY_PERSISTENCE))
    return {
        "passed": not persistent,
        "longest_failing_stretch": int(run_length.max(initial=0)),
        "compared_runs": int(idx.size), "log_points": n_logs, "degrees_of_freedom": dof,
        "family_p": TRAJECTORY_FAMILY_P, "limit": limit,
        "worst_log": worst + 1, "worst_statistic": float(stat[worst]),
        "worst_mean_gap": float(mean_gap[worst]),
        "worst_rms_sd": float(math.sqrt(np.mean(var[:, worst][np.isfinite(var[:, worst])]))
                              if np.isfinite(var[:, worst]).any() else math.nan),
        "unjudged_entries": int(np.sum(~np.isfinite(var))), "unjudged_runs": unjudged,
        "failed_logs": int(np.sum(over)),
    }
