"""Paper Sec. 3.2: the decoupled, sign-agreement and action-agreement games (Twin Peaks has its
own module). Each claim re-derives the fields, stationary points and BRUD fixed points."""

from __future__ import annotations

import numpy as np
import sympy

from brud_analysis.catalogue import action_agreement, decoupled, sign_agreement
from brud_analysis.data import Empirical, Normal
from brud_analysis.fields import brud_field, true_field
from paper_checks.claims import Context, Outcome, claim, fmt
from paper_checks.numeric import cached_offline, exact_moment_dataset, seeds_inits


def _points(analysis) -> list[dict]:
    return [{"point": fmt(p.point), "kind": getattr(p, "kind", None),
             "stable": getattr(p, "stable", None)} for p in analysis.points]


@claim("games.decoupled", "Sec. 3.2, decoupled rewards",
       "R = a_x + a_y: grad R = grad J = (1, 1) whatever the data; no miscoordination.",
       refuted_if=("BRUD's field differs from grad R in the decoupled game, or trained runs do "
                   'not follow it'))
def check_decoupled(ctx: Context) -> Outcome:
    from brud_analysis import solve
    game = decoupled()
    g, t = brud_field(game), true_field(game)
    same = all(sympy.simplify(a - b) == 0 for a, b in zip(g, t, strict=True))
    stat = solve.stationary_points(game)
    derived = {"grad R": [str(v) for v in t], "BRUD field": [str(v) for v in g],
               "stationary points": len(stat.points) + len(stat.sets),
               "has maximum": stat.has_maximum}
    data = exact_moment_dataset([-0.7, 0.4], [0.5, 1.0], 500, seed=1)
    steps, lr = ctx.steps, 0.01
    run = cached_offline(ctx, "decoupled", game, data, seeds_inits([[0.0, 0.0]], 4),
                         steps=steps, lr=lr)
    move = run["policy"][:, -1] - run["policy"][:, 0]
    gap = float(np.max(np.abs(move - steps * lr)))
    ok = same and gap < 1e-3  # the update is deterministic: only float32 rounding
    return Outcome("confirmed" if ok else "refuted", derived=derived,
                   numeric={"displacement": fmt(move.mean(axis=0)),
                            "predicted": [steps * lr] * 2, "max gap": gap},
                   why="" if ok else "field or training differs from (1, 1)")


@claim("games.sign_agreement", "Sec. 3.2, sign agreement",
       "R = a_x a_y: grad J = (mean_y, mean_x) is constant; with sign(mean_x) = sign(mean_y) "
       "the policies move towards high reward, with different signs towards low reward; the "
       "game has no maximum (only a saddle at the origin).",
       refuted_if=("BRUD's field is not the constant (mean_y, mean_x), or trained runs do not "
                   'drift along it'))
def check_sign_agreement(ctx: Context) -> Outcome:
    from brud_analysis import solve
    game = sign_agreement()
    x, y = game.agents
    mx, my = sympy.symbols("m_x m_y", real=True)
    g = brud_field(game, Normal([mx, my], [1, 1]))
    t = sympy.Symbol("t", positive=True)
    # Reward along the BRUD path theta(t) = theta0 + t (m_y, m_x): leading term t^2 m_x m_y.
    path_reward = sympy.expand(game.reward.subs({x: x + t * g[0], y: y + t * g[1]}))
    leading = sympy.Poly(path_reward, t).LC()
    stat = solve.stationary_points(game)
    derived = {"BRUD field": [str(v) for v in g], "reward along path: t^2 *": str(leading),
               "stationary points": _points(stat), "has maximum": stat.has_maximum}
    results = {}
    for label, means in (("same signs", [0.5, 0.5]), ("different signs", [0.5, -0.5])):
        data = exact_moment_dataset(means, [0.5, 0.5], 500, seed=2)
        run = cached_offline(ctx, f"sign-{label}", game, data,
                             seeds_inits([[0.1, -0.1]], max(4, ctx.seeds // 4)),
                             steps=ctx.steps, lr=0.01)
        results[label] = {"start reward": float(run["reward"][:, 0].mean()),
                          "end reward": float(run["reward"][:, -1].mean())}
    ok = (str(leading) in ("m_x*m_y", "m_y*m_x") and not stat.has_maximum
          and results["same signs"]["end reward"] > results["same signs"]["start reward"]
          and results["different signs"]["end reward"] < results["different signs"][
              "start reward"])
    return Outcome("confirmed" if ok else "refuted", derived=derived, numeric=fmt(results),
                   why="" if ok else "reward trend does not follow the sign of the means")


@claim("games.action_agreement", "Sec. 3.2, action agreement",
       "R = -(a_x - a_y)^2: grad R = (2a_y - 2a_x, 2a_x - 2a_y) has a line of optima a_x = a_y; "
       "grad J = (2 mean_y - 2a_x, 2 mean_x - 2a_y) has the single (stable) fixed point "
       "(mean_y, mean_x), optimal iff mean_x = mean_y.",
       refuted_if=('the BRUD fixed point is not (mean_y, mean_x), is not stable, or the harness '
                   'does not pass trained runs against it'))
def check_action_agreement(ctx: Context) -> Outcome:
    from brud_analysis import solve
    from verify import harness
    game = action_agreement()
    x, y = game.agents
    stat = solve.stationary_points(game)
    g_sym = brud_field(game)
    mx, my = sympy.symbols("m_x m_y", real=True)
    fixed = sympy.solve(brud_field(game, Normal([mx, my], [1, 1])), [x, y], dict=True)
    reward_at = sympy.factor(game.reward.subs(fixed[0])) if len(fixed) == 1 else None
    derived = {"grad R": [str(v) for v in true_field(game)],
               "BRUD field": [str(v) for v in g_sym],
               "stationary sets": [{"equations": [str(e) for e in s.equations],
                                    "dimension": s.dimension, "kind": s.kind} for s in stat.sets],
               "BRUD fixed point": {str(k): str(v) for k, v in fixed[0].items()},
               "reward there": str(reward_at)}
    numeric = {}
    passed = True
    for label, means in (("means (0.5, -0.3)", [0.5, -0.3]), ("means (0.2, 0.2)", [0.2, 0.2])):
        data = Empirical(exact_moment_dataset(means, [0.4, 0.4], 500, seed=5))
        fp = solve.brud_fixed_points(game, data)
        result = harness.verify_game(game, data, seeds=ctx.seeds, steps=ctx.steps, lr=0.05)
        numeric[label] = {"predicted": [fmt(p.point) for p in fp.points],
                          "stable": [p.stable for p in fp.points],
                          "observed": fmt(result.observed_mean),
                          "tolerance": fmt(result.tolerance), "passed": result.passed,
                          "reward at fixed point": fmt(-((means[0] - means[1]) ** 2) + 0.0)}
        passed &= result.passed and len(fp.points) == 1 and bool(fp.points[0].stable)
    line = any(s.dimension == 1 and s.kind == "maximum" for s in stat.sets)
    ok = (line and len(fixed) == 1 and sympy.simplify(fixed[0][x] - my) == 0
          and sympy.simplify(reward_at + (mx - my) ** 2) == 0 and passed)
    return Outcome("confirmed" if ok else "refuted", derived=derived, numeric=numeric,
                   why="" if ok else "derivation or training disagrees with the paper")
