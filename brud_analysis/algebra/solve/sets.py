"""Classification of positive-dimensional stationary sets: pieces of constant kind, special
points, rank regions, curve samples."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import sympy

from brud_analysis.algebra.boxes import Box, certified_sign
from brud_analysis.algebra.groebner import (
    grevlex_context,
    integer_polys,
    parse_poly,
    sympy_polys,
)
from brud_analysis.algebra.solve.bivariate import (
    _curve_samples,
    _solve_bivariate,
    _solve_coprime_pair,
)
from brud_analysis.algebra.solve.elimination import (
    _PIECES_BUDGET,
    _SAMPLE_LIMITS,
    _decompose,
    _pair_eliminant_roots,
)
from brud_analysis.algebra.solve.realsets import gram_kind
from brud_analysis.algebra.solve.samples import (
    _centre,
    _component_samples,
    _rank_change_polynomial,
    _sign_region_samples,
    _singular_locus_if_thin,
    _slice_samples,
    _variety_samples,
)
from brud_analysis.algebra.solve.types import (
    RealSolution,
    SetPiece,
    StationaryPoint,
    StationarySet,
    _dedupe,
    b_point,
)
from brud_analysis.algebra.solve.univariate import _lies_on, _rational
from brud_analysis.bounded import OutOfTime as _OutOfTime
from brud_analysis.bounded import cpu_clock
from brud_analysis.game import Game
from brud_analysis.stability import (
    certified_inertia,
    classify_hessian,
    classify_point,
    numeric_eigenvalues,
)


def _classify_set(game: Game, st: StationarySet) -> None:
    """Pieces of constant kind (certified for hypersurfaces, whose R - c = h^m g), else the
    certified Morse-Bott kind (Hessian inertia beside the set's ``dimension`` zero
    eigenvalues) at samples that meet every region where the Hessian's rank is constant
    (:func:`_rank_regions`), the points where it drops classified apart."""
    if st.dimension == game.n_agents:  # R constant: every point is a (weak) max and min
        st.kind = "degenerate"
        st.pieces = [SetPiece(tuple(0.0 for _ in game.agents), "degenerate")]
        return
    # (parse_poly: sympy.Poly's expand of a large basis was a third of a 5-agent analysis)
    rational = all(c.is_Rational for e in st.equations
                   for c in parse_poly(e, game.agents).coeffs())
    if (len(st.equations) == 1 and st.dimension == game.n_agents - 1 and rational
            and (game.n_agents == 2 or st.sample_boxes)):
        _hypersurface_pieces(game, st)
    elif st.sample_boxes:
        # Morse-Bott test at certified samples: exactly ``dimension`` zero eigenvalues and the
        # rest of one sign give (weak) maxima/minima, of both signs a saddle
        samples = list(st.sample_boxes)
        regions = None
        if rational and all(c.is_Rational for c in parse_poly(game.reward, game.agents).coeffs()):
            regions = _rank_regions(game, st)
            samples += regions or []
        by_kind: dict[str, tuple[float, ...]] = {}
        for boxes in samples:
            inertia = certified_inertia(game.hessian, game.agents, boxes,
                                        known_zero=st.dimension)
            if inertia is None:
                kind = "undetermined"
            else:
                pos, neg, zero = inertia
                kind = ("saddle" if pos and neg else "degenerate" if zero > st.dimension
                        else "maximum" if neg else "minimum")
            if kind == "degenerate" and regions is not None:
                continue  # a point where the rank drops: a special point, not a region
            by_kind.setdefault(kind, b_point(boxes))
        st.pieces = [SetPiece(sample, kind,
                              "kind at certified sample points (closest points, slices, "
                              "regions of constant Hessian rank)")
                     for kind, sample in by_kind.items()]
    elif st.sample is not None:
        eig = numeric_eigenvalues(game.hessian, game.agents, st.sample)
        kind = classify_hessian(eig, flat_directions=st.dimension)
        st.pieces = [SetPiece(st.sample, kind,
                              "(not certified: numeric Hessian at one sample point)")]
    if any(pc.kind == "degenerate" for pc in st.pieces):
        _global_kind(game, st)
    if not st.pieces:
        st.kind = "undetermined"
        st.reason = st.reason or "no real sample point found"
    else:
        kinds = {p.kind for p in st.pieces}
        st.kind = kinds.pop() if len(kinds) == 1 else "mixed"
        st.sample = st.pieces[0].sample


def _global_kind(game: Game, st: StationarySet) -> None:
    """A set whose Hessian test is degenerate: R - c = g^T Q g with Q semidefinite
    (:func:`.realsets.gram_kind`) makes every point of it a global maximum or minimum."""
    if not all(c.is_Rational for c in game.poly.coeffs()):
        return
    kind = gram_kind(game.reward, st.generators or st.equations, game.agents)
    if kind is not None:
        st.pieces = [SetPiece(st.pieces[0].sample, kind, "every point: R - R(set) = g^T Q g with g "
                              "the set's equations and Q semidefinite (global, certified)")]


def _hypersurface_pieces(game: Game, st: StationarySet) -> None:
    """R is constant (c) on the irreducible hypersurface h = 0 and R - c = h^m g with h not
    dividing g: where g != 0, an even m gives maxima (g < 0) or minima (g > 0), an odd m a
    saddle-like set (R - c changes sign across it); a constant g gives one kind on the whole
    set. Signs of g are certified at the samples. 2 agents: samples from a projection
    decomposition of the curve (every real branch and every sign of g along it is met), and
    crossings and the points where g = 0 are classified on their own. 3 or more agents: the
    set's certified samples (closest points to a centre, one on every connected component,
    and slices) and the critical points of g / q^k on the set (:func:`_sign_region_samples`:
    one in every connected region where g > 0 or g < 0); the singular locus and the locus
    g = 0 are sampled (:func:`_variety_samples`) and their points classified apart. When a
    system is too big for the in-process limits, ``reason`` says what may be missing."""
    agents = game.agents
    h = sympy.Poly(st.equations[0], *agents)
    reward = sympy.Poly(_rational(game.reward), *agents)
    _, rem = sympy.reduced(reward.as_expr(), [h.as_expr()], *agents)
    if not sympy.sympify(rem).is_number:
        st.reason = "R is not constant on the set's complex components"
        return
    g, m = reward - sympy.Poly(rem, *agents), 0
    while True:
        q, r = sympy.div(g, h)
        if not r.is_zero:
            break
        g, m = q, m + 1
    samples: list[tuple[tuple[Box, ...], int | None]]
    notes: list[str] = []
    if game.n_agents > 2:
        ctx = grevlex_context(agents)
        (hf,) = integer_polys([h.as_expr()], agents, ctx)
        minors = _singular_locus_if_thin([hf], 1, st.sample_boxes, agents,
                                         cpu_clock() + _PIECES_BUDGET)
        if minors is not None:
            _thin_hypersurface_pieces(game, st, h, g, m, sympy_polys(minors, agents))
            return
        boxes_list = list(st.sample_boxes)
        if not g.is_ground:
            (gf,) = integer_polys([g.as_expr()], agents, ctx)
            regions = _sign_region_samples([hf], 1, gf, agents,
                                           cpu_clock() + _PIECES_BUDGET)
            if regions is None:
                notes.append(f"pieces from the set's samples only: a region where {g.as_expr()}"
                             " has another sign can be missed (its critical-point system was "
                             "too big or not finite)")
                regions = _slice_samples(st.equations, agents, st.dimension,
                                         cpu_clock() + _PIECES_BUDGET)
            boxes_list += regions
        samples = _cofactor_signs(g, boxes_list)
    else:
        samples = list(_curve_samples(h, g, *agents))
    st.pieces += _pieces_by_sign(samples, g, lambda sign: "saddle" if m % 2 == 1
                                 else "maximum" if sign < 0 else "minimum")
    if m % 2 == 1 and len(st.pieces) > 1:  # both signs of g: still one kind
        st.pieces = [SetPiece(st.pieces[0].sample, "saddle",
                              "" if g.is_ground else f"{g.as_expr()} != 0")]
    special = []
    if game.n_agents > 2:
        # the singular locus (h = grad h = 0: a cone's apex, a Whitney umbrella's handle) and
        # the locus where the kind can change (h = g = 0, a curve or more here): every point
        # of a finite one, certified samples on every component of a curve
        deadline = cpu_clock() + _PIECES_BUDGET
        loci = [[h.as_expr(), *(h.diff(v).as_expr() for v in agents)]]
        if not g.is_ground:
            loci.append([h.as_expr(), g.as_expr()])
        for system in loci:
            found = _variety_samples(system, agents, deadline)
            if found is None:
                notes.append("a special locus (h = grad h = 0 or h = g = 0) was too big to "
                             "sample: its points are not listed")
            special += found or []
    else:
        x, y = agents
        fx, fy = h.diff(x), h.diff(y)
        try:
            if not g.is_ground and sympy.gcd(h, g).is_ground:
                special += _solve_coprime_pair(h, g, x, y, math.inf, False)
            sing, _ = _solve_bivariate(fx, fy, x, y, math.inf, False, 1)
            special += [p for p in sing if _lies_on(p, [h])]
        except _OutOfTime:
            notes.append("special points of the set not computed")
    # R - c = h^m g vanishes to order >= m + 1 where g = 0 and >= 2m at singular points of h
    _add_special_points(game, st, special, order=m + 1)
    if notes:
        st.reason = "; ".join(notes)


def _thin_hypersurface_pieces(game: Game, st: StationarySet, h: sympy.Poly, g: sympy.Poly,
                              m: int, minors: list[sympy.Poly]) -> None:
    """Pieces of a hypersurface set h = 0 whose real points are all singular (R - c = h^m g):
    its real points lie on the lower-dimensional locus h = minors = 0, and h has one sign
    sigma off it (the complement of a set of codimension >= 2 is connected), so near a real
    point where g != 0 the sign of R - c is sigma^m sign(g): (weak) maxima where it is
    negative, minima where positive, for odd m too (a smooth hypersurface would be a saddle
    there). The set's ``dimension`` becomes that of its real points."""
    agents = game.agents
    n = len(agents)
    deadline = cpu_clock() + _PIECES_BUDGET
    sigma = next((int(sympy.sign(v)) for k in range(8)
                  if (v := h.eval(dict(zip(agents, _centre(k, n), strict=True)))) != 0), None)
    comps = _decompose([h.as_expr(), *(q.as_expr() for q in minors)], agents, _SAMPLE_LIMITS)
    if sigma is None or comps is None:
        st.reason = ("every real point of the hypersurface is singular, and its real locus was "
                     "too big to decompose in-process")
        return
    gf = None if g.is_ground else integer_polys([g.as_expr()], agents, grevlex_context(agents))[0]
    samples: list[tuple[Box, ...]] = []
    special: list[RealSolution] = []
    real_dim = 0
    for basis, eliminants, dim in comps:
        if eliminants is not None:
            points = _pair_eliminant_roots(eliminants, agents,
                                           [parse_poly(b, agents) for b in basis], deadline,
                                           squarefree=True)
            samples += [p.boxes for p in points if p.boxes]
            continue
        found = _component_samples(basis, agents, dim, deadline)
        if gf is not None:
            fb = integer_polys(basis, agents, grevlex_context(agents))
            found += _sign_region_samples(fb, n - dim, gf, agents, deadline) or []
            special += _variety_samples([*basis, g.as_expr()], agents, deadline) or []
        if found:
            real_dim = max(real_dim, dim)
        samples += found
    st.dimension = real_dim
    st.pieces += _pieces_by_sign(_cofactor_signs(g, samples), g, lambda sign: (
        "maximum" if sigma**m * sign < 0 else "minimum"))
    _add_special_points(game, st, special, order=m + 1)
    st.reason = (f"every real point of the hypersurface is singular: its real points have "
                 f"dimension {real_dim}")


