"""What the trained map should do: predictions for the SGD map, each with its noise model.

Split from :mod:`verify.harness` (which re-exports the public names). For the decoupled BRUD
field every agent's 1-D projected SGD map is analysed exactly (fixed points, walls, period-2
orbits, stable iff ``|multiplier| < 1``); for a coupled field (PJAP without importance weights)
the given flow fixed points, and those of the clip box's faces, are judged by the spectral
radius of the projected map's Jacobian. Each stable point becomes a :class:`Target` carrying
the stationary variance, log correlation and deterministic terms its tolerance is built from
(derivations in :mod:`verify.harness`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from brud_analysis.data import Empirical
from brud_analysis.game import Game
from brud_analysis.solve import FixedPoint
from verify.reference import ReferenceField, agent_orbits
from verify.sampling import PJAPConfig
from verify.verdicts import Z_SCORE

FLOAT32_EPS = float(np.finfo(np.float32).eps)


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



class FlowPoints(list):
    """Predicted flow fixed points (a list of :class:`FixedPoint`) that also says whether the
    list is *certified complete* in ``box``: no other zero of the field lies there. ``note``
    names what was not resolved where it is not."""

    def __init__(self, points: Sequence[FixedPoint] = (), complete: bool = False,
                 box: Sequence[tuple[float, float]] | None = None, note: str = "",
                 slack: float = 0.0) -> None:
        super().__init__(points)
        self.complete = complete
        self.box = None if box is None else tuple((float(lo), float(hi)) for lo, hi in box)
        self.note = note
        self.slack = slack  # how far past the box a point still counts as inside it

    def covers(self, *points: np.ndarray) -> bool:
        """True if the list is certified complete and every finite row of ``points`` lies in
        its box (a run or reference that ends outside the box may sit at an unlisted zero).

        Example:
            >>> FlowPoints([], True, [(-1, 1)]).covers(np.array([[0.5], [np.nan]]))
            True
            >>> FlowPoints([], True, [(-1, 1)]).covers(np.array([[1.5]]))
            False
        """
        if not self.complete or self.box is None:
            return False
        lo, hi = np.array(self.box).T
        lo, hi = lo - self.slack, hi + self.slack
        for x in points:
            x = np.asarray(x, float).reshape(-1, len(lo))
            x = x[np.all(np.isfinite(x), axis=1)]
            if np.any((x < lo) | (x > hi)):
                return False
        return True


def _certified_or_multistart(game: Game, rows: np.ndarray, alpha: float, eps: float,
                             distance, box: list[tuple[float, float]], regulariser=None,
                             *, field=None, starts_per_axis: int = 7) -> tuple[list, bool, str]:
    """Zeros of the PJAP field in ``box``: the certified Krawczyk search
    (:func:`brud_analysis.pjap_certified.certified_pjap_zeros`); where it gives up (budget,
    a kink or singular zero it cannot resolve, an expression it cannot enclose), its certified
    zeros plus those of the uncertified multi-start search, marked incomplete. Returns
    ``(points, complete, note)``; ``field`` (the full numeric field ``(n,) -> (n,)``) is needed
    for the fallback."""
    from brud_analysis.errors import BrudError
    from brud_analysis.pjap import find_fixed_points
    from brud_analysis.pjap_certified import certified_pjap_zeros

    try:
        out = certified_pjap_zeros(game, rows, alpha, eps, distance, box=box,
                                   regulariser=regulariser, cpu_budget=30.0)
    except BrudError as err:
        certified, note = [], f"certified search not run: {err}"
    else:
        if out.complete:
            return list(out.points), True, out.summary()
        certified, note = list(out.points), out.summary()
    free = [j for j, (lo, hi) in enumerate(box) if hi > lo]
    base = np.array([lo for lo, _ in box], dtype=float)
    found = list(certified)

    def free_field(z: np.ndarray) -> np.ndarray:  # pinned coordinates held at their value
        x = base.copy()
        x[free] = z
        return np.asarray(field(x), dtype=float)[free]

    if field is not None:  # the uncertified fallback, only where the certified search gave up
        for p in find_fixed_points(free_field, [box[j] for j in free],
                                   starts_per_axis=starts_per_axis, tol=1e-6):
            x = base.copy()
            x[free] = p.point
            if not any(np.max(np.abs(x - np.asarray(q.point))) < 1e-4 for q in found):
                found.append(type(p)(tuple(map(float, x)), p.stable, p.eigenvalues))
    return found, False, note + "; multi-start search (not certified) added its zeros"


def padded_hull(samples: np.ndarray) -> list[tuple[float, float]]:
    """The search box for PJAP zeros without a clip box: the data's hull ``(K, n)`` padded by
    half its width + 0.5 per coordinate.

    Example:
        >>> padded_hull(np.array([[0.0, 1.0], [2.0, 1.0]]))
        [(-1.5, 3.5), (0.5, 1.5)]
    """
    lo, hi = samples.min(axis=0), samples.max(axis=0)
    pad = 0.5 * (hi - lo) + 0.5
    return list(zip((lo - pad).tolist(), (hi + pad).tolist(), strict=True))


def predict_fixed_points(game: Game, model: Empirical, pjap: PJAPConfig | None = None,
                         regulariser=None, clip: float | None = None) -> FlowPoints:
    """Predicted fixed points of the expected *flow* for the finite dataset ``model``.

    Symbolic BRUD, or the PJAP prioritised field of :mod:`brud_analysis.pjap` (exact finite
    sum; a priority exponent ``w`` is folded in as ``alpha * w`` and ``eps ** w``). With
    importance weights the expected update is uniform BRUD, so BRUD's points are returned.
    PJAP's zeros come from the certified search of :mod:`brud_analysis.pjap_certified` over
    the clip box ``[-clip, clip]^n`` if given, else the data's hull padded by half its width
    + 0.5; the answer's ``complete`` says whether no other zero lies in its ``box``. BRUD's
    symbolic answer is not marked complete here (the decoupled verifier analyses it exactly).
    :func:`verify_game` then judges each point for the trained map.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> pts = predict_fixed_points(twin_peaks(), Empirical([[0.5, 0.5]]))
        >>> [round(v, 4) for v in pts[0].point], pts[0].stable   # 2.5 / (2 + 8 * 0.25)
        ([0.625, 0.625], True)
    """
    if regulariser is not None and (pjap is None or pjap.importance_weights):
        from brud_analysis.regularisers import regularised_fixed_points  # beyond the paper

        return FlowPoints(regularised_fixed_points(game, model, regulariser).points)
    if pjap is None or pjap.importance_weights:
        from brud_analysis.solve import brud_fixed_points

        return FlowPoints(brud_fixed_points(game, model).points)
    from brud_analysis.pjap import numeric_pjap_field

    if clip is not None:
        box = [(-float(clip), float(clip))] * game.n_agents
    else:
        box = padded_hull(model.samples)
    alpha, eps = pjap.alpha * pjap.exponent, pjap.eps**pjap.exponent
    field = numeric_pjap_field(game, model, alpha, eps, pjap.distance, regulariser=regulariser)
    points, complete, note = _certified_or_multistart(game, model.samples, alpha, eps,
                                                      pjap.distance, box, regulariser,
                                                      field=field)
    # A clip box's wall is a float32 number in the trainer: runs on it may sit that far out.
    slack = 0.0 if clip is None else 4 * FLOAT32_EPS * (1 + float(clip))
    return FlowPoints(_as_fixed_points(points), complete, box, note, slack)


# ---------------------------------------------------------------------------- predictions


@dataclass
class Target:
    """One point the tail average of a run can settle at, with its noise model."""

    point: np.ndarray
    kind: str
    variance: np.ndarray        # (n,) stationary variance of one iterate, per agent
    correlation: np.ndarray     # (n,) correlation of consecutive logged iterates
    deterministic: float        # bias + rounding + importance bias (distance units)
    single_tol: float = math.nan
    orbit: tuple = ()            # which joint orbit (phases of one orbit share it)
    # (n,) per agent, how far this phase is from the fixed point between the orbit's two
    # phases (the boundary between them for the twice-iterated map); inf off an orbit
    phase_margin: np.ndarray | None = None
    # (n,) per agent, whether the clip box's wall bounds this coordinate's noise (a point on
    # the wall, or an interior point whose noise reaches one): its variance and deterministic
    # terms then carry the wall's bound (:func:`wall_bound`), and the linear model's
    # "noise reaches a wall" exclusion does not apply to it
    wall_bounded: np.ndarray | None = None


def wall_bound(slope, s2, lr: float, batch: int, start: float, toward: float,
               reach: float, clip: float) -> tuple[float, float]:
    """Bounds on the stationary second moment and on the mean distance of a clipped 1-D SGD
    coordinate from ``start`` (the wall itself, or an interior fixed point whose noise
    reaches the wall); ``(inf, inf)`` where they do not hold.

    The projection onto the box moves no point farther from a point of the box, so with
    ``E = x - start`` one step gives ``|E'| <= |F(start + E) - start + xi|`` for an interior
    ``start``; on a wall ``c`` whose field points outwards, the distance ``D = |c - x|`` obeys
    ``D' = max(0, h(D) - xi)`` with ``h(0) <= 0``, so ``D' <= max(0, rho D - xi)`` where
    ``rho`` bounds the map's slope ``F'`` (``max(0, max F')`` on a wall, ``max |F'|``
    inside) over the region within ``reach`` of ``start`` (on the ``toward`` side for a wall,
    both sides inside). Squaring and taking expectations (``xi`` has mean 0 and variance
    ``sigma^2 = lr^2 s^2 / B`` independent of the past):
    ``E[E^2] <= sigma^2 / (1 - rho^2)``, however the wall truncates the noise and however
    weakly the field pushes; the mean is at most its root, and on a wall (``D' <= rho D +
    max(0, -xi)``, ``E max(0, -xi) <= sigma / 2``) at most ``sigma / (2 (1 - rho))``.
    ``reach`` is grown to ``Z_SCORE`` times the bound's sd (a
    fixed-point iteration), so the slope bound covers where the runs go.

    Example:
        >>> # F(x) = x + 0.1 (1 - x) (g = 1 - x, root 1), wall at 1: rho = 0.9
        >>> v, mean = wall_bound(lambda v: 0.9, lambda v: 1.0, 0.1, 1, 1.0, -1.0, 0.0, 1.0)
        >>> round(v, 6), round(mean, 6)      # 0.01 / (1 - 0.81); min(sqrt(v), 0.1 / 0.2)
        (0.052632, 0.229416)
    """
    on_wall = toward != 0
    for _ in range(4):
        lo, hi = (min(start, start + toward * reach), max(start, start + toward * reach)) \
            if on_wall else (start - reach, start + reach)
        lo, hi = max(lo, -clip), min(hi, clip)
        grid = np.linspace(lo, hi, 33)
        slopes = np.array([slope(u) for u in grid])
        rho = max(0.0, float(np.max(slopes))) if on_wall else float(np.max(np.abs(slopes)))
        if not rho < 1:
            break
        sigma2 = lr * lr * max(s2(u) for u in grid[::8]) / batch
        v = sigma2 / (1 - rho * rho)
        if Z_SCORE * math.sqrt(v) <= reach:
            mean = math.sqrt(v)
            if on_wall:
                mean = min(mean, math.sqrt(sigma2) / (2 * (1 - rho)))
            return v, mean
        reach = Z_SCORE * math.sqrt(v) * 1.25
    return math.inf, math.inf

def _orbit_noise(ref: ReferenceField, point: np.ndarray, agent: int, values: tuple[float, ...],
                 phase: int, orbit, lr: float, batch: int, every: int, clip: float | None
                 ) -> tuple[float, float, float, bool]:
    """(variance, correlation of logs ``every`` apart, deterministic, wall-bounded) for one
    agent."""
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

    def unclipped_slope(v: float) -> float:
        return float(1 + lr * g.deriv()(v))

    curv = float(max(abs(g.deriv(2)(v)) for v in values))
    q = point.copy()
    q[agent] = x
    is_bias = abs(float(ref.importance_bias(q, batch)[agent]))
    if orbit.period == 1 and orbit.on_wall[0]:
        push = abs(float(g(x)))
        offset = lr * s2(x) / (2 * batch * push)
        tau = max(1.0, s2(x) / (2 * batch * push * push))  # relaxation time, in steps
        # float32 cannot represent the wall exactly: a noise-free wall still needs rounding
        rounding = 8 * FLOAT32_EPS * (1 + abs(x))
        # The reflected walk's exponential law (mean offset) needs a firm push; where the
        # unclipped zero is close beyond the wall the push vanishes and the walk's offset
        # blows up, while the wall's own contraction still bounds the spread.
        bound, mean = wall_bound(unclipped_slope, s2, lr, batch, x, -math.copysign(1.0, x),
                                 0.0, abs(x))
        var, mean = min(offset**2, bound), min(offset, mean)
        return (var, math.exp(-every / tau), mean + lr * is_bias + rounding, True)
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
    return v, corr, deterministic, False


def _truncated(ref: ReferenceField, point: np.ndarray, agent: int, lr: float, batch: int,
               clip: float, reach: float) -> float:
    """:func:`wall_bound`'s second moment for an interior fixed point's coordinate whose
    noise reaches a wall (``inf`` where the bound does not hold)."""
    g = ref.polys[agent]

    def s2(v: float) -> float:
        q = point.copy()
        q[agent] = v
        return float(ref.variance(q, batch)[agent])

    return wall_bound(lambda v: float(1 + lr * g.deriv()(v)), s2, lr, batch,
                      float(point[agent]), 0.0, reach, clip)[0]


def _phase_margin(orbit, phase: int, orbits: list) -> float:
    """Distance from phase ``phase`` of a period-2 ``orbit`` to the nearest period-1 point
    between its two phases (the boundary between the phases for the twice-iterated map; noise
    that reaches it flips the phase); ``inf`` for a period-1 orbit."""
    if orbit.period == 1:
        return math.inf
    lo, hi = sorted(orbit.values)
    between = [o.values[0] for o in orbits if o.period == 1 and lo < o.values[0] < hi]
    x = orbit.values[phase]
    return min((abs(x - u) for u in between), default=math.inf)


def _decoupled_predictions(ref: ReferenceField, lr: float, clip: float | None, batch: int,
                           every: int) -> tuple[list[FixedPoint], list[dict], list[Target],
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
            walled = np.zeros(ref.n, bool)
            for i, (o, p) in enumerate(zip(combo, phases, strict=True)):
                var[i], corr[i], d, walled[i] = _orbit_noise(ref, point, i, o.values, p, o, lr,
                                                             batch, every, clip)
                det += d
            if clip is not None and all(o.period == 1 for o in combo):
                # An interior point whose noise reaches a wall (as the basin check sees it:
                # every agent's deterministic terms): the wall truncates the spread and shifts
                # the mean, by at most the root of the clipped process's second moment.
                for k in map(int, np.flatnonzero(~walled)):
                    reach = Z_SCORE * math.sqrt(var[k]) + det
                    if clip - abs(point[k]) <= reach:
                        bound = _truncated(ref, point, k, lr, batch, clip, reach)
                        if math.isfinite(bound):
                            var[k] = max(var[k], bound)
                            det += math.sqrt(bound)
                            walled[k] = True
            kind = ("period-2 orbit" if any(o.period == 2 for o in combo) else
                    "wall" if any(o.on_wall[0] for o in combo) else "fixed point")
            margin = np.array([_phase_margin(o, p, per_agent[i])
                               for i, (o, p) in enumerate(zip(combo, phases, strict=True))])
            targets.append(Target(point, kind, var, corr, det, orbit=tuple(map(id, combo)),
                                  phase_margin=margin, wall_bounded=walled))
    return predicted, orbits_out, targets, notes


def _box_points(ref: ReferenceField, clip: float, flow_points: list[FixedPoint]
                ) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool, list[str]]:
    """Fixed points of the projected map for a non-decoupled field: interior zeros of ``G``,
    and on every face of the box the zeros of the free coordinates where the pinned ones'
    field points outwards. Returns ``(point, pinned mask)`` pairs, whether every face's search
    was certified complete (PJAP field only: the certified search with the face's coordinates
    pinned), and notes on the faces where it was not."""
    from brud_analysis.pjap import find_fixed_points

    n = ref.n
    out = [(np.asarray(p.point), np.zeros(n, bool)) for p in flow_points
           if np.all(np.abs(p.point) < clip)]
    pjap = ref.pjap
    certify = pjap is not None and not pjap.importance_weights
    complete, notes = certify, []
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

                if free and certify:
                    assert pjap is not None
                    face = [(s, s) if j in pinned else (-clip, clip)
                            for j, s in zip(range(n), _expand(pinned, signs, n), strict=True)]
                    cands, ok, note = _certified_or_multistart(
                        ref.game, ref.rows, pjap.alpha * pjap.exponent,
                        pjap.eps**pjap.exponent, pjap.distance, face, ref.regulariser,
                        field=ref.field, starts_per_axis=5)
                    if not ok:
                        complete = False
                        notes.append(f"face {dict(zip(pinned, signs, strict=True))}: {note}")
                    zs = [np.asarray(c.point)[free] for c in cands]
                    zs = [z for z in zs if np.all(np.abs(z) < clip)]
                elif free:
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
    return out, complete, notes


def _expand(pinned: tuple[int, ...], signs: tuple[float, ...], n: int) -> list[float]:
    """The pinned values at their coordinates (0 elsewhere)."""
    x = [0.0] * n
    for j, s in zip(pinned, signs, strict=True):
        x[j] = float(s)
    return x


def _along(ref: ReferenceField, x: np.ndarray, j: int, lr: float, batch: int,
           coupling: float) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """The slope of the map and the per-sample variance (plus ``coupling``) along coordinate
    ``j`` through ``x``, as functions of that coordinate (for :func:`wall_bound`)."""
    def at(v: float) -> np.ndarray:
        q = np.array(x, dtype=float)
        q[j] = v
        return q

    def slope(v: float) -> float:
        return float(1 + lr * ref.jacobian(at(v))[j, j])

    def s2(v: float) -> float:
        return float(ref.variance(at(v), batch)[j]) + coupling

    return slope, s2


def _joint_predictions(ref: ReferenceField, flow_points: list[FixedPoint], lr: float,
                       clip: float | None, batch: int, every: int
                       ) -> tuple[list[FixedPoint], list[Target], list[str]]:
    """Period-1 points of the projected SGD map for a coupled field (PJAP, or given points).
    The points come back as :class:`FlowPoints`, complete where ``flow_points`` was certified
    complete and (with a clip box) so was every face's search."""
    complete = isinstance(flow_points, FlowPoints) and flow_points.complete
    notes: list[str] = []
    if isinstance(flow_points, FlowPoints) and not flow_points.complete and flow_points.note:
        notes.append(f"PJAP fixed-point search {flow_points.note}")
    if clip is not None:
        candidates, faces_complete, face_notes = _box_points(ref, clip, flow_points)
        complete = complete and faces_complete
        notes += face_notes
    else:
        candidates = [(np.asarray(p.point, float), np.zeros(ref.n, bool)) for p in flow_points]
    flow_stable = {tuple(np.round(p.point, 9)): p.stable for p in flow_points}
    predicted = (FlowPoints([], complete, flow_points.box, slack=flow_points.slack)
                 if isinstance(flow_points, FlowPoints) else FlowPoints())
    targets = []
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
        mean = np.zeros(ref.n)
        for j in np.flatnonzero(pinned):  # reflected walk on the wall
            offset = lr * s2[j] / (2 * batch * abs(g[j]))
            corr[j] = math.exp(-every / max(1.0, s2[j] / (2 * batch * g[j] ** 2)))
            # ... bounded by the wall's own contraction where the push is weak; the free
            # coordinates' spread enters through the coupling as extra noise
            coupling = batch * float(np.sum(jac[j, ~pinned] ** 2 * var[~pinned]))
            bound, walk = wall_bound(*_along(ref, x, int(j), lr, batch, coupling), lr, batch,
                                     float(x[j]), -math.copysign(1.0, x[j]), 0.0, abs(float(x[j])))
            var[j], mean[j] = min(offset**2, bound), min(offset, walk)
        gap = 1 - rho
        is_bias = float(np.linalg.norm(ref.importance_bias(x, batch)))
        det = (lr * ref.curvature(x) * float(np.max(var)) / (2 * gap)
               + 8 * FLOAT32_EPS * (1 + float(np.max(np.abs(x)))) / gap + lr * is_bias / gap
               + float(np.sum(mean[pinned])))
        walled = np.zeros(ref.n, bool)
        if clip is not None and not pinned.any() and np.any(
                clip - np.abs(x) <= Z_SCORE * np.sqrt(var) + det):
            # Noise reaching a wall from inside: the projection moves no point away from x,
            # so E|E'|^2 <= L^2 E|E|^2 + lr^2 tr(s^2) / B with L = ||I + lr J||_2 near x.
            bound = _truncated_joint(ref, x, lr, batch, clip,
                                     Z_SCORE * math.sqrt(float(np.sum(var))) + det)
            if math.isfinite(bound):
                var = var * max(1.0, bound / float(np.sum(var)))
                det += math.sqrt(bound)
                walled[:] = True
        kind = "wall" if pinned.any() else "fixed point"
        targets.append(Target(x, kind, var, corr, det, wall_bounded=walled))
    return predicted, targets, notes


def _truncated_joint(ref: ReferenceField, x: np.ndarray, lr: float, batch: int, clip: float,
                     reach: float) -> float:
    """The joint analogue of :func:`wall_bound` for an interior point of a coupled field:
    ``E|x - x*|^2 <= lr^2 max tr(s^2) / (B (1 - L^2))``, ``L`` the largest spectral norm of
    the step's Jacobian at ``x*`` and ``x* +- reach e_k`` (in the box); ``inf`` if ``L >= 1``."""
    n = len(x)
    for _ in range(4):
        pts = np.clip(np.vstack([x, x + reach * np.eye(n), x - reach * np.eye(n)]), -clip, clip)
        norm = max(float(np.linalg.norm(np.eye(n) + lr * ref.jacobian(p), 2)) for p in pts)
        if not norm < 1:
            return math.inf
        v = lr * lr * max(float(np.sum(ref.variance(p, batch))) for p in pts) / (
            batch * (1 - norm * norm))
        if Z_SCORE * math.sqrt(v) <= reach:
            return v
        reach = 1.25 * Z_SCORE * math.sqrt(v)
    return math.inf
