"""Phase diagrams: where BRUD (or PJAP) learning ends, over a whole plane of datasets.

Two diagrams, both computed from the *symbolic* fields evaluated numerically (no training, no
JAX):

* :func:`condition_phase_diagram` (``brud condition ... --plot``): over the other agent's data
  (mean, std) plane, where the BRUD flow started at the target ends, and how much reward the
  joint policy loses there; the exact data condition (generalised Eq. 5,
  docs/theory.md#data-conditions) and its admissible means are drawn on top. The paper's Fig. 4
  shows three std values of Twin Peaks; this is the whole plane, for any 2-agent game.
* :func:`pjap_phase_diagram` (``brud pjap-field ... --plot``): over (alpha, std), where the
  closed-form PJAP flow (docs/theory.md#the-pjap-field) ends and how much reward it loses, with
  the escape threshold ``alpha*(std)`` on top when the data mean is a fixed point for every alpha.

BRUD decouples the agents (docs/theory.md#the-brud-field), so agent i's BRUD flow is
one-dimensional: from a start ``t0`` it moves in the direction of ``g_i(t0)`` and stops at the
first real root of ``g_i`` on that side, or leaves every bound if there is none. The
diagram uses exactly that rule, root by root, instead of integrating an ODE.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from brud_analysis.conditions import _family_model, data_conditions
from brud_analysis.data import Normal
from brud_analysis.errors import BrudError
from brud_analysis.exact import to_exact as _to_exact
from brud_analysis.fields import brud_component
from brud_analysis.game import Game

__all__ = [
    "BrudPlane",
    "PjapPlane",
    "brud_limit",
    "brud_plane",
    "condition_phase_diagram",
    "pjap_plane",
    "pjap_phase_diagram",
]

_ROOT_IMAG_TOL = 1e-9  # a numpy root with |imag| below this (relative) is real


def _exact_target(game: Game, target: Sequence) -> tuple[sympy.Expr, ...]:
    values = tuple(sympy.sympify(t) if isinstance(t, sympy.Basic) else _to_exact(t)
                   for t in target)
    if len(values) != game.n_agents:
        raise BrudError(f"the target has {len(values)} values, the game {game.n_agents} agents")
    if not all(v.is_number and v.is_real for v in values):
        raise BrudError("a phase diagram needs a numeric target (give the parameters values)")
    return values


def _coefficients(game: Game, agent: int, family: str):
    """Agent ``agent``'s BRUD field as a polynomial in its own action, with coefficient
    functions of the other agent's data (mean, var)."""
    j = 1 - agent
    mean, var = sympy.Symbol("mean", real=True), sympy.Symbol("var", nonnegative=True)
    means, stds = [0, 0], [0, 0]
    means[j], stds[j] = mean, sympy.sqrt(var)
    g = sympy.expand(brud_component(game, agent, _family_model(family, means, stds)))
    own = game.agents[agent]
    coeffs = sympy.Poly(g, own).all_coeffs()  # highest degree first
    return [sympy.lambdify((mean, var), c, "numpy") for c in coeffs]


def _limit_1d(coeffs: np.ndarray, start: float) -> float:
    """Where the 1-D flow ``t' = p(t)`` (coefficients highest first) started at ``start`` ends."""
    nz = np.flatnonzero(coeffs)
    if nz.size == 0:
        return start  # g = 0: nothing moves
    coeffs = coeffs[nz[0]:]
    value = float(np.polyval(coeffs, start))
    scale = max(1.0, float(np.max(np.abs(coeffs))))
    if abs(value) <= 1e-12 * scale:
        return start
    roots = np.roots(coeffs) if coeffs.size > 1 else np.array([])
    real = np.sort(roots.real[np.abs(roots.imag) <= _ROOT_IMAG_TOL * (1 + np.abs(roots))])
    if value > 0:
        ahead = real[real > start]
        return float(ahead[0]) if ahead.size else math.inf
    behind = real[real < start]
    return float(behind[-1]) if behind.size else -math.inf


