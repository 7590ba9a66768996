"""Paper Sec. 4.1: PJAP in polynomial games (Eqs. 6-7, Fig. 5), and the symbolic PJAP field
analysis the paper does not have (docs/theory.md#the-pjap-field):
closed form, limits, escape threshold, eps floor."""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import sympy

from brud_analysis.catalogue import twin_peaks
from brud_analysis.data import Empirical, Normal
from brud_analysis.fields import brud_field, true_field
from brud_analysis.pjap import (
    ALPHA,
    brud_limit_field,
    greedy_limit_field,
    origin_escape_alpha,
    pjap_field,
    pjap_fixed_points,
    pjap_jacobian,
)
from paper_checks.claims import Context, Outcome, claim, fmt, must_derive
from paper_checks.numeric import (
    Runs,
    cached_offline,
    exact_moment_dataset,
    log_interval,
    seeds_inits,
)

PAPER = {"A": 1, "B": 4, "C": 5}
A_DAG = float(np.sqrt(3 / 8))
# The paper does not state Fig. 5's stds, alpha or eps; these are ours (stated in the report).
FIG5_STDS = (0.1, 0.3, 0.5, 1.0)
FIG5_ALPHA, FIG5_EPS = 16.0, 1e-3
FIG5_INITS = ((-0.8, 0.6), (0.2, 0.9), (0.9, -0.5), (-0.5, -0.5))
SOLVED_TOL = 0.05  # |theta - peak|_inf below this counts as "found the solution"
# "Consistently": at least 95% of the runs of a setting solved (100% would call one unlucky
# seed of 128 a failure); below half in any setting refutes it.
CONSISTENT = 0.95


def fig5_dataset(std: float, mean: float = A_DAG) -> np.ndarray:
    """Optimum-centred dataset (1000 rows) with exactly this mean and divisor-N std."""
    return exact_moment_dataset([mean, mean], [std, std], 1000, seed=11)


