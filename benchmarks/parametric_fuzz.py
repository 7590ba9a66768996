"""Fuzz the parametric path of ``brud analyse``: random valid requests, count internal errors.

Requests: random 2-agent polynomial games (2-5 terms, degree <= 4, small integer, fraction or
decimal coefficients), each with a symbolic parameter in the game (K times a random term)
and/or symbolic data moments (``Normal([m, m], [s, s])`` or ``Normal([m, m], [1/2, 1/2])``),
with or without an assumption (``K > 0``, ``m > 0, s > 0``). An answer is a dict (formulas,
or the documented "no closed form: give values" notes); a ``BrudError`` is a refusal (one line,
exit 2); anything else is an internal error (exit 1) and is printed with its request. Requests
that run past ``--timeout`` seconds of wall time (SIGALRM) are counted apart.

    python benchmarks/parametric_fuzz.py --requests 500 --seed 0
"""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import time
import traceback

import numpy as np
import sympy

from brud_analysis.cli.symbolic import analyse
from brud_analysis.data import Normal
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from brud_analysis.parametric import Assumptions


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def request(rng: np.random.Generator):
    """One random valid request: (game, data or None, assumptions, text)."""
    x, y = sympy.symbols("x y", real=True)
    K, m, s = sympy.symbols("K m s", real=True)
    coefficient = [lambda: sympy.Integer(int(rng.integers(-5, 6)) or 1),
                   lambda: sympy.Rational(int(rng.integers(-9, 10)) or 1, int(rng.integers(2, 7))),
                   lambda: sympy.Float(round(float(rng.uniform(-3, 3)), 2))]
    monomials = [(i, j) for i in range(5) for j in range(5) if 0 < i + j <= 4]
    chosen = rng.choice(len(monomials), size=int(rng.integers(2, 6)), replace=False)
    terms = [coefficient[int(rng.integers(0, 3))]() * x**monomials[c][0] * y**monomials[c][1]
             for c in chosen]
    mode = int(rng.integers(0, 3))  # 0: K in the game, 1: symbolic data, 2: both
    if mode in (0, 2):
        terms[0] = terms[0] * K
    reward = sum(terms)
    if not (reward.has(x) and reward.has(y)):
        reward += x * y
    data = None
    if mode in (1, 2):
        std = [s, s] if rng.integers(0, 2) else [sympy.Rational(1, 2)] * 2
        data = Normal([m, m], std)
    facts = []
    if rng.integers(0, 2):
        if reward.has(K):
            facts.append("K > 0")
        if data is not None:
            facts.append("m > 0")
            if data.std[0] == s:
                facts.append("s > 0")
    text = f"{reward} | data {data!r} | assume {', '.join(facts)}"
    # as text, as the command line gives it (decimals are read exactly there)
    return Game(str(reward), agents=["x", "y"]), data, Assumptions(", ".join(facts)), text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    counts: collections.Counter[str] = collections.Counter()
    signal.signal(signal.SIGALRM, _alarm)
    start = time.process_time()
    for k in range(args.requests):
        try:
            game, data, assumptions, text = request(rng)
        except BrudError:
            counts["invalid request (skipped)"] += 1
            continue
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
        try:
            out = analyse(game, data, time_budget=10.0, assumptions=assumptions)
            counts["answer" if out.get("complete", True) else "answer, incomplete"] += 1
        except BrudError:
            counts["refusal (BrudError)"] += 1
        except _Timeout:
            counts["timeout"] += 1
            print(f"#{k} timeout: {text}", file=sys.stderr, flush=True)
        except Exception as error:  # noqa: BLE001 -- what the fuzz is for
            counts["internal error"] += 1
            print(f"#{k} INTERNAL ERROR {type(error).__name__}: {error}\n  {text}\n"
                  + "".join(traceback.format_exc().splitlines(True)[-4:]), file=sys.stderr,
                  flush=True)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if (k + 1) % 50 == 0:
            print(f"{k + 1} requests: {dict(counts)}", file=sys.stderr, flush=True)
    print(f"{args.requests} requests (seed {args.seed}), {time.process_time() - start:.0f} s CPU: "
          + ", ".join(f"{key} {n}" for key, n in sorted(counts.items())))
    return 1 if counts["internal error"] else 0


if __name__ == "__main__":
    sys.exit(main())