def brud_limit(game: Game, agent: int, start: float, means: np.ndarray, stds: np.ndarray,
               family: str = "normal") -> np.ndarray:
    """Where agent ``agent``'s BRUD flow from ``start`` ends, for each (mean, std) of the other
    agent's data (``family`` with that mean and std); ``+-inf`` where it never stops.

    Example (Twin Peaks: the unique limit is ``C m / (2A + 2B(m^2 + s^2))``):
        >>> from brud_analysis.catalogue import twin_peaks
        >>> brud_limit(twin_peaks(), 0, 0.6, np.array([0.5]), np.array([0.2])).round(6).tolist()
        [0.578704]
    """
    if game.n_agents != 2:
        raise BrudError(f"phase diagrams need a 2-agent game, this one has {game.n_agents}")
    game.require_numeric()
    fns = _coefficients(game, agent, family)
    means, stds = np.broadcast_arrays(np.asarray(means, float), np.asarray(stds, float))
    var = stds**2
    coeffs = np.stack([np.broadcast_to(np.asarray(f(means, var), float), means.shape)
                       for f in fns], axis=-1)
    out = np.empty(means.shape)
    for idx in np.ndindex(means.shape):
        out[idx] = _limit_1d(coeffs[idx], start)
    return out


@dataclass
class BrudPlane:
    """The BRUD phase plane of a target: limits and reward loss over (mean, std).

    Attributes:
        means, stds: 1-D grids of the data's mean and std (the same for both agents' data in
            ``loss``; per panel it is the *other* agent's data).
        limits: ``(2, len(stds), len(means))``: agent i's BRUD limit started at target_i.
        loss: ``(len(stds), len(means))``: ``R(target) - R(limits)`` when both agents' data have
            that (mean, std); NaN where a flow never stops.
        target: the target as floats.
    """

    means: np.ndarray
    stds: np.ndarray
    limits: np.ndarray
    loss: np.ndarray
    target: tuple[float, ...]

    def __repr__(self) -> str:
        lost = self.loss[np.isfinite(self.loss)]
        span = f"reward lost {lost.min():.3g}..{lost.max():.3g}" if lost.size else "no limit"
        return (f"BrudPlane(target={self.target}, mean {self.means[0]:.3g}..{self.means[-1]:.3g}"
                f" x std 0..{self.stds[-1]:.3g} ({self.loss.shape[1]}x{self.loss.shape[0]}), "
                f"{span}, {int(np.sum(~np.isfinite(self.loss)))} cells never stop)")


def _default_range(target: Sequence[float], intervals: Sequence[Sequence[float]]) -> float:
    ends = [abs(v) for lo_hi in intervals for v in lo_hi if math.isfinite(v)]
    return max(1.0, 1.5 * max(abs(t) for t in target), 1.2 * max(ends, default=0.0))


def brud_plane(game: Game, target: Sequence, *, family: str = "normal",
               mean_range: tuple[float, float] | None = None, std_max: float | None = None,
               resolution: int = 121) -> BrudPlane:
    """Compute the BRUD phase plane of ``target`` (see :class:`BrudPlane`).

    Example:
        >>> from brud_analysis.catalogue import action_agreement
        >>> p = brud_plane(action_agreement(), [0.5, 0.5], resolution=5)
        >>> p.limits.shape, float(np.nanmax(p.loss)) >= 0
        ((2, 5, 5), True)
    """
    exact = _exact_target(game, target)
    tf = tuple(float(t) for t in exact)
    if mean_range is None:
        cond = data_conditions(game, exact, family)
        m = _default_range(tf, [iv for a in cond.per_agent for iv in a.mean_intervals])
        mean_range = (-m, m)
    lo, hi = mean_range
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise BrudError(f"the mean range needs finite LO < HI, got {mean_range}")
    std_max = float(std_max if std_max is not None else max(abs(lo), abs(hi)))
    if not std_max > 0:
        raise BrudError(f"the std range needs a positive maximum, got {std_max}")
    means = np.linspace(lo, hi, resolution)
    stds = np.linspace(0.0, std_max, resolution)
    mg, sg = np.meshgrid(means, stds)
    limits = np.stack([brud_limit(game, i, tf[i], mg, sg, family) for i in range(2)])
    reward = game.numeric_reward()
    finite = np.all(np.isfinite(limits), axis=0)
    joint = np.where(finite[..., None], np.moveaxis(limits, 0, -1), 0.0)
    loss = float(reward(np.array(tf))) - np.asarray(reward(joint), float)
    loss = np.where(finite, loss, np.nan)
    return BrudPlane(means, stds, limits, loss, tf)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path, config: dict[str, Any]) -> Path:
    from brud_analysis.figure_files import save_png

    return save_png(fig, path, config, dpi=110, bbox_inches="tight")