def fig5_runs(ctx: Context, std: float, use_pjap: bool) -> Runs:
    """Offline MADDPG with / without PJAP (L1, Eq. 7) on the optimum-centred dataset."""
    from verify import sampling
    pjap = sampling.PJAPConfig(alpha=FIG5_ALPHA, eps=FIG5_EPS) if use_pjap else None
    inits = seeds_inits(FIG5_INITS, max(2, ctx.seeds // 4))
    return cached_offline(ctx, f"fig5-{std}-{use_pjap}", twin_peaks(**PAPER), fig5_dataset(std),
                          inits, steps=ctx.steps, lr=0.05, pjap=pjap)


def _peak_gap(points: np.ndarray) -> np.ndarray:
    """L-inf distance of each ``(..., 2)`` point to the nearer true peak (+-a_dag, +-a_dag)."""
    return np.minimum(np.max(np.abs(points - A_DAG), axis=-1),
                      np.max(np.abs(points + A_DAG), axis=-1))


@claim("eq6_7.priority", "Sec. 4, Eqs. 6-7",
       "PJAP samples item tau with probability proportional to rho = max(exp(-alpha d^2), eps), "
       "d the L1 distance between the data joint action and the current joint policy.",
       paper_value="rho = max(exp(-alpha d(mu_k, beta_tau)^2), eps), d = ||a_hat - theta||_1",
       refuted_if=("the sampler's distances or priorities differ from Eq. 6-7 beyond float32 "
                   'rounding, or its draw frequencies differ from rho / sum(rho) by more than 5 '
                   'binomial standard errors'))
def check_priority(ctx: Context) -> Outcome:
    import jax

    from verify import sampling
    jnp = jax.numpy
    rng = np.random.default_rng(12)
    data = rng.normal(0, 1, size=(40, 2))
    theta = np.array([0.3, -0.2])
    alpha, eps = 4.0, 1e-3
    d = np.sum(np.abs(data - theta), axis=1)
    rho = np.maximum(np.exp(-alpha * d**2), eps)
    got_d = np.asarray(sampling.joint_action_distance(jnp.asarray(data), jnp.asarray(theta),
                                                      "l1"))
    got_rho = np.asarray(sampling.pjap_priority(jnp.asarray(d), alpha, eps))
    draws = 200_000
    # Jitted: un-jitted, the sampler's associative scan runs op by op (3x the CPU).
    sample = jax.jit(sampling.sample, static_argnums=2)
    idx, _ = sample(jax.random.key(0), sampling.SamplerState(jnp.asarray(rho)), draws)
    freq = np.bincount(np.asarray(idx), minlength=len(rho)) / draws
    expected = rho / rho.sum()
    # Binomial standard error per item <= sqrt(p/draws); 5 SE + float32 rounding.
    worst_z = float(np.max(np.abs(freq - expected) / np.sqrt(expected / draws + 1e-12)))
    ok = (np.allclose(got_d, d, rtol=1e-5) and np.allclose(got_rho, rho, rtol=1e-5)
          and worst_z < 5)
    return Outcome("confirmed" if ok else "refuted",
                   derived={"rho(d)": "max(exp(-alpha d^2), eps)", "d": "sum_i |a_i - theta_i|"},
                   numeric={"max |z| of sampling frequencies (200k draws, 40 items)": worst_z},
                   why="" if ok else "the sampler does not follow Eq. 6-7")


@claim("fig5.distance_and_reward", "Sec. 4.1, Fig. 5",
       "On optimum-centred Twin Peaks datasets of increasing spread, PJAP lowers the mean "
       "distance between sampled data and the current policy and raises the reward reached, "
       "compared with offline MADDPG (BRUD).",
       refuted_if=("for some std, PJAP's mean sample-to-policy distance is not below BRUD's, or "
                   "its final reward is below BRUD's by more than 1e-3"))
def check_fig5(ctx: Context) -> Outcome:
    from brud_analysis.solve import brud_fixed_points
    from verify import sampling
    game = twin_peaks(**PAPER)
    derived, numeric = {}, {}
    lower_distance = higher_reward = True
    pj = sampling.PJAPConfig(alpha=FIG5_ALPHA, eps=FIG5_EPS)
    for std in FIG5_STDS:
        model = Empirical(fig5_dataset(std))
        brud_pts = [p for p in brud_fixed_points(game, model).points if p.stable]
        # the same prediction as fig5.consistency's (alpha, eps) = (16, 1e-3) row: computed once
        pjap_pts = ctx.cached(f"sweep-pred-{std}-{FIG5_ALPHA}-{FIG5_EPS}", functools.partial(
            _stable_predictions, game, model.samples, pj))
        derived[f"std {std}"] = {"BRUD stable point": [fmt(p.point) for p in brud_pts],
                                 "PJAP stable points (multi-start, not certified)": [
                                     fmt(p.point) for p in pjap_pts]}
        base, prio = fig5_runs(ctx, std, False), fig5_runs(ctx, std, True)
        row = {
            "mean distance BRUD": float(np.mean(base["distance"])),
            "mean distance PJAP": float(np.mean(prio["distance"])),
            "final reward BRUD": float(np.mean(base["reward"][:, -1])),
            "final reward PJAP": float(np.mean(prio["reward"][:, -1])),
            "PJAP runs within 0.05 of a peak": float(np.mean(
                _peak_gap(prio["policy"][:, -1]) < SOLVED_TOL)),
        }
        numeric[f"std {std}"] = fmt(row)
        lower_distance &= row["mean distance PJAP"] < row["mean distance BRUD"]
        # At std 0.1 both reach ~R_max: equal up to SGD noise (1e-3 of R_max = 0.5625).
        higher_reward &= row["final reward PJAP"] >= row["final reward BRUD"] - 1e-3
    ok = lower_distance and higher_reward
    last = numeric[f"std {FIG5_STDS[-1]}"]
    note = (f"std {FIG5_STDS[-1]}: distance {last['mean distance BRUD']} -> "
            f"{last['mean distance PJAP']}, final reward {last['final reward BRUD']} -> "
            f"{last['final reward PJAP']} (R_max 0.5625)")
    return Outcome(
        "confirmed" if ok else "refuted", derived=derived, numeric=numeric, note=note,
        why="" if ok else "PJAP did not lower the distance / raise the reward for every std")


def _sweep_grid(ctx: Context) -> tuple[list[float], list[float], list[float], list[tuple]]:
    if ctx.quick:
        return [4.0, 16.0, 64.0], [0.0, 1e-3], [0.3, 1.0], list(FIG5_INITS)
    inits = list(itertools.product((-0.9, 0.0, 0.9), repeat=2))
    return [1.0, 4.0, 16.0, 64.0, 256.0], [0.0, 1e-3, 1e-2], [0.3, 0.5, 1.0], inits


@claim("fig5.consistency", "Sec. 4.1, text after Fig. 5",
       "MADDPG with PJAP 'finds the solution consistently across the various datasets' "
       "(the paper gives no alpha or eps: tested as 'some (alpha, eps) of a sweep solves every "
       "data spread, from every initialisation').",
       paper_value="consistently finds the solution",
       refuted_if=('for every (alpha, eps) of the sweep, some data spread has fewer than half of '
                   'the PJAP runs ending within 0.05 of a peak (best setting below 95% but at '
                   'least half: partly). Two stages (full mode): every setting is run with 2 '
                   'seeds per start (18 runs per spread); only an (alpha, eps) with at least '
                   'half solved at every spread is re-run with 8 seeds per start (72 runs), and '
                   'its verdict uses those; candidates are re-run in sweep order until one '
                   'solves 95% at every spread (the verdict re-running them all would give; the '
                   'table then has stage-1 rows for the candidates after it). Power: an (alpha, '
                   'eps) that truly solves 95% is dropped at stage 1 with probability < 1e-6, '
                   'one that solves 70% with ~2% (then partly may read refuted)'))
def check_consistency(ctx: Context) -> Outcome:
    game = twin_peaks(**PAPER)
    alphas, epss, stds, inits = _sweep_grid(ctx)
    table: list[dict[str, Any]] = []
    failures: list[str] = []
    # Stage 1 (all settings, 2 seeds per start) decides which (alpha, eps) can be the best;
    # stage 2 (8 seeds per start, full mode) measures those: most of the sweep fails at some
    # spread by far (0-10% solved), and its 72-run estimates cost 2/3 of the claim's CPU.
    stage1 = _sweep_stage(ctx, game, list(itertools.product(alphas, epss)), stds, inits, 2)
    worst = {pair: min(row["solved fraction"] for row in rows) for pair, rows in stage1.items()}
    final = dict(stage1)
    if not ctx.quick:
        # Stage 2 re-runs the candidates (at least half solved at every spread) one at a time,
        # in sweep order, and stops at the first that solves CONSISTENT at every spread: the
        # verdict needs one such setting, so it is the one re-running them all would give.
        keep = [pair for pair, w in worst.items() if w >= 0.5]
        for pair in keep:
            rows = _sweep_stage(ctx, game, [pair], stds, inits, 8)[pair]
            final[pair] = rows
            if min(row["solved fraction"] for row in rows) >= CONSISTENT:
                break
        tested = [pair for pair in keep if final[pair][0]["runs"] > stage1[pair][0]["runs"]]
        # a candidate is judged on its stage-2 runs only (the others all solved < half)
        worst = {pair: min(row["solved fraction"] for row in rows)
                 for pair, rows in final.items() if pair not in keep or pair in tested}
    for rows in final.values():
        table.extend(rows)
        failures.extend(f"std {r['std']}, alpha {r['alpha']}, eps {r['eps']}: "
                        f"{r['solved fraction']:.0%} of {r['runs']} solved (predicted gap "
                        f"{r['predicted gap to peak']})"
                        for r in rows if r["solved fraction"] < CONSISTENT)
    # The paper's hyper-parameters are not stated: the claim holds if *some* (alpha, eps)
    # finds the solution on every dataset spread.
    (best_alpha, best_eps), best = max(worst.items(), key=lambda kv: kv[1])
    note = (f"best setting alpha {best_alpha:g}, eps {best_eps:g}: at least {best:.0%} of runs "
            "solved for every std")
    if best >= CONSISTENT:
        return Outcome("confirmed", derived={"tolerance": SOLVED_TOL}, numeric=table,
                       note=note)
    return Outcome(
        "refuted" if best < 0.5 else "partly", derived={"tolerance": SOLVED_TOL},
        numeric=table, note=note,
        why="PJAP helps but not everywhere: at finite alpha its fixed point is biased towards "
            "BRUD's (wider data, smaller alpha: larger bias), and with an eps floor a large "
            "alpha falls back towards BRUD; failing settings: " + "; ".join(failures[:6])
            + (f" (+{len(failures) - 6} more)" if len(failures) > 6 else ""))


def _stable_predictions(game: Any, data: np.ndarray, pj: Any) -> list:
    """The stable zeros of the PJAP field of ``data`` found by the multi-start search (not
    certified) over the data's hull padded by half its width + 0.5.

    Shown in fig5's tables only (the verdicts come from the trained runs). Not the verifier's
    certified search: on these 1000-row L1 datasets it took 262 s of CPU for the 45 sweep
    settings (the multi-start ~15 s), half of ``make paper``.
    """
    from brud_analysis.pjap import pjap_fixed_points
    from verify.predictions import padded_hull

    points = pjap_fixed_points(game, Empirical(data), pj.alpha * pj.exponent,
                               pj.eps ** pj.exponent, pj.distance, box=padded_hull(data))
    return [p for p in points if p.stable]


def _sweep_stage(ctx: Context, game: Any, pairs: list[tuple[float, float]], stds: list[float],
                 inits: list[tuple], seeds: int
                 ) -> dict[tuple[float, float], list[dict[str, Any]]]:
    """One stage of the consistency sweep: per (alpha, eps), one table row per spread."""
    from verify import sampling

    out: dict[tuple[float, float], list[dict[str, Any]]] = {}
    for (alpha, eps), std in itertools.product(pairs, stds):
        pj = sampling.PJAPConfig(alpha=alpha, eps=eps)
        data = fig5_dataset(std)
        pred = ctx.cached(f"sweep-pred-{std}-{alpha}-{eps}", functools.partial(
            _stable_predictions, game, data, pj))
        pred_gap = min((float(_peak_gap(np.array(p.point))) for p in pred), default=np.nan)
        # one compiled trainer serves every (alpha, eps); one call per setting keeps its
        # (runs x dataset) priorities in cache (the whole sweep in one call ran slower)
        run = cached_offline(ctx, f"sweep-{std}-{alpha}-{eps}-{seeds}", game, data,
                             seeds_inits(inits, seeds), steps=ctx.steps, lr=0.05, pjap=pj)
        gaps = _peak_gap(run["policy"][:, -1])
        solved = float(np.mean(np.isfinite(gaps) & (gaps < SOLVED_TOL)))
        out.setdefault((alpha, eps), []).append({
            "std": std, "alpha": alpha, "eps": eps, "solved fraction": solved,
            "runs": len(gaps), "predicted stable points (multi-start, not certified)": [
                fmt(p.point, 3) for p in pred],
            "predicted gap to peak": fmt(pred_gap, 3),
            "median trained gap": fmt(float(np.nanmedian(gaps)), 3)})
    return out


@functools.cache
def _closed_form_derivation() -> tuple[tuple[tuple[str, Any], ...], bool]:
    """The symbolic half of :func:`check_closed_form` (items of its ``derived``, and whether
    the limits hold and the agents couple), derived once per process."""
    game = twin_peaks(**PAPER)
    m, s = sympy.symbols("m s", real=True)
    data = Normal([m, m], [s, s])
    field = pjap_field(game, data)
    jac = pjap_jacobian(game, Normal([0, 0], [1, 1]), ALPHA)
    to_brud = all(sympy.simplify(a - b) == 0 for a, b in
                  zip(brud_limit_field(game, data), brud_field(game, data), strict=True))
    to_grad = all(sympy.simplify(a - b) == 0 for a, b in
                  zip(greedy_limit_field(game, data), true_field(game), strict=True))
    derived = (("G_x", str(sympy.factor(field[0]))),
               ("dG_x/dtheta_y at 0 (std 1)", str(jac[0, 1])),
               ("alpha -> 0 is BRUD", to_brud), ("alpha -> oo is grad R", to_grad))
    return derived, bool(to_brud and to_grad and jac[0, 1] != 0)


@claim("pjap.closed_form", "beyond the paper (docs/theory.md#the-pjap-field)",
       "For the squared-L2 kernel, eps = 0 and independent normal data the PJAP field has a "
       "closed form (reweighted marginals N((m + k theta)/(1 + k), s^2/(1 + k)), k = 2 alpha "
       "s^2); it couples the agents; alpha -> 0 gives BRUD and alpha -> oo gives grad R; "
       "trained PJAP (L2, eps 0) lands on its predicted fixed points.",
       refuted_if=('the closed form does not reduce to BRUD (alpha -> 0) or grad R (alpha -> oo),'
                   ' does not couple the agents, or the harness does not pass trained L2 PJAP '
                   'runs against the predicted points'))
def check_closed_form(ctx: Context) -> Outcome:
    from verify import harness, sampling
    game = twin_peaks(**PAPER)
    items, symbolic = _closed_form_derivation()
    derived = dict(items)
    numeric, statuses = {}, []
    for std, alpha in ((1.0, 4.0), (0.5, 16.0)):
        pj = sampling.PJAPConfig(alpha=alpha, eps=0.0, distance="l2")
        model = Empirical(fig5_dataset(std))
        pts = pjap_fixed_points(game, Normal([A_DAG, A_DAG], [std, std]), alpha)
        result = ctx.cached(f"closed-{std}-{alpha}", functools.partial(
            harness.verify_game, game, model, seeds=ctx.seeds, steps=ctx.steps, lr=0.05,
            pjap=pj))
        stable = np.array([p.point for p in result.predicted if p.stable])
        ends = result.final_policies
        nearest = np.min(np.max(np.abs(ends[:, None, :] - stable[None]), axis=-1), axis=1)
        basins = np.argmin(np.max(np.abs(ends[:, None, :] - stable[None]), axis=-1), axis=1)
        numeric[f"std {std}, alpha {alpha}"] = {
            "closed form (normal data) stable points": [fmt(p.point) for p in pts if p.stable],
            "finite-dataset prediction": [fmt(p) for p in stable],
            "observed mean per basin": {str(fmt(stable[b])): fmt(ends[basins == b].mean(axis=0))
                                        for b in sorted(set(basins.tolist()))},
            "max run distance to nearest predicted point": float(nearest.max()),
            "harness status": result.status, "harness reasons": result.reasons}
        statuses.append(result.status)
    # The verdict is the harness's (derived tolerances), never overridden here.
    if not symbolic or "failed" in statuses:
        status = "refuted"
    elif "inconclusive" in statuses:
        status = "partly"
    else:
        status = "confirmed"
    return Outcome(status, derived=derived, numeric=numeric,
                   why="" if status == "confirmed" else
                   f"symbolic checks {'hold' if symbolic else 'fail'}; harness statuses "
                   f"{statuses}")


@claim("pjap.escape_threshold", "beyond the paper (docs/theory.md#the-pjap-field)",
       "PJAP (L2 kernel, eps 0) escapes BRUD's origin trap of an origin-centred Twin Peaks "
       "dataset iff alpha > (A + B s^2) / (s^2 (C - 2A)); below that the origin stays stable.",
       refuted_if=('the symbolic threshold differs from (A + B s^2)/(s^2 (C - 2A)), or any run '
                   'leaves the origin at alpha = alpha*/2, or any run stays at alpha = 2 alpha*'))
def check_escape(ctx: Context) -> Outcome:
    from verify import sampling
    A, B, D, s = sympy.symbols("A B D s", real=True)
    general = must_derive(origin_escape_alpha(twin_peaks(A, B, 2 * A + D),
                                              Normal([0, 0], [s, s])), "alpha* (general A, B, D)")
    C = sympy.Symbol("C", real=True)
    derived: dict[str, Any] = {"alpha*": str(general.subs(D, C - 2 * A))}
    numeric, ok = {}, sympy.simplify(general - (A + B * s**2) / (s**2 * D)) == 0
    game = twin_peaks(**PAPER)
    # The runs are judged at the points offline_runs logs by default (`judged`), but logged
    # twice as often and every other point kept (the same numbers, bit for bit): at that
    # interval they train with the program compiled for pjap.closed_form's verify_game runs in
    # quick mode (same game, L2 PJAP, dataset shape, 16 runs once padded): one compilation
    # (~2.5 s of CPU) instead of two.
    steps = ctx.steps * 2
    judged = log_interval(steps)
    fine = judged // 2 if judged % 2 == 0 else judged
    for std in (0.3, 1.0):
        threshold = float(must_derive(origin_escape_alpha(game, Normal([0, 0], [std, std])),
                                      f"alpha* at std {std}"))
        derived[f"alpha* at std {std}"] = round(threshold, 4)
        data = fig5_dataset(std, mean=0.0)
        # A run "left" the origin if its tail-averaged end is nearer the escaped stable points
        # (at 2 alpha*) than the origin: half their coordinate. SGD noise around a weakly
        # contracting origin reaches ~0.1 at std 1, so a fixed small threshold would not do.
        escaped = max(abs(p.point[0]) for p in pjap_fixed_points(
            game, Normal([0, 0], [std, std]), 2 * threshold) if p.stable)
        for factor in (0.5, 2.0):
            alpha = factor * threshold
            pj = sampling.PJAPConfig(alpha=alpha, eps=0.0, distance="l2")
            inits = seeds_inits([(0.05, 0.05), (-0.05, -0.04)], max(2, ctx.seeds // 4))
            run = cached_offline(ctx, f"escape-{std}-{factor}", game, data, inits,
                                 steps=steps, lr=0.05, pjap=pj, log_every=fine)
            policy = run["policy"][:, ::judged // fine]  # the points logged every `judged`
            tail = max(1, policy.shape[1] // 4)
            end = policy[:, -tail:].mean(axis=1)
            left = float(np.mean(np.max(np.abs(end), axis=1) > escaped / 2))
            pts = pjap_fixed_points(game, Normal([0, 0], [std, std]), alpha)
            numeric[f"std {std}, alpha = {factor} x alpha*"] = {
                "predicted stable points": [fmt(p.point) for p in pts if p.stable],
                "fraction of runs that left the origin": left,
                "mean |end|": fmt(np.abs(end).mean(axis=0))}
            ok &= (left == 0.0) if factor < 1 else (left == 1.0)
    note = (f"alpha* = {derived['alpha*']}; {derived['alpha* at std 0.3']} at std 0.3, "
            f"{derived['alpha* at std 1.0']} at std 1")
    return Outcome("confirmed" if ok else "refuted", derived=derived, numeric=numeric, note=note,
                   why="" if ok else "training does not switch behaviour at the threshold")


@claim("pjap.eps_floor", "beyond the paper (docs/theory.md#the-pjap-field)",
       "With an eps floor, a very large alpha falls back towards BRUD (the floor's share of the "
       "sampling grows), so PJAP's best alpha is finite; wide data can add a second stable "
       "point near the other peak.",
       refuted_if=("the best PJAP point at alpha 1e4 is not back within 0.05 of BRUD's, alpha 16 "
                   'is not better, there is no second stable point at alpha 4, or trained runs '
                   'end more than 0.05 from the predicted coordinate'))
def check_eps_floor(ctx: Context) -> Outcome:
    game = twin_peaks(**PAPER)
    data = Normal([A_DAG, A_DAG], [1.0, 1.0])
    rows = {}
    quadrature_shift = 0.0
    for alpha in (4.0, 16.0, 1e4):
        # 80 quadrature nodes per axis resolve the kernel window (~7 nodes per kernel width at
        # alpha 1e4) at a tenth of the default grid's cost; how far the finer default grid
        # would move each point (one Newton step on its field) is measured below and must stay
        # a tenth of the 0.05 tolerance. Quick mode: fewer Newton starts.
        pts = pjap_fixed_points(game, data, alpha, eps=1e-3, distance="l1",
                                box=[(-1, 1), (-1, 1)], starts_per_axis=3 if ctx.quick else 5,
                                nodes=COARSE_NODES)
        quadrature_shift = max(quadrature_shift, _quadrature_shift(game, data, alpha, pts))
        rows[f"alpha {alpha:g}"] = [{"point": fmt(p.point, 3), "stable": p.stable}
                                    for p in pts]
    if not quadrature_shift < 0.005:
        raise ValueError(f"the {COARSE_NODES}-node quadrature moves the PJAP fixed points by "
                         f"{quadrature_shift:.2g} against the default grid (more than 0.005)")
    brud = 5 * A_DAG / (5 + 2 * 4 * 1.0**2)  # C a_dag / (C + 2B std^2), std 1
    stable_x = {k: [v["point"][0] for v in pts if v["stable"] and v["point"][0] > 0]
                for k, pts in rows.items()}
    best = {k: max(v) if v else float("nan") for k, v in stable_x.items()}
    two_points = sum(v["stable"] for v in rows["alpha 4"]) >= 2
    from verify import sampling
    numeric = {}
    for alpha in (16.0, 1e4):
        pj = sampling.PJAPConfig(alpha=alpha, eps=1e-3)
        run = cached_offline(ctx, f"floor-{alpha}", game, fig5_dataset(1.0),
                             seeds_inits([(0.5, 0.5)], max(2, ctx.seeds // 4)),
                             steps=ctx.steps, lr=0.05, pjap=pj)
        numeric[f"trained end, alpha {alpha:g}"] = fmt(run["policy"][:, -1].mean(axis=0))
    ends = {k: v[0] for k, v in numeric.items()}
    # Finite dataset + SGD noise: 0.05 around the predicted coordinate.
    trained_ok = (abs(ends["trained end, alpha 16"] - best["alpha 16"]) < 0.05
                  and abs(ends["trained end, alpha 10000"] - best["alpha 10000"]) < 0.05)
    ok = (best["alpha 16"] > best["alpha 10000"] and abs(best["alpha 10000"] - brud) < 0.05
          and two_points and trained_ok)
    return Outcome(
        "confirmed" if ok else "refuted",
        derived={"L1 PJAP fixed points, eps 1e-3, optimum-centred std 1": rows,
                 "BRUD fixed point": round(brud, 4),
                 f"max shift of a point on the default grid ({COARSE_NODES} nodes used)":
                     float(f"{quadrature_shift:.2g}")},
        numeric=numeric,
        note=f"std 1, eps 1e-3: PJAP point {best['alpha 16']} at alpha 16, "
             f"{best['alpha 10000']} at alpha 1e4 (BRUD {brud:.4f})",
        why="" if ok else "the predicted fixed points do not show the eps fallback")


#: Quadrature nodes per axis of check_eps_floor's numeric PJAP field.
COARSE_NODES = 80


def _quadrature_shift(game: Any, data: Normal, alpha: float, points: list) -> float:
    """Largest max-norm move of ``points`` (zeros of the ``COARSE_NODES`` field) that one Newton
    step on the default-grid field would make: the quadrature error in the coordinates."""
    from brud_analysis.pjap import numeric_pjap_field

    coarse = numeric_pjap_field(game, data, alpha, 1e-3, "l1", nodes=COARSE_NODES)
    fine = numeric_pjap_field(game, data, alpha, 1e-3, "l1")
    shift = 0.0
    for p in points:
        x, h = np.asarray(p.point), 1e-5
        jac = np.column_stack([(coarse(x + e) - coarse(x - e)) / (2 * h)
                               for e in np.eye(len(x)) * h])
        shift = max(shift, float(np.max(np.abs(np.linalg.solve(jac, fine(x))))))
    return shift
