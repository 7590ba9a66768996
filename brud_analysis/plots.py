"""True vs BRUD-induced vector fields over the reward surface (paper Fig. 3b)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import sympy

from brud_analysis.data import DataModel
from brud_analysis.errors import BrudError
from brud_analysis.fields import brud_field, true_field
from brud_analysis.game import Game


def _auto_bounds(points: Sequence[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    lo, hi = -1.5, 1.5
    for p in points:
        for v in p:
            if np.isfinite(v):
                lo, hi = min(lo, v - 0.5), max(hi, v + 0.5)
    return ((lo, hi), (lo, hi))


def _grid_field(exprs, agents, grid):
    out = []
    for e in exprs:
        fn = sympy.lambdify(agents, e, "numpy")
        out.append(np.broadcast_to(np.asarray(fn(*grid), dtype=float), grid[0].shape))
    return out


def plot_fields(
    game: Game, data: DataModel, path: str | Path,
    bounds: Sequence[tuple[float, float]] | None = None, resolution: int = 17,
    marks: Mapping[str, Sequence[Sequence[float]]] | None = None,
) -> Path:
    """Write a PNG: reward contours, grad R (black) and BRUD field (red) arrows, marked points.

    ``marks`` maps a legend label to points to draw (e.g. stationary points, fixed points).

    Example:
        >>> import tempfile, pathlib
        >>> from brud_analysis.data import Normal
        >>> from brud_analysis.catalogue import twin_peaks
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "fig.png"
        >>> plot_fields(twin_peaks(), Normal([0.3, -0.2], [0.5, 0.5]), out).stat().st_size > 0
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if game.n_agents != 2:
        raise BrudError(f"--plot draws 2-agent games only, this one has {game.n_agents} agents")
    game.require_numeric()
    marks = dict(marks or {})
    if bounds is None:
        bounds = _auto_bounds([p for pts in marks.values() for p in pts])
    (x0, x1), (y0, y1) = bounds
    fine = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200), indexing="xy")
    reward = _grid_field([game.reward], game.agents, fine)[0]
    coarse = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution),
                         indexing="xy")
    grad = _grid_field(true_field(game), game.agents, coarse)
    brud = _grid_field(brud_field(game, data), game.agents, coarse)

    def unit(u, v):
        norm = np.hypot(u, v)
        norm[norm == 0] = 1.0
        return u / norm, v / norm  # directions only: magnitudes differ by orders of magnitude

    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=120)
    # quartic rewards plunge at the corners; clip the colour range so the peaks stay visible
    levels = np.linspace(np.percentile(reward, 10), reward.max(), 30)
    filled = ax.contourf(fine[0], fine[1], np.clip(reward, levels[0], None), levels=levels,
                         cmap="viridis", alpha=0.8)
    fig.colorbar(filled, ax=ax, label="reward R")
    ax.quiver(coarse[0], coarse[1], *unit(*grad), color="black", width=0.003, label="grad R (true)")
    ax.quiver(coarse[0], coarse[1], *unit(*brud), color="red", width=0.003, alpha=0.8,
              label="BRUD field g")
    symbols = iter(["*", "o", "X", "s", "D"])
    for label, pts in marks.items():
        if pts:
            arr = np.asarray(pts, dtype=float).reshape(-1, 2)
            ax.scatter(arr[:, 0], arr[:, 1], marker=next(symbols), s=90, edgecolor="white",
                       zorder=5, label=label)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(f"{game.agent_names[0]} (policy parameter)")
    ax.set_ylabel(f"{game.agent_names[1]} (policy parameter)")
    ax.set_title(f"R = {game.reward}", fontsize=9)
    ax.legend(loc="upper left", fontsize=7, framealpha=0.9)
    fig.tight_layout()
    from brud_analysis.figure_files import save_png

    return save_png(fig, path, {"figure": "true vs BRUD field", "reward": str(game.reward),
                                "data": repr(data), "bounds": [list(b) for b in bounds],
                                "resolution": resolution,
                                "marks": {k: [list(map(float, p)) for p in v]
                                          for k, v in marks.items()}})