def _cofactor_signs(g: sympy.Poly, samples: list[tuple[Box, ...]]
                    ) -> list[tuple[tuple[Box, ...], int | None]]:
    """Each sample with the certified sign of the cofactor g there (None: not decided)."""
    return [(boxes, int(sympy.sign(g.LC())) if g.is_ground else certified_sign(g, boxes))
            for boxes in samples]


def _pieces_by_sign(samples: Sequence[tuple[tuple[Box, ...], int | None]], g: sympy.Poly,
                    kind_of: Callable[[int], str]) -> list[SetPiece]:
    """One piece per sign of the cofactor g met at the samples (``kind_of(sign)`` its kind),
    the undetermined one first; samples where g = 0 are special points, not pieces."""
    by_sign: dict[int | None, tuple[float, ...]] = {}
    for boxes, sign in samples:
        by_sign.setdefault(sign, b_point(boxes))
    g_text = str(g.as_expr())
    pieces = []
    if None in by_sign:
        pieces.append(SetPiece(by_sign[None], "undetermined",
                               f"sign of {g_text} not decided in time"))
    for sign, sample in sorted((s, p) for s, p in by_sign.items() if s):
        where = "" if g.is_ground else f"{g_text} {'<' if sign < 0 else '>'} 0"
        pieces.append(SetPiece(sample, kind_of(sign), where))
    return pieces


