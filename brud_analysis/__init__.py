"""brud-analysis: derive and verify Best-Response-Under-Data (BRUD) dynamics.

Public names are imported lazily so that ``brud --help`` (which imports this package) stays fast.

Example:
    >>> from brud_analysis import Game
    >>> Game("x*y").gradient
    (y, x)
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

try:  # the installed distribution's version (pyproject.toml), as `pip show` reports it
    __version__: str = _metadata.version("brud-analysis")
except _metadata.PackageNotFoundError:  # a source tree on PYTHONPATH, never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:  # what the lazy __getattr__ below returns, for type checkers and IDEs
    from brud_analysis.catalogue import (
        CATALOGUE,
        action_agreement,
        decoupled,
        sign_agreement,
        twin_peaks,
    )
    from brud_analysis.conditions import data_conditions
    from brud_analysis.data import (
        DataModel,
        Empirical,
        Mixture,
        Normal,
        PointMass,
        SymbolicMoments,
        Uniform,
    )
    from brud_analysis.errors import BrudError
    from brud_analysis.fields import brud_field, true_field
    from brud_analysis.game import Game
    from brud_analysis.solve import brud_fixed_points, solve_polynomial_system, stationary_points

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

__all__ = [  # literal, so linters see the re-exports; equal to sorted(_PUBLIC) (tested)
    "BrudError", "CATALOGUE", "DataModel", "Empirical", "Game", "Mixture", "Normal", "PointMass",
    "SymbolicMoments", "Uniform", "action_agreement", "brud_field", "brud_fixed_points",
    "data_conditions", "decoupled", "sign_agreement", "solve_polynomial_system",
    "stationary_points", "true_field", "twin_peaks",
]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'brud_analysis' has no attribute {name!r}")
