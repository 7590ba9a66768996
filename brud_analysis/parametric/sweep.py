"""Sampling the numeric solver over a parameter range where no closed form exists, and its plot."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from brud_analysis.data import DataModel
from brud_analysis.errors import BrudError
from brud_analysis.game import Game


# ------------------------------------------------------------------------------ sampling
@dataclass
class SweepRow:
    """Counts of stationary points (by kind) and BRUD fixed points at one parameter value."""

    value: float
    kinds: dict[str, int]
    sets: int
    brud: dict[str, int] | None


def sweep(game: Game, data: DataModel | None, parameter: str, values: Sequence[float],
          time_budget: float = 10.0) -> list[SweepRow]:
    """Numeric answer at each value of one parameter (the others must have values).

    Example:
        >>> rows = sweep(Game("twin_peaks(A=1, B=4, C=C)"), None, "C", [1, 5])
        >>> [(r.value, r.kinds) for r in rows]
        [(1.0, {'maximum': 1}), (5.0, {'maximum': 2, 'saddle': 1})]
    """
    from brud_analysis.solve import brud_fixed_points, stationary_points

    names = {p.name for p in game.parameters}
    if data is not None:
        names |= {s.name for s in data.free_symbols}
    if parameter not in names:
        raise BrudError(f"--sweep {parameter}: not a parameter (parameters: "
                        f"{', '.join(sorted(names)) or 'none'})")
    others = sorted(names - {parameter})
    if others:
        raise BrudError(f"--sweep {parameter}: give values to {', '.join(others)} "
                        "(e.g. --at " + ",".join(f"{o}=1" for o in others) + ")")
    rows = []
    for v in values:
        exact = sympy.Rational(repr(float(v)))
        g = game.with_parameters(**{parameter: exact}) if parameter in \
            {p.name for p in game.parameters} else game
        st = stationary_points(g, time_budget)
        kinds: dict[str, int] = {}
        for p in st.points:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        brud: dict[str, int] | None = None
        if data is not None:
            fp = brud_fixed_points(g, data.subs({parameter: exact}), time_budget)
            brud = {}
            for q in fp.points:
                key = {True: "stable", False: "unstable", None: "degenerate"}[q.stable]
                brud[key] = brud.get(key, 0) + 1
            if fp.sets:
                brud["sets"] = len(fp.sets)
        rows.append(SweepRow(float(v), dict(sorted(kinds.items())), len(st.sets), brud))
    return rows


def plot_sweep(rows: Sequence[SweepRow], parameter: str, path: str) -> str:
    """Step plot of the number of stationary points (by kind) and BRUD fixed points.

    Example:
        >>> import tempfile, os
        >>> rows = sweep(Game("twin_peaks(A=1, B=4, C=C)"), None, "C", [1, 3])
        >>> os.path.exists(plot_sweep(rows, "C", tempfile.mkdtemp() + "/s.png"))
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from brud_analysis.output import check_output_path

    target = check_output_path(path)
    xs = [r.value for r in rows]
    width = 0.8 * (min(b - a for a, b in itertools.pairwise(sorted(xs))) if len(xs) > 1 else 1.0)
    kinds = sorted({k for r in rows for k in r.kinds})
    if any(r.sets for r in rows):
        kinds.append("sets")
    brud_keys = sorted({k for r in rows if r.brud for k in r.brud})
    panels = [("stationary points of R", kinds, lambda r, k: r.sets if k == "sets"
               else r.kinds.get(k, 0))]
    if any(r.brud is not None for r in rows):
        panels.append(("BRUD fixed points", brud_keys, lambda r, k: (r.brud or {}).get(k, 0)))
    colours = {"maximum": "tab:green", "minimum": "tab:blue", "saddle": "tab:orange",
               "degenerate": "tab:gray", "sets": "tab:purple", "stable": "tab:green",
               "unstable": "tab:red"}
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels) + 0.6), sharex=True,
                             squeeze=False)
    for ax, (title, keys, count) in zip(axes[:, 0], panels, strict=True):
        bottom = [0] * len(rows)
        for k in keys:
            heights = [count(r, k) for r in rows]
            ax.bar(xs, heights, width=width, bottom=bottom, label=k,
                   color=colours.get(k, "tab:brown"))
            bottom = [b_ + h for b_, h in zip(bottom, heights, strict=True)]
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("count")
        ax.set_title(f"{title} (one bar per sampled {parameter})")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    axes[-1, 0].set_xlabel(parameter)
    fig.tight_layout()
    from brud_analysis.figure_files import save_png

    return str(save_png(fig, target, {"figure": "parametric sweep", "parameter": str(parameter)},
                        dpi=120))
