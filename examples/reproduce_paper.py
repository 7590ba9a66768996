"""Reproduce the paper's analytic claims and figures, then explore PJAP beyond the paper.

Run from the repository root:

    .venv/bin/python examples/reproduce_paper.py            # quick mode (~1-3 min on 2 cores)
    .venv/bin/python examples/reproduce_paper.py --full     # more seeds and steps
    .venv/bin/python examples/reproduce_paper.py --out report/ --claim tp.eq5

It is the same as ``brud paper-checks``; the second half shows how to use the symbolic PJAP
field directly (closed form, escape threshold, the eps-floor fallback).
"""

from __future__ import annotations

import argparse

import sympy

from brud_analysis.catalogue import twin_peaks
from brud_analysis.data import Normal
from brud_analysis.pjap import origin_escape_alpha, pjap_field, pjap_fixed_points
from paper_checks.report import run_report


def pjap_tour() -> None:
    """The PJAP field of Twin Peaks for an origin-centred dataset, as alpha grows."""
    game = twin_peaks(1, 4, 5)
    data = Normal([0, 0], [1, 1])
    print("Closed-form PJAP field (L2 kernel, eps 0), data N(0, 1):")
    for name, g in zip(game.agent_names, pjap_field(game, data), strict=True):
        print(f"  G_{name} = {sympy.factor(g)}")
    threshold = origin_escape_alpha(game, data)
    print(f"BRUD's origin trap is stable for alpha < {threshold} = {float(threshold):.4f}")
    for alpha in (1.0, 2.0, 16.0, 256.0):
        stable = [tuple(round(v, 3) for v in p.point)
                  for p in pjap_fixed_points(game, data, alpha) if p.stable]
        print(f"  alpha {alpha:6g}: stable points {stable}")
    print("With the paper's L1 distance and an eps floor (1e-3), optimum-centred data, std 1:")
    data = Normal([0.6124, 0.6124], [1, 1])
    for alpha in (4.0, 16.0, 1e4):
        pts = pjap_fixed_points(game, data, alpha, eps=1e-3, distance="l1",
                                box=[(-1, 1), (-1, 1)], starts_per_axis=4, nodes=80)
        print(f"  alpha {alpha:6g}: "
              f"{[(tuple(round(v, 3) for v in p.point), p.stable) for p in pts]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="report", help="output directory (report/)")
    parser.add_argument("--full", action="store_true", help="full mode (more seeds and steps)")
    parser.add_argument("--claim", action="append", help="only these claim ids")
    args = parser.parse_args()
    payload = run_report(args.out, quick=not args.full, only=args.claim, progress=True)
    for c in payload["claims"]:
        print(f"{c['id']:28s} {c['status']:9s} refuted if: {c['refuted_if'][:70]}")
    print(f"{payload['counts']} in {payload['seconds']} s -> {args.out}/report.md\n")
    pjap_tour()


if __name__ == "__main__":
    main()
