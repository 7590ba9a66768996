"""Moved to :mod:`brud_analysis.algebra.exact`; this module keeps the old import path working."""

from brud_analysis.algebra.exact import *  # noqa: F403
