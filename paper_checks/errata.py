"""The paper's notational errata and omissions, each with the reading this toolkit uses.

Where an erratum is checkable the check runs: e.g. the literal reading of "(C-2A)/2B" is not a
stationary point of Twin Peaks, the intended one is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sympy

from brud_analysis.catalogue import twin_peaks


@dataclass(frozen=True)
class Erratum:
    """A place where the paper's text should be read differently."""

    location: str
    paper_text: str
    reading: str
    evidence: str = ""


def _peak_reading_evidence() -> str:
    game = twin_peaks(1, 4, 5)
    x, y = game.agents
    literal = sympy.sqrt(sympy.Rational(5 - 2, 2) * 4)  # ((C - 2A)/2) * B
    intended = sympy.sqrt(sympy.Rational(5 - 2, 2 * 4))  # (C - 2A) / (2B)
    g_literal = [sympy.simplify(g.subs({x: literal, y: literal})) for g in game.gradient]
    g_intended = [sympy.simplify(g.subs({x: intended, y: intended})) for g in game.gradient]
    return (f"A=1, B=4, C=5: grad R at the literal reading sqrt(6) is {g_literal}; at "
            f"sqrt(3/8) it is {g_intended}")


def errata() -> list[Erratum]:
    """Every erratum, in paper order (evidence computed where checkable).

    Example:
        >>> errata()[0].location
        'Eq. 1 and Eq. 6'
    """
    return [
        Erratum("Eq. 1 and Eq. 6", "alpha", "alpha is both the regulariser weight (Eq. 1) and "
                "the PJAP temperature (Eq. 6): two different quantities"),
        Erratum("Eq. 1 and Sec. 2.3", "R", "R is both the policy regulariser (Eq. 1) and the "
                "reward function (Sec. 2.3 on)"),
        Erratum("Sec. 3.2, action agreement", "x-bar = y-bar",
                "mean_x = mean_y (the sample means a-bar_x, a-bar_y of the dataset)"),
        Erratum("Sec. 3.2, Twin Peaks", "a_dag = +-sqrt((C-2A)/2B)",
                "a_dag = +-sqrt((C - 2A) / (2B))", _peak_reading_evidence()),
        Erratum("Sec. 3.2, quartic identity", "sigma_y^2 is the sample variance",
                "the divisor-N (population) variance of the dataset, which is what uniform "
                "minibatch sampling sees (see claim tp.quartic_identity)"),
        Erratum("Sec. 3.2, Eq. 5", "+- with no rule",
                "+ for the target +a_dag, - for -a_dag; real only for means in an interval, "
                "and one condition per agent (see claim tp.eq5)"),
        Erratum("Fig. 4 (and text)", "sigma = 0, 0.3, 1; 'increasing the variance'",
                "the sigma labels are standard deviations"),
        Erratum("Eq. 7", "||a_hat, theta||_1", "||a_hat - theta||_1 (an L1 distance)"),
        Erratum("Eq. 8", "||mu(o_i(t)), a_i(t)||_1",
                "|mu_i(o_t^i) - a_t^i|, averaged over agents and time (and action dimensions)"),
        Erratum("Sec. 4.1, Fig. 5", "(stds, alpha, eps not stated)",
                "the paper does not give Fig. 5's data stds or PJAP's alpha and eps for the "
                "polynomial games; this report states the values it uses"),
    ]


def errata_json() -> list[dict[str, Any]]:
    """The errata as JSON records."""
    return [asdict(e) for e in errata()]
