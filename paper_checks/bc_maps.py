"""The model behind the ``bp.*`` claims (:mod:`paper_checks.beyond_paper`): settings, the
closed-form PJAP+BC flow and its converged-reward maps, the Twin Peaks closed forms, the figures.

Not a claim of the paper (issue 14). The paper's policy objective (Eq. 1) has no data anchor;
offline actor-critic methods in practice add one (TD3+BC-style ``-lambda E[(theta_i - a_i)^2]``).
:mod:`brud_analysis.regularisers` derives what that does to the BRUD and PJAP fields; here the
derivations are turned into maps of the converged reward (as a fraction of the optimum) over data
spread ``s``, PJAP temperature ``alpha`` and BC weight ``lambda``, with closed-form thresholds,
and confirmed by training at a handful of points with the JAX verifier (its derived tolerance).

Two games, both with independent normal data of the same law for both agents:

* Twin Peaks (A, B, C) = (1, 4, 5), data centred on the optimum a_dag = sqrt(3/8) (the paper's
  Fig. 4-5 datasets) and, for the escape threshold, on the origin.
* "Sign agreement with quartic confinement" R = x y - (x^4 + y^4)/4 (maxima 1/2 at +-(1, 1)), data
  centred at (1/2, 1/2): its coupling enters BRUD through the data *mean* only, so here BRUD's
  error does not depend on the spread, unlike Twin Peaks where it comes from the second moment.

"Converged reward" is the reward at the end of the deterministic flow of the (closed-form, L2
kernel, eps = 0) field started at the data mean (a behaviour-cloned start); the flow is run until
the field's max-norm residual is below 1e-9, else the cell is reported as unconverged.

Figures are written to the run's output directory and, by ``python -m paper_checks.bc_maps``
(or ``.beyond_paper``), to ``docs/beyond_paper_*.png``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from brud_analysis.catalogue import twin_peaks
from brud_analysis.data import Normal
from brud_analysis.exact import to_exact
from brud_analysis.game import Game
from brud_analysis.pjap import pjap_field
from brud_analysis.regularisers import LAMBDA, bc, fixed_point_formulas
from paper_checks.claims import must_derive

SPREAD = sympy.Symbol("s", positive=True)
TEMPERATURE = sympy.Symbol("alpha", nonnegative=True)
#: BC weights and PJAP temperatures of the maps (alpha = 0 is BRUD).
LAMBDAS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
ALPHAS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
MAP_ALPHA = 4.0  # the PJAP temperature of the (spread, lambda) maps
SPREADS = tuple(np.round(np.linspace(0.05, 1.5, 30), 4).tolist())
#: (method panel, s, lambda) of the trained checks, starred in the figures
TP_TRAINED_POINTS = [("BRUD+BC", 0.5, 2.0), ("BRUD+BC", 1.0, 8.0),
                     (f"PJAP+BC (alpha {MAP_ALPHA:g})", 1.0, 2.0)]
SQ_TRAINED_POINTS = [("BRUD+BC", 0.8, 1.0), (f"PJAP+BC (alpha {MAP_ALPHA:g})", 0.8, 1.0)]
_DT = 0.01  # Euler step of the flow; |slope| <= ~60 on these grids, so dt * |slope| < 1


@dataclass(frozen=True)
class Setting:
    """A game, the common data mean of both agents, its maximum reward and a label."""

    key: str
    label: str
    game: Game
    mean: sympy.Expr
    r_max: float


def twin_peaks_setting(mean: Any = None) -> Setting:
    """Twin Peaks (1, 4, 5) with data centred on the optimum (default) or on ``mean``.

    Example:
        >>> round(twin_peaks_setting().r_max, 4)
        0.5625
    """
    a_dag = sympy.sqrt(sympy.Rational(3, 8))
    m = a_dag if mean is None else to_exact(mean)
    key = "tp" if mean is None else f"tp-mean-{float(m):g}"
    return Setting(key, "Twin Peaks, optimum-centred data" if mean is None else
                   f"Twin Peaks, data mean {float(m):g}", twin_peaks(1, 4, 5), m, 9 / 16)


def quartic_sign_setting() -> Setting:
    """R = x y - (x^4 + y^4)/4 with data centred at (1/2, 1/2).

    Example:
        >>> quartic_sign_setting().game.gradient
        (-x**3 + y, x - y**3)
    """
    return Setting("sq", "sign agreement + quartic, data mean 1/2",
                   Game("x*y - (x**4 + y**4)/4"), sympy.Rational(1, 2), 0.5)


@functools.lru_cache(maxsize=8)
def _field_symbolic(setting: Setting) -> tuple[sympy.Expr, ...]:
    """PJAP + BC closed-form field in (agents, s, alpha, lambda); alpha = 0 is BRUD + BC."""
    data = Normal([setting.mean, setting.mean], [SPREAD, SPREAD])
    return pjap_field(setting.game, data, TEMPERATURE, bc(LAMBDA))


@functools.lru_cache(maxsize=8)
def _field_numeric(setting: Setting) -> Callable[..., Any]:
    return sympy.lambdify((*setting.game.agents, SPREAD, TEMPERATURE, LAMBDA),
                          _field_symbolic(setting), "numpy")


def converged(setting: Setting, s: Any, alpha: Any, lam: Any, max_steps: int = 200_000,
              tol: float = 1e-9) -> dict[str, np.ndarray]:
    """End of the flow of the PJAP+BC field from the data mean, for broadcast ``s, alpha, lam``.

    Returns ``theta (..., 2)``, ``fraction`` (reward / maximum) and ``residual`` (max |G| at the
    end; cells above ``tol`` did not converge and get a NaN fraction).

    Example:
        >>> out = converged(twin_peaks_setting(), 0.5, 0.0, 0.0)   # BRUD: C a / (C + 2 B s^2)
        >>> round(float(out["theta"][0]), 6), round(5 * float(np.sqrt(3 / 8)) / 7, 6)
        (0.437409, 0.437409)
    """
    f = _field_numeric(setting)
    s, alpha, lam = np.broadcast_arrays(*(np.asarray(v, float) for v in (s, alpha, lam)))
    x = np.full(s.shape, float(setting.mean))
    y = x.copy()
    residual = np.full(s.shape, np.inf)
    for _ in range(max_steps // 1000):
        for _ in range(1000):
            gx, gy = f(x, y, s, alpha, lam)
            x, y = x + _DT * gx, y + _DT * gy
        gx, gy = f(x, y, s, alpha, lam)
        residual = np.maximum(np.abs(gx), np.abs(gy))
        if np.all(residual < tol):
            break
    theta = np.stack([x, y], axis=-1)
    fraction = setting.game.numeric_reward()(theta) / setting.r_max
    return {"theta": theta, "fraction": np.where(residual < tol, fraction, np.nan),
            "residual": residual}


def method_maps(setting: Setting, alpha: float = MAP_ALPHA) -> dict[str, np.ndarray]:
    """(spread x lambda) maps of the converged fraction for BRUD, BRUD+BC, PJAP, PJAP+BC.

    BRUD and PJAP do not depend on lambda (their rows repeat); every map is ``(len(SPREADS),
    len(LAMBDAS))``.
    """
    s, lam = np.meshgrid(SPREADS, LAMBDAS, indexing="ij")
    with_bc = {a: converged(setting, s, a, lam)["fraction"] for a in (0.0, alpha)}
    return {"BRUD": np.repeat(with_bc[0.0][:, :1], len(LAMBDAS), axis=1),
            "BRUD+BC": with_bc[0.0],
            f"PJAP (alpha {alpha:g})": np.repeat(with_bc[alpha][:, :1], len(LAMBDAS), axis=1),
            f"PJAP+BC (alpha {alpha:g})": with_bc[alpha]}


def spread_alpha_maps(setting: Setting, lambdas: tuple[float, ...] = (0.0, 1.0, 4.0, 16.0)
                      ) -> np.ndarray:
    """``(len(lambdas), len(SPREADS), len(ALPHAS))`` converged fractions (alpha 0 = BRUD)."""
    lam, s, alpha = np.meshgrid(lambdas, SPREADS, ALPHAS, indexing="ij")
    return converged(setting, s, alpha, lam)["fraction"]


# --------------------------------------------------------------------------- closed forms


def twin_peaks_bc_closed_form() -> dict[str, sympy.Expr]:
    """Optimum-centred Twin Peaks, BRUD+BC: fixed point / a_dag, reward fraction, and the BC
    weight needed for a fraction ``f`` of the optimum, all derived (general A, B, C).

    Derived once per process (a pure derivation, ~1 s of SymPy; a claim and its figure ask
    for it seven times); each call gets its own dict.

    Example:
        >>> cf = twin_peaks_bc_closed_form()
        >>> cf["u"]
        (C + 2*lambda)/(2*B*s**2 + C + 2*lambda)
    """
    return dict(_twin_peaks_bc_closed_form())


@functools.cache
def _twin_peaks_bc_closed_form() -> dict[str, sympy.Expr]:
    game = twin_peaks(*sympy.symbols("A B C", positive=True))
    A, B, C = game.parameters  # noqa: N806 (the paper's names; the game's own symbols)
    a_dag = sympy.sqrt((C - 2 * A) / (2 * B))
    data = Normal([a_dag, a_dag], [SPREAD, SPREAD])
    root = must_derive(fixed_point_formulas(game, data, bc(LAMBDA)),
                       "BRUD+BC fixed points of Twin Peaks")[0][0]
    u = sympy.factor(sympy.simplify(root / a_dag))
    t, frac, f = sympy.symbols("u F f", positive=True)
    reward = game.reward.subs({game.agents[0]: t * a_dag, game.agents[1]: t * a_dag})
    fraction = sympy.expand(sympy.cancel(reward / game.reward.subs(
        {game.agents[0]: a_dag, game.agents[1]: a_dag})))
    # fraction(u) = f on 0 < u <= 1 (the branch in (0, 1) at f = 1/2): sqrt(1 - sqrt(1 - f))
    u_f = [r for r in sympy.solve(sympy.Eq(fraction, f), t)
           if 0 < float(r.subs(f, sympy.Rational(1, 2))) < 1][0]
    lam_f = sympy.solve(sympy.Eq(u, frac), LAMBDA)[0]
    return {"u": u, "fraction(u)": fraction.subs(t, sympy.Symbol("u")), "u_f": u_f,
            "lambda_f": sympy.simplify(lam_f.subs(frac, u_f)), "A": A, "B": B, "C": C, "f": f}


def lambda_for_fraction(f: float, s: np.ndarray, A: float = 1, B: float = 4, C: float = 5  # noqa: N803
                        ) -> np.ndarray:
    """The BC weight giving fraction ``f`` of the optimum (optimum-centred Twin Peaks), from the
    closed form; 0 where BRUD alone already reaches it.

    Example:
        >>> round(float(lambda_for_fraction(0.9, np.array(1.0))), 3)   # 4 s^2 u/(1-u) - 5/2
        16.609
    """
    cf = twin_peaks_bc_closed_form()
    expr = cf["lambda_f"].subs({cf["A"]: A, cf["B"]: B, cf["C"]: C, cf["f"]: f})
    fn = sympy.lambdify(SPREAD, expr, "numpy")
    return np.maximum(np.asarray(fn(np.asarray(s, float)), float), 0.0)


# --------------------------------------------------------------------------- figures


def _save(fig: Any, path: Path) -> str:
    from brud_analysis.figure_files import save_png

    path.parent.mkdir(parents=True, exist_ok=True)
    return str(save_png(fig, path, {"figure": path.name}, dpi=90))


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _spread_lambda_row(axes: Any, maps: dict[str, np.ndarray], threshold: bool,
                       points: list[tuple]) -> Any:
    """Top row: BRUD, BRUD+BC, PJAP, PJAP+BC over (spread, lambda)."""
    lam_pos = np.arange(len(LAMBDAS))
    for ax, (name, m) in zip(axes, maps.items(), strict=True):
        im = ax.pcolormesh(lam_pos, SPREADS, m, vmin=0, vmax=1, cmap="viridis", shading="nearest")
        if np.nanmax(m) - np.nanmin(m) > 1e-9:  # a constant map has no contours
            cs = ax.contour(lam_pos, SPREADS, m, levels=[0.5, 0.9, 0.99], colors="w",
                            linewidths=0.8)
            ax.clabel(cs, fontsize=7)
        ax.set_xticks(lam_pos, [f"{v:g}" for v in LAMBDAS])
        ax.set_xlabel("BC weight lambda")
        ax.set_title(name)
        if threshold and name == "BRUD+BC":
            s = np.linspace(SPREADS[0], SPREADS[-1], 300)
            lam = lambda_for_fraction(0.9, s)
            lam[lam <= 0] = np.nan  # BRUD alone already reaches 90% there
            ax.plot(np.interp(lam, LAMBDAS, lam_pos, right=np.nan), s, "r--", lw=1.2,
                    label="closed form 90%")
            ax.legend(loc="lower right", fontsize=7)
        for p in points:
            if p[0] == name:
                ax.plot(np.interp(p[2], LAMBDAS, lam_pos), p[1], "r*", ms=12)
    axes[0].set_ylabel("data std s (both agents)")
    return im


def _spread_alpha_row(axes: Any, cube: np.ndarray, lambdas: tuple[float, ...]) -> None:
    """Bottom row: PJAP(+BC) over (spread, alpha), one panel per BC weight; alpha 0 is BRUD."""
    a_pos = np.arange(len(ALPHAS))
    for ax, lam, m in zip(axes, lambdas, cube, strict=True):
        ax.pcolormesh(a_pos, SPREADS, m, vmin=0, vmax=1, cmap="viridis", shading="nearest")
        cs = ax.contour(a_pos, SPREADS, m, levels=[0.5, 0.9, 0.99], colors="w", linewidths=0.8)
        ax.clabel(cs, fontsize=7)
        ax.set_xticks(a_pos, [f"{v:g}" for v in ALPHAS])
        ax.set_xlabel("PJAP alpha (0 = BRUD)")
        ax.set_title(f"PJAP+BC, lambda = {lam:g}" + (" (no BC)" if lam == 0 else ""))
    axes[0].set_ylabel("data std s (both agents)")


def figure_maps(setting: Setting, maps: dict[str, np.ndarray], cube: np.ndarray,
                lambdas: tuple[float, ...], path: Path, threshold: bool = False,
                points: list[tuple] | None = None) -> str:
    """The game's two maps in one PNG: (spread, lambda) per method, (spread, alpha) per lambda.

    Colour: converged reward / optimum from the data mean; white contours 0.5 / 0.9 / 0.99;
    red stars: trained checks; red dashes: the closed-form 90% threshold (Twin Peaks).
    """
    plt = _pyplot()
    fig, axes = plt.subplots(2, 4, figsize=(16, 8), constrained_layout=True)
    im = _spread_lambda_row(axes[0], maps, threshold, points or [])
    _spread_alpha_row(axes[1], cube, lambdas)
    fig.colorbar(im, ax=axes, label="converged reward / optimum", shrink=0.6)
    fig.suptitle(f"{setting.label}: reward fraction reached from the data mean "
                 f"(top: PJAP alpha {MAP_ALPHA:g}, L2, eps 0; stars: trained checks)")
    return _save(fig, path)


def write_docs_figures(out: Path = Path("docs")) -> list[str]:
    """Regenerate ``docs/beyond_paper_*.png`` (no training; stars mark the trained checks)."""
    lams = (0.0, 1.0, 4.0, 16.0)
    tp, sq = twin_peaks_setting(), quartic_sign_setting()
    return [figure_maps(tp, method_maps(tp), spread_alpha_maps(tp, lams), lams,
                        out / "beyond_paper_tp.png", threshold=True, points=TP_TRAINED_POINTS),
            figure_maps(sq, method_maps(sq), spread_alpha_maps(sq, lams), lams,
                        out / "beyond_paper_sq.png", points=SQ_TRAINED_POINTS)]


if __name__ == "__main__":  # pragma: no cover
    for p in write_docs_figures():
        print(p)