def _add_special_points(game: Game, st: StationarySet, special: list[RealSolution],
                        order: int = 2, extra_zero: int = 0) -> None:
    """Classify the set's special points (crossings, singular points, points where the kind
    can change) on their own, each with the set's known zero eigenvalues (its dimension, plus
    ``extra_zero`` known to the caller) and R - c's known vanishing ``order`` (see
    :func:`classify_point`)."""
    for p in _dedupe(special):
        if p.boxes is None:
            continue
        verdict = classify_point(game.reward, game.hessian, game.agents, p.boxes,
                                 known_zero=st.dimension + extra_zero, order=order)
        eig = tuple(complex(e) for e in numeric_eigenvalues(game.hessian, game.agents, p.point))
        st.special_points.append(StationaryPoint(p.point, p.exact, verdict.kind, eig,
                                                 verdict.higher_order, verdict.reason))


def _rank_regions(game: Game, st: StationarySet) -> list[tuple[Box, ...]] | None:
    """Certified samples of a stationary set with one in every connected region where the
    Hessian has exactly ``dimension`` zero eigenvalues (there the Morse-Bott kind is constant;
    :func:`_rank_change_polynomial`), and the points where the rank drops sampled and
    classified apart (``st.special_points``). None when the rank drops on the whole set.
    Notes in ``st.reason`` what could not be computed within the in-process limits."""
    agents = game.agents
    ctx = grevlex_context(agents)
    basis = integer_polys(st.equations, agents, ctx)
    e = _rank_change_polynomial(game.hessian, agents, basis, st.dimension)
    if e is None:  # the rank drops everywhere on the set: every sample says "degenerate"
        return None
    deadline = cpu_clock() + _PIECES_BUDGET
    regions = _sign_region_samples(basis, len(agents) - st.dimension, e, agents, deadline)
    drops = _variety_samples([*st.equations, sympy_polys([e], agents)[0].as_expr()], agents,
                             deadline)
    notes = []
    if regions is None:
        notes.append("kinds at the set's samples only: a region of constant Hessian rank can "
                     "be missed (its critical-point system was too big or not finite)")
        regions = _slice_samples(st.equations, agents, st.dimension, deadline)
    if drops is None:
        notes.append("the points where the Hessian's rank drops were too many to sample")
    # each drop point is a zero of e, the coefficient of t^dim in the characteristic
    # polynomial (the lower ones vanish on the set): so dim + 1 eigenvalues are exactly zero
    # there, without the exact zero test of that coefficient, which ran into its 5 s budget
    # in a worker at points with several irrational coordinates (22 s of a 5-agent game)
    _add_special_points(game, st, drops or [], extra_zero=1)
    if notes:
        st.reason = "; ".join(notes)
    return regions


def _boxes_of(sol: RealSolution) -> tuple[Box, ...] | None:
    """Certified coordinates of a solution: its boxes, else boxes of its exact values."""
    if sol.exact is not None and all(e.is_Rational for e in sol.exact):
        return tuple(Box.rational(e) for e in sol.exact)
    if sol.boxes is not None:
        return sol.boxes
    if sol.exact is not None:
        try:
            return tuple(Box.from_exact(e) for e in sol.exact)
        except (ValueError, NotImplementedError, sympy.PolynomialError):
            return None
    return None


def _exact_sample(st: StationarySet, field_, variables) -> bool:
    """Whether the set's float sample is exactly on the set (so its Box is the point)."""
    if st.sample is None:
        return False
    at = {v: sympy.Rational(c) for v, c in zip(variables, st.sample, strict=True)}
    return all(sympy.sympify(e).subs(at) == 0 for e in st.equations)
