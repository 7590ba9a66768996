"""Derive everything the paper derives by hand, for a polynomial game of your own.

    .venv/bin/python examples/new_polynomial.py [--plot fields.png]

The game below is a "double ridge": R = -x^4 - y^4 + 4 x y has maxima at (1, 1) and (-1, -1)
and a saddle at the origin. We ask (1) where grad R vanishes, (2) what BRUD does with data,
(3) which normal datasets make BRUD land on the maximum (1, 1), (4) where BRUD steps lower R.
"""

from __future__ import annotations

import argparse

from brud_analysis import Game
from brud_analysis.conditions import data_conditions
from brud_analysis.data import Normal
from brud_analysis.diagnostics import cosine_similarity, reward_decreasing_fraction
from brud_analysis.fields import brud_field
from brud_analysis.solve import brud_fixed_points, stationary_points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="PNG", help="also write the true vs BRUD fields")
    args = parser.parse_args()

    game = Game("-x^4 - y^4 + 4*x*y")
    print("R =", game.reward, "  LaTeX:", game.latex())
    print("grad R =", game.gradient)

    analysis = stationary_points(game)
    print(f"\nstationary points ({analysis.method}):")
    for p in analysis.points:
        print(f"  {p.exact}  ~ {tuple(round(v, 4) for v in p.point)}  {p.kind}")

    print("\nBRUD field in data moments:", brud_field(game))
    data = Normal(mean=[0.5, 0.5], std=[0.3, 0.3])
    print("BRUD field for", data, ":", brud_field(game, data))
    fixed = brud_fixed_points(game, data)
    for p in fixed.points:
        print(f"  fixed point {tuple(round(v, 4) for v in p.point)}  stable={p.stable}")

    cond = data_conditions(game, [1, 1])
    print("\nwhich normal data make BRUD reach the maximum (1, 1)?  possible:", cond.possible)
    for a in cond.per_agent:
        print(f"  agent {a.agent}: {'; '.join(a.relations)}; mean_{a.other} in {a.mean_intervals}")

    print("\ncos(grad R, BRUD) at policy (-0.5, 0.8):",
          round(cosine_similarity(game, data, [-0.5, 0.8]), 3))
    share, _ = reward_decreasing_fraction(game, data, [(-1.5, 1.5), (-1.5, 1.5)], 61)
    print(f"share of [-1.5, 1.5]^2 where a BRUD step lowers R: {share:.1%}")

    if args.plot:
        from brud_analysis.plots import plot_fields

        marks = {"stationary points": [p.point for p in analysis.points],
                 "BRUD fixed points": [p.point for p in fixed.points]}
        print("wrote", plot_fields(game, data, args.plot, marks=marks))


if __name__ == "__main__":
    main()
