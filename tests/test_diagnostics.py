"""Miscoordination diagnostics (paper Fig. 1)."""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from brud_analysis.catalogue import decoupled, sign_agreement
from brud_analysis.data import Normal, PointMass
from brud_analysis.diagnostics import (
    alignment,
    cosine_similarity,
    reward_change,
    reward_decreasing_fraction,
)


def test_fig1_single_step_against_the_gradient():
    p, q, r, s = sympy.symbols("p q r s", positive=True)
    g = sign_agreement()
    x, y = g.agents
    value = alignment(g, PointMass([r, -s])).subs({x: -p, y: q})
    assert sympy.expand(value + (p * r + q * s)) == 0


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0.1, 2.0), min_size=4, max_size=4))
def test_fig1_numeric_step_lowers_the_reward(pqrs):
    p, q, r, s = pqrs
    assert cosine_similarity(sign_agreement(), PointMass([r, -s]), [-p, q]) < 0
    assert reward_change(sign_agreement(), PointMass([r, -s]), [-p, q], 1e-3) < 0


def test_decoupled_is_always_aligned():
    cos = cosine_similarity(decoupled(), Normal([3, -3], [1, 1]), [0.5, -2.0])
    assert abs(cos - 1.0) < 1e-12  # float round-off of the norms
    share, _ = reward_decreasing_fraction(decoupled(), Normal([0, 0], [1, 1]),
                                          [(-1, 1), (-1, 1)], 11)
    assert share == 0.0


def test_zero_field_gives_none():
    assert cosine_similarity(sign_agreement(), Normal([0, 0], [1, 1]), [0.0, 0.0]) is None
