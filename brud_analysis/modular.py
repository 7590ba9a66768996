"""Moved to :mod:`brud_analysis.algebra.modular`; this module keeps the old import path working."""

from brud_analysis.algebra.modular import *  # noqa: F403
