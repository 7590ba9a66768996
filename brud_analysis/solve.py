"""Moved to :mod:`brud_analysis.algebra.solve` (a package); this module keeps the old import
path working."""

from brud_analysis.algebra.solve import *  # noqa: F403

# private names that other modules import from here
from brud_analysis.algebra.solve.univariate import _check_numeric as _check_numeric
