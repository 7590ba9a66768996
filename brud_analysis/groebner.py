"""Moved to :mod:`brud_analysis.algebra.groebner`; this module keeps the old import path working."""

from brud_analysis.algebra.groebner import *  # noqa: F403
