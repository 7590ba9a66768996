"""Moved to :mod:`brud_analysis.algebra.surds`; this module keeps the old import path working."""

from brud_analysis.algebra.surds import *  # noqa: F403