def condition_phase_diagram(game: Game, target: Sequence, path: str | Path, *,
                            family: str = "normal",
                            mean_range: tuple[float, float] | None = None,
                            std_max: float | None = None, resolution: int = 121) -> Path:
    """Write the BRUD phase diagram of ``target`` as a PNG; return its path.

    Three panels. Panels 1-2, one per agent i, over the *other* agent's data (mean, std):
    colour = agent i's BRUD limit started at its target coordinate; black curve = the exact
    condition ``g_i(target_i) = 0`` (solid where the target is a stable fixed point, dashed where
    unstable); green bar = the admissible means. Panel 3, over (mean, std) shared by both
    agents' data: colour = reward lost, ``R(target) - R(BRUD limit)``; grey = the flow never
    stops; both agents' condition curves on top.

    Example:
        >>> import tempfile, pathlib
        >>> from brud_analysis.catalogue import twin_peaks
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "phase.png"
        >>> a = sympy.sqrt(sympy.Rational(3, 8))
        >>> condition_phase_diagram(twin_peaks(), [a, a], out, resolution=21).stat().st_size > 0
        True
    """
    exact = _exact_target(game, target)
    plane = brud_plane(game, exact, family=family, mean_range=mean_range, std_max=std_max,
                       resolution=resolution)
    cond = data_conditions(game, exact, family)
    plt = _pyplot()
    names = game.agent_names
    mg, sg = np.meshgrid(plane.means, plane.stds)
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2), constrained_layout=True)
    curves = []
    for i, ax in enumerate(axes[:2]):
        a = cond.per_agent[i]
        lim = plane.limits[i]
        shown = np.where(np.isfinite(lim), lim, np.nan)
        t = plane.target[i]
        # symmetric around 0: the colour's hue says which sign (quadrant) BRUD ends in
        top = max(abs(t), float(np.nanmax(np.abs(shown))) if np.isfinite(shown).any() else 1.0)
        ax.set_facecolor("0.55")  # grey where the flow never stops
        pcm = ax.pcolormesh(mg, sg, shown, shading="auto", cmap="coolwarm", vmin=-top, vmax=top)
        cb = fig.colorbar(pcm, ax=ax, label=f"BRUD limit of {names[i]} (started at the target)")
        cb.ax.axhline(t, color="black", lw=2)  # the target's value on the colour bar
        if np.isfinite(shown).any() and np.nanmin(shown) < np.nanmax(shown):
            cs = ax.contour(mg, sg, shown, levels=7, colors="white", linewidths=0.6, alpha=0.7)
            ax.clabel(cs, fontsize=7, fmt="%.2g")
        curves.append(_draw_condition(ax, a, mg, sg, label=True))
        _draw_admissible_means(ax, a.mean_intervals, plane.means[0], plane.means[-1])
        ax.set_xlabel(f"mean of {a.other}'s data")
        ax.set_ylabel(f"std of {a.other}'s data")
        verdict = "possible" if a.possible else "impossible"
        ax.set_title(f"agent {names[i]}: target {names[i]} = {t:.4g} ({verdict})\n"
                     + (a.relations[0] if a.relations else ""), fontsize=9)
        handles, labels = ax.get_legend_handles_labels()
        seen = dict(zip(labels, handles, strict=True))
        if seen:
            ax.legend(seen.values(), seen.keys(), loc="upper right", fontsize=8)
    ax = axes[2]
    ax.set_facecolor("0.55")
    loss = plane.loss
    pcm = ax.pcolormesh(mg, sg, loss, shading="auto", cmap="magma_r",
                        vmin=min(0.0, float(np.nanmin(loss))) if np.isfinite(loss).any() else 0,
                        vmax=float(np.nanmax(loss)) if np.isfinite(loss).any() else 1)
    fig.colorbar(pcm, ax=ax, label="reward lost: R(target) - R(BRUD limit)")
    for i, style in enumerate(("-", "--")):
        _draw_condition(ax, cond.per_agent[i], mg, sg, label=False, color="cyan",
                        style=style, name=f"condition of agent {names[i]}")
    ax.set_xlabel("mean of each agent's data")
    ax.set_ylabel("std of each agent's data")
    ax.set_title(f"both agents' data ~ {family}(mean, std): reward lost\n"
                 f"R = {game.reward}   (grey: BRUD never stops)", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper right", fontsize=8)
    for a in axes:
        a.set_xlim(plane.means[0], plane.means[-1])
        a.set_ylim(0, plane.stds[-1])
    fig.suptitle(f"BRUD phase diagram of target ({', '.join(f'{t:.4g}' for t in plane.target)}) "
                 f"(docs/theory.md#data-conditions)", fontsize=11)
    return _save(fig, path, {"figure": "BRUD phase diagram", "reward": str(game.reward),
                             "target": [str(t) for t in exact], "family": family,
                             "resolution": resolution})


def _draw_admissible_means(ax, intervals, lo: float, hi: float) -> None:
    """The admissible means as a green bar on the mean axis; a single admissible mean (an
    interval [m, m], e.g. 'mean_y = 1, any std') as a green diamond, since a bar of zero
    length is invisible, in the plot and in its legend entry."""
    for a, b in intervals:
        a_c, b_c = max(a, lo), min(b, hi)
        if a_c < b_c:
            ax.plot([a_c, b_c], [0, 0], color="limegreen", lw=6, solid_capstyle="butt",
                    label="admissible means", clip_on=False, zorder=5)
        elif a_c == b_c:
            ax.plot([a_c], [0], color="limegreen", marker="D", ms=9, ls="none",
                    markeredgecolor="black", label="admissible means", clip_on=False,
                    zorder=5)


def _stable_mask(intervals, m: np.ndarray, step: float) -> np.ndarray:
    """Where on the mean grid ``m`` the target is stable. An interval narrower than a grid
    step (a single stable mean such as [1, 1]) would hit no grid point, and its curve would
    be labelled unstable: it is widened to the neighbouring grid points on each side."""
    mask = np.zeros(m.shape, bool)
    for s_lo, s_hi in intervals:
        if s_hi - s_lo < step:
            s_lo, s_hi = s_lo - step, s_hi + step
        mask |= (m >= s_lo) & (m <= s_hi)
    return mask


def _draw_condition(ax, a, mg, sg, *, label: bool, color: str = "black", style: str | None = None,
                    name: str | None = None) -> bool:
    """The condition curve(s) ``std = branch(mean)``: solid where the target is a stable fixed
    point, dotted where it is not. Exact branches are drawn on a fine mean grid (a contour of
    the grid would cut the curve short where it meets std = 0 steeply); a condition of higher
    degree in the variance is drawn as the zero contour of its polynomial. Returns whether
    anything was drawn."""
    if a.polynomial is None or a.polynomial == 0 or not a.possible:
        return False
    lo, hi = float(mg[0, 0]), float(mg[0, -1])
    step = (hi - lo) / max(mg.shape[1] - 1, 1)  # the contour grid's; branches use a finer one

    def stable_at(m: np.ndarray, step: float = step) -> np.ndarray:
        return _stable_mask(a.stable_mean_intervals, m, step)

    drawn = False
    kinds = (("stable", style or "-"), ("unstable", style or ":"))
    if a.branches:
        # dense near the admissible ends, where sqrt(branch) rises steeply from 0
        ends = [v for iv in a.mean_intervals for v in iv if math.isfinite(v) and lo <= v <= hi]
        m = np.unique(np.concatenate([np.linspace(lo, hi, 4001), np.asarray(ends, float)]
                                     + [v + np.geomspace(1e-9, 1e-2, 200) * sgn
                                        for v in ends for sgn in (-1, 1)]))
        m = m[(m >= lo) & (m <= hi)]
        fine = (hi - lo) / 4000
        for branch in a.branches:
            mean = next(iter(branch.free_symbols), None)
            fn = sympy.lambdify(mean, branch, "numpy") if mean is not None else None
            with np.errstate(invalid="ignore"):
                raw = (np.asarray(fn(m + 0j), complex) if fn is not None
                       else np.full(m.shape, complex(branch)))
            ok = np.abs(raw.imag) <= 1e-12 * (1 + np.abs(raw.real))
            std = np.where(ok & (raw.real >= 0), raw.real, np.nan)
            for what, ls in kinds:
                keep = stable_at(m, fine) if what == "stable" else ~stable_at(m, fine)
                y = np.where(keep, std, np.nan)
                if np.isfinite(y).any():
                    ax.plot(m, y, color=color, ls=ls, lw=2)
                    drawn = True
                    if label or name:
                        ax.plot([], [], color=color, ls=ls, lw=2,
                                label=f"{name} ({what} part)" if name else
                                f"condition (target {what})")
        return drawn
    syms = sorted(a.polynomial.free_symbols, key=lambda s: s.name)
    mean_sym = next(s for s in syms if s.name.startswith("mean"))
    std_sym = next((s for s in syms if s.name.startswith("std")), None)
    fn = sympy.lambdify((mean_sym, std_sym) if std_sym is not None else (mean_sym,),
                        a.polynomial, "numpy")
    P = np.broadcast_to(np.asarray(fn(mg, sg) if std_sym is not None else fn(mg), float),
                        mg.shape)
    for what, ls in kinds:
        keep = stable_at(mg) if what == "stable" else ~stable_at(mg)
        Pm = np.where(keep, P, np.nan)
        if np.isfinite(Pm).sum() < 4 or not (np.nanmin(Pm) <= 0 <= np.nanmax(Pm)):
            continue
        contour = ax.contour(mg, sg, Pm, levels=[0.0], colors=color, linestyles=ls,
                             linewidths=2)
        if not any(len(seg) for seg in contour.allsegs[0]):
            continue  # signs on both sides of a masked gap, but no zero line: nothing to label
        if label or name:
            ax.plot([], [], color=color, ls=ls, lw=2,
                    label=f"{name} ({what} part)" if name else f"condition (target {what})")
        drawn = True
    return drawn


# ------------------------------------------------------------------------------ PJAP


@dataclass
class PjapPlane:
    """Where the closed-form PJAP flow ends over (alpha, std).

    Attributes:
        alphas, stds: 1-D grids (alpha log-spaced).
        end: ``(len(stds), len(alphas), n)`` end point of the flow from ``start``.
        converged: ``(len(stds), len(alphas))``: ``|G(end)| <= 1e-6`` (a fixed point reached).
        reward: ``R(end)``; NaN where the flow diverged.
        best: the largest reward at a maximum of ``R`` (None if R has no maximum).
        threshold: ``alpha*(std)`` above which the data mean stops being stable, per std
            (NaN where none), or None when the mean is not a fixed point for every alpha.
        start: the initial joint policy.
    """

    alphas: np.ndarray
    stds: np.ndarray
    end: np.ndarray
    converged: np.ndarray
    reward: np.ndarray
    best: float | None
    threshold: np.ndarray | None
    start: tuple[float, ...]

    def __repr__(self) -> str:
        return (f"PjapPlane(alpha {self.alphas[0]:.3g}..{self.alphas[-1]:.3g} x std "
                f"{self.stds[0]:.3g}..{self.stds[-1]:.3g} ({len(self.alphas)}x{len(self.stds)}),"
                f" start={self.start}, converged {int(self.converged.sum())}/"
                f"{self.converged.size}, best reward {self.best}, "
                f"threshold {'known' if self.threshold is not None else 'none'})")


def _best_reward(game: Game) -> float | None:
    from brud_analysis.solve import stationary_points

    st = stationary_points(game)
    reward = game.numeric_reward()
    values = [float(reward(np.array(p.point, float))) for p in st.points
              if p.kind == "maximum" or p.higher_order == "maximum"]
    values += [float(reward(np.array(s.sample, float))) for s in st.sets
               if s.kind == "maximum" and s.sample is not None]
    return max(values) if values else None


def pjap_plane(game: Game, means: Sequence[float], *, alpha_range: tuple[float, float] = (1e-2,
               1e3), std_range: tuple[float, float] = (0.05, 1.5), start: Sequence[float] | None
               = None, resolution: int = 61, dt: float = 0.02, steps: int = 4000,
               bound: float = 1e3) -> PjapPlane:
    """Integrate the closed-form PJAP flow (L2 kernel, eps 0, every agent's data
    ``N(means_j, std^2)``) over a log-spaced alpha grid and a std grid.

    ``start`` defaults to the data mean + 0.05 in every coordinate (a data mean that is a fixed
    point for every alpha would otherwise never be left). Explicit Euler with step ``dt``.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> p = pjap_plane(twin_peaks(), [0, 0], resolution=3, steps=500)
        >>> p.end.shape, p.threshold is not None
        ((3, 3, 2), True)
    """
    from brud_analysis.pjap import ALPHA, origin_escape_alpha, pjap_field

    game.require_numeric()
    n = game.n_agents
    if len(means) != n:
        raise BrudError(f"--mean needs {n} values for a phase diagram, got {len(means)}")
    lo_a, hi_a = alpha_range
    lo_s, hi_s = std_range
    if not (0 < lo_a < hi_a and math.isfinite(hi_a) and 0 < lo_s < hi_s and math.isfinite(hi_s)):
        raise BrudError(f"need 0 < alpha_lo < alpha_hi and 0 < std_lo < std_hi, got "
                        f"{alpha_range} and {std_range}")
    s = sympy.Symbol("s", positive=True)
    exact_means = [_to_exact(m) for m in means]
    data = Normal(exact_means, [s] * n)
    field = pjap_field(game, data, ALPHA)
    fns = [sympy.lambdify((*game.agents, ALPHA, s), g, "numpy") for g in field]
    alphas = np.geomspace(lo_a, hi_a, resolution)
    stds = np.linspace(lo_s, hi_s, resolution)
    ag, sg = np.meshgrid(alphas, stds)
    start_v = np.asarray(start if start is not None else [float(m) + 0.05 for m in means], float)
    theta = np.broadcast_to(start_v, (*ag.shape, n)).copy()
    alive = np.ones(ag.shape, bool)

    def G(th):
        cols = [th[..., k] for k in range(n)]
        return np.stack([np.broadcast_to(np.asarray(f(*cols, ag, sg), float), ag.shape)
                         for f in fns], axis=-1)

    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            step = G(theta)
            # every cell at rest (or diverged): more steps would not move anything
            if k % 100 == 0 and np.all(~alive | (np.max(np.abs(step), axis=-1) <= 1e-9)):
                break
            theta = np.where(alive[..., None], theta + dt * step, theta)
            alive &= np.all(np.isfinite(theta), axis=-1) & (np.max(np.abs(theta), axis=-1)
                                                             <= bound)
        residual = np.max(np.abs(G(theta)), axis=-1)
    converged = alive & (residual <= 1e-6)
    reward = np.where(alive, np.asarray(game.numeric_reward()(np.where(
        alive[..., None], theta, 0.0)), float), np.nan)
    threshold = None
    try:
        expr = origin_escape_alpha(game, data)
    except BrudError:
        expr = None
    if expr is not None:
        free = expr.free_symbols - {s}
        if not free:
            fn = sympy.lambdify(s, expr, "numpy")
            threshold = np.broadcast_to(np.asarray(fn(stds), float), stds.shape).copy()
    return PjapPlane(alphas, stds, theta, converged, reward, _best_reward(game), threshold,
                     tuple(start_v.tolist()))


def pjap_phase_diagram(game: Game, means: Sequence[float], path: str | Path, *,
                       alpha_range: tuple[float, float] = (1e-2, 1e3),
                       std_range: tuple[float, float] = (0.05, 1.5),
                       start: Sequence[float] | None = None, resolution: int = 61,
                       steps: int = 4000) -> Path:
    """Write the PJAP phase diagram over (alpha, std) as a PNG; return its path.

    Left: reward lost at the end of the closed-form PJAP flow (best maximum of R minus the
    reward reached; the reward reached if R has no maximum), hatched where no fixed point was
    reached, with the escape threshold ``alpha*(std)`` in cyan. Right: the first agent's action
    at the end (which peak), with the same threshold.

    Example:
        >>> import tempfile, pathlib
        >>> from brud_analysis.catalogue import twin_peaks
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "pjap.png"
        >>> pjap_phase_diagram(twin_peaks(), [0, 0], out, resolution=5, steps=200).exists()
        True
    """
    plane = pjap_plane(game, means, alpha_range=alpha_range, std_range=std_range, start=start,
                       resolution=resolution, steps=steps)
    plt = _pyplot()
    ag, sg = np.meshgrid(plane.alphas, plane.stds)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    if plane.best is not None:
        value, label, cmap = plane.best - plane.reward, "reward lost: max R - R(end)", "magma_r"
    else:
        value, label, cmap = plane.reward, "reward reached R(end) (R has no maximum)", "viridis"
    panels = ((axes[0], value, label, cmap),
              (axes[1], plane.end[..., 0], f"{game.agent_names[0]} at the end", "coolwarm"))
    for ax, z, lbl, cm in panels:
        ax.set_facecolor("0.55")
        pcm = ax.pcolormesh(ag, sg, z, shading="auto", cmap=cm)
        fig.colorbar(pcm, ax=ax, label=lbl)
        if (~plane.converged).any():
            ax.contourf(ag, sg, (~plane.converged).astype(float), levels=[0.5, 1.5],
                        colors="none", hatches=["//"])
            ax.plot([], [], color="0.3", lw=0, marker="s", mfc="none", label="no fixed point "
                    "reached (hatched)")
        if plane.threshold is not None:
            ax.plot(plane.threshold, plane.stds, color="cyan", lw=2,
                    label="escape threshold alpha*(std): data mean unstable to the right")
        ax.set_xscale("log")
        ax.set_xlim(plane.alphas[0], plane.alphas[-1])
        ax.set_ylim(plane.stds[0], plane.stds[-1])
        ax.set_xlabel("PJAP temperature alpha (log; alpha -> 0 is BRUD)")
        ax.set_ylabel("std of every agent's data")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize=8)
    mean_txt = ", ".join(f"{float(m):.4g}" for m in means)
    start_txt = ", ".join(f"{v:.4g}" for v in plane.start)
    fig.suptitle(f"PJAP flow (L2 kernel, eps 0, data N(({mean_txt}), std^2) per agent), "
                 f"started at ({start_txt}); R = {game.reward}\n"
                 "docs/theory.md#the-pjap-field", fontsize=10)
    return _save(fig, path, {"figure": "PJAP phase diagram", "reward": str(game.reward),
                             "means": [float(m) for m in means], "alpha_range": alpha_range,
                             "std_range": std_range, "start": plane.start,
                             "resolution": resolution, "steps": steps})
