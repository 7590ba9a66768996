"""The scaling table of ``benchmarks/symbolic.py --scaling``: ours vs PHCpack vs msolve.

Cells: agents 2-6 at reward degree 2 and 3, and reward degree 2-12 at 2 agents, each with
``--cases`` seeded random games of exactly that degree (:func:`symbolic.random_games`). Every
solver gets ``--budget`` CPU seconds per cell: its cases run in turn, each under what is left of
the cell's budget; a case that runs out, and every case after it in the cell, is reported as
over budget (counted, never dropped: the cell's median is then "> budget" when half or more
are over). Times are CPU times as in :mod:`symbolic_peers`; each case's time is the fastest of
up to ``--repeat`` runs (fewer past ``--repeat-cpu`` s).

Growth exponent: the least-squares slope of log(median CPU) against log of the gradient
system's Bezout number (d-1)^n (the number of complex solutions of a generic system of that
shape) over a series' cells, for the degree-3 agent series and the 2-agent degree series
(against the degree d-1 itself the latter's slope is twice that); at degree 2 the gradient is
linear (Bezout number 1), so that series is fitted against log of the number of agents.
Cells with a median over budget are left out of the fit (say so: the exponent is then an
underestimate).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable
from typing import Any

from symbolic import fastest, ours, ours_solve_only, random_games
from symbolic_peers import Msolve, Phc, machine

from brud_analysis.game import Game

SERIES: tuple[tuple[str, list[tuple[int, int]], str], ...] = (
    ("agents 2-6, degree 3", [(n, 3) for n in range(2, 7)], "bezout"),
    ("agents 2-6, degree 2", [(n, 2) for n in range(2, 7)], "agents"),
    ("2 agents, degree 2-12", [(2, d) for d in range(2, 13)], "bezout"),
)


def _cell(games: list[Game], solve: Callable[[Game, float], tuple[str, float, Any]],
          args: argparse.Namespace) -> tuple[list[float], int]:
    """CPU per case (inf when over the cell's budget, nan on a solver error: PHCpack fails on
    some systems) and how many cases went over."""
    left, times, over = args.budget, [], 0
    for game in games:
        if left <= 0:
            times.append(math.inf)
            over += 1
            continue
        status, t, _, _ = fastest(solve, game, args.repeat, left, args.repeat_cpu)
        if status in ("over budget",):
            times.append(math.inf)
            over += 1
            left = 0
            continue
        left -= t
        times.append(t if status in ("ok", "positive-dimensional") else math.nan)
    return times, over


def _fmt(median: float, budget: float) -> str:
    return f"> {budget:g}" if math.isinf(median) else f"{median:.3f}"


def _slope(xs: list[float], ys: list[float]) -> float:
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True)
           if math.isfinite(y) and y > 0 and x > 0]
    if len(pts) < 2 or len({p[0] for p in pts}) < 2:
        return math.nan
    mx = statistics.fmean(p[0] for p in pts)
    my = statistics.fmean(p[1] for p in pts)
    return (sum((p[0] - mx) * (p[1] - my) for p in pts)
            / sum((p[0] - mx) ** 2 for p in pts))


def scaling(args: argparse.Namespace, msolve: Msolve | None) -> int:
    """Print the scaling table and the growth exponents; 0."""
    phc = Phc()
    solvers: list[tuple[str, Callable[[Game, float], tuple[str, float, Any]]]] = [
        ("ours full", ours), ("ours solve", ours_solve_only), ("PHCpack", phc.solve)]
    if msolve is not None:
        solvers.append(("msolve", msolve.solve))
    print(f"\n{args.cases} games per cell (seed {args.seed} + cell), budget {args.budget:g} CPU"
          f" s per solver and cell, repeat {args.repeat} (fewer past {args.repeat_cpu:g} s)\n")
    print("| agents | degree | Bezout (d-1)^n | " + " | ".join(
        f"{name} median CPU s (over budget, errors)" for name, _ in solvers) + " |")
    print("|---|---|---|" + "---|" * len(solvers), flush=True)
    medians: dict[tuple[int, int], list[float]] = {}
    try:
        for cell_index, (n, d) in enumerate(sorted({c for _, cells, _ in SERIES
                                                     for c in cells})):
            games = random_games(args.cases, args.seed + 1000 + 17 * n + d, (n,), (d,))
            cols, meds = [], []
            for _, solve in solvers:
                times, over = _cell(games, solve, args)
                finite = [t for t in times if not math.isnan(t)]
                med = statistics.median(finite) if finite else math.nan
                meds.append(med)
                errors = len(times) - len(finite)
                cols.append(f"{_fmt(med, args.budget)} ({over}"
                            + (f", {errors} errors)" if errors else ")"))
            medians[(n, d)] = meds
            print(f"| {n} | {d} | {(d - 1) ** n} | " + " | ".join(cols) + " |", flush=True)
            print(f"cell {cell_index}: {n} agents degree {d} done; {machine()}",
                  file=sys.stderr, flush=True)
    finally:
        phc.close()
    print("\n| series | fitted against | " + " | ".join(
        f"{name} exponent" for name, _ in solvers) + " |")
    print("|---|---|" + "---|" * len(solvers))
    for label, cells, against in SERIES:
        xs = [float((d - 1) ** n) if against == "bezout" else float(n) for n, d in cells]
        exps = [_slope(xs, [medians[c][i] for c in cells]) for i in range(len(solvers))]
        left_out = [sum(1 for c in cells if math.isinf(medians[c][i]))
                    for i in range(len(solvers))]
        print(f"| {label} | log {'Bezout number' if against == 'bezout' else 'agents'} | "
              + " | ".join(f"{e:.2f}" + (f" ({k} over budget left out: too low)" if k else "")
                           for e, k in zip(exps, left_out, strict=True)) + " |")
    print(f"\nmachine at the end: {machine()}")
    return 0
