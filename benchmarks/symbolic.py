"""Benchmark: full symbolic analysis vs what a user would otherwise do (``sympy.solve``).

Cases: the paper's four games and N random bivariate polynomials of total degree <= 6 (seeded).
For each case we time

* ours: ``stationary_points`` + ``brud_field`` + ``brud_fixed_points`` for normal data, i.e. the
  whole of ``brud analyse --data normal ...``;
* baseline: ``sympy.solve(grad R, [x, y])`` in a worker process killed after ``--timeout`` s.

Prints one table (success rate, median and max time, speed ratio of the stationary-point
search where both finish, agreement on the number of real isolated stationary points, and the
relative residual |grad R| / sum|terms| at our points as an independent check). Timings are
ratios within one run on the same machine; nothing here is asserted in tests.

    .venv/bin/python benchmarks/symbolic.py --cases 50 --seed 0 --timeout 5 --repeat 3
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time

import numpy as np
import sympy
from sympy.core.cache import clear_cache

from brud_analysis.catalogue import CATALOGUE
from brud_analysis.data import Normal
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from brud_analysis.solve import brud_fixed_points, stationary_points
from brud_analysis.stability import _compiled


def random_games(n: int, seed: int, max_degree: int = 6) -> list[Game]:
    """``n`` seeded random bivariate polynomials, total degree <= ``max_degree``."""
    rng = np.random.default_rng(seed)
    monomials = [(i, j) for i in range(max_degree + 1) for j in range(max_degree + 1 - i)
                 if i + j > 0]
    games = []
    while len(games) < n:
        k = int(rng.integers(3, 11))
        chosen = rng.choice(len(monomials), size=k, replace=False)
        coeffs = np.zeros((max_degree + 1, max_degree + 1), dtype=int)
        for c in chosen:
            coeffs[monomials[c]] = int(rng.choice([-9, -7, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 9]))
        game = Game(coeffs)
        if all(game.reward.has(a) for a in game.agents):
            games.append(game)
    return games


def ours(game: Game) -> tuple[float, int, str, float, float]:
    """Stationary-point time, # isolated real stationary points, method, max relative
    residual of grad R at our points, time of the full analysis (+ BRUD field/fixed points)."""
    # a fresh Game and empty caches each run: the derivatives are part of the work, as they
    # are for the sympy.solve baseline (which also starts from an empty SymPy cache)
    _compiled.cache_clear()
    clear_cache()  # SymPy's global cache would otherwise remember the previous repetition
    game = Game(game.reward, agents=game.agent_names)
    start = time.perf_counter()
    analysis = stationary_points(game)
    t_stationary = time.perf_counter() - start
    brud_field(game)
    brud_fixed_points(game, Normal([0.3, -0.2], [0.5, 0.5]))
    t_full = time.perf_counter() - start
    residual = 0.0
    for p in analysis.points:  # independent check: |grad R| / sum |terms| at every point
        for d in game.gradient:
            poly = sympy.Poly(d, *game.agents)
            terms = [float(c) * p.point[0] ** i * p.point[1] ** j
                     for (i, j), c in poly.terms()]
            residual = max(residual, abs(sum(terms)) / max(1.0, sum(abs(t) for t in terms)))
    return t_stationary, len(analysis.points), analysis.method, residual, t_full


def _sympy_worker(reward: str, conn) -> None:
    clear_cache()  # same footing as ours: nothing remembered from earlier runs
    x, y = sympy.symbols("x y", real=True)
    expr = sympy.sympify(reward, locals={"x": x, "y": y})
    start = time.perf_counter()
    try:
        sols = sympy.solve([sympy.diff(expr, x), sympy.diff(expr, y)], [x, y], dict=True)
        elapsed = time.perf_counter() - start
        real_points = 0
        parametric = False
        for s in sols:
            if len(s) < 2 or any(v.free_symbols for v in s.values()):
                parametric = True
                continue
            vals = [complex(sympy.N(v)) for v in s.values()]
            if all(abs(v.imag) < 1e-9 for v in vals):
                real_points += 1
        conn.send(("ok", elapsed, real_points, parametric))
    except Exception as err:  # NotImplementedError etc.: counts as a failure of the baseline
        conn.send(("error", time.perf_counter() - start, repr(err)[:60], False))


def baseline(game: Game, timeout: float) -> tuple[str, float, int | None]:
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_sympy_worker, args=(str(game.reward), child), daemon=True)
    start = time.perf_counter()
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            return "timeout", timeout, None
        status, elapsed, points, parametric = parent.recv()
        if status != "ok":
            return "error", elapsed, None
        return ("parametric" if parametric else "ok"), elapsed, points
    except EOFError:
        return "error", time.perf_counter() - start, None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=5.0, help="sympy.solve limit (s)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (>= 1)")
    args = parser.parse_args(argv)
    args.repeat = max(1, args.repeat)

    cases = [(name, make()) for name, make in CATALOGUE.items()]
    cases += [(f"random-{k}", g) for k, g in enumerate(random_games(args.cases, args.seed))]
    rows = []
    for name, game in cases:
        # best of --repeat runs each (the machine is shared; the minimum is the least noisy);
        # a baseline that timed out is not re-run
        runs = [ours(game) for _ in range(args.repeat)]
        t_ours, n_ours, method, residual, _ = min(runs, key=lambda r: r[0])
        t_full = min(r[4] for r in runs)
        status, t_base, n_base = baseline(game, args.timeout)
        for _ in range(args.repeat - 1):
            if status not in ("ok", "parametric"):
                break
            again = baseline(game, args.timeout)
            if again[0] == status:
                t_base = min(t_base, again[1])
        rows.append((name, t_ours, n_ours, method, status, t_base, n_base, residual, t_full))
        print(f"{name:16s} ours {t_ours:7.3f}s (full {t_full:.3f}s, {n_ours} pts)  "
              f"sympy.solve {status:10s} "
              f"{t_base:7.3f}s ({n_base} pts)", file=sys.stderr)

    def summary(label, subset):
        t_o = [r[1] for r in subset]
        t_full = [r[8] for r in subset]
        done = [r for r in subset if r[4] == "ok"]
        t_b = [r[5] for r in subset if r[4] in ("ok", "parametric")]
        faster = sum(1 for r in subset if r[4] in ("ok", "parametric") and r[1] < r[5])
        finished = sum(1 for r in subset if r[4] in ("ok", "parametric"))
        agree = sum(1 for r in done if r[2] == r[6])
        missed = sum(1 for r in done if r[6] < r[2])
        worst = max(r[7] for r in subset)
        ratios = [r[5] / r[1] for r in subset if r[4] in ("ok", "parametric") and r[1] > 0]
        print(f"| {label} | {len(subset)} | {len(subset)}/{len(subset)} | "
              f"{statistics.median(t_o):.3f} | {statistics.median(t_full):.3f} | "
              f"{max(t_full):.3f} | "
              f"{finished}/{len(subset)} | "
              f"{(statistics.median(t_b) if t_b else float('nan')):.3f} | "
              f"{faster}/{finished} | "
              f"{(statistics.median(ratios) if ratios else float('nan')):.1f}x | "
              f"{agree}/{len(done)} | {missed} | {worst:.1e} |")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nsympy.solve limit {args.timeout:g} s, seed {args.seed}, best of {args.repeat}; "
          "times in seconds; "
          f"load average {load:.1f} on {os.cpu_count()} CPUs (both columns share it)\n")
    print("| cases | n | ours completed | ours median (stationary pts) | ours median (full) | "
          "ours max (full) | sympy.solve finished | "
          "sympy median (finished) | ours faster | median speed-up | same # real points | "
          "sympy.solve missed points | max rel. residual at our points |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary("paper games", rows[: len(CATALOGUE)])
    summary(f"random deg<=6 (seed {args.seed})", rows[len(CATALOGUE):])
    summary("all", rows)
    methods = statistics.multimode([r[3] for r in rows])
    print(f"\nmost common method: {', '.join(methods)}; "
          f"sympy.solve outcomes: "
          + ", ".join(f"{s}={sum(1 for r in rows if r[4] == s)}"
                      for s in ("ok", "parametric", "timeout", "error")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
