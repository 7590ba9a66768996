"""brud-analysis: derive and verify Best-Response-Under-Data (BRUD) dynamics.

Public names are imported lazily so that ``brud --help`` (which imports this package) stays fast.

Example:
    >>> from brud_analysis import Game
    >>> Game("x*y").gradient
    (y, x)
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "Game": "brud_analysis.game",
    "DataModel": "brud_analysis.data",
    "Normal": "brud_analysis.data",
    "Uniform": "brud_analysis.data",
    "PointMass": "brud_analysis.data",
    "Empirical": "brud_analysis.data",
    "Mixture": "brud_analysis.data",
    "SymbolicMoments": "brud_analysis.data",
    "decoupled": "brud_analysis.catalogue",
    "sign_agreement": "brud_analysis.catalogue",
    "action_agreement": "brud_analysis.catalogue",
    "twin_peaks": "brud_analysis.catalogue",
    "CATALOGUE": "brud_analysis.catalogue",
    "true_field": "brud_analysis.fields",
    "brud_field": "brud_analysis.fields",
    "stationary_points": "brud_analysis.solve",
    "brud_fixed_points": "brud_analysis.solve",
    "solve_polynomial_system": "brud_analysis.solve",
    "data_conditions": "brud_analysis.conditions",
    "BrudError": "brud_analysis.errors",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'brud_analysis' has no attribute {name!r}")
