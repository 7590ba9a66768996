"""The critic fitted to PJAP-prioritised data (brud_analysis/critic_pjap.py) against
independent computations: the closed-form PJAP field and the critic on unweighted data."""

from __future__ import annotations

import numpy as np
import sympy

from brud_analysis.catalogue import twin_peaks
from brud_analysis.critic import CriticSpec, analyse_critic
from brud_analysis.critic_pjap import prioritised_critic_field, sample_to_policy_distance
from brud_analysis.data import Normal
from brud_analysis.pjap import pjap_field

DATA = Normal([sympy.Rational(1, 2), sympy.Rational(-1, 4)], [sympy.Rational(1, 2)] * 2)


def test_least_squares_with_r_in_the_class_is_the_closed_form_pjap_field():
    # alpha_cql = 0 and a class containing R: the critic is R on any data, so BRUD on the
    # prioritised data must be pjap.pjap_field (the reweighted-normal closed form)
    game = twin_peaks()
    out = prioritised_critic_field(game, DATA, CriticSpec("degree=4"), 16)
    expected = pjap_field(game, DATA, 16)
    assert all(sympy.simplify(a - b) == 0 for a, b in zip(out.field(), expected, strict=True))


def test_without_pjap_it_is_the_critic_field_on_the_data():
    game = twin_peaks()
    spec = CriticSpec("reward", alpha=3, ood="policy")
    out = prioritised_critic_field(game, DATA, spec, 0)
    expected = analyse_critic(game, DATA, spec).field
    assert all(sympy.simplify(a - b) == 0 for a, b in zip(out.field(), expected, strict=True))


def test_cql_with_pjap_polynomial_field_has_the_numeric_zeros_and_jacobian():
    game = twin_peaks()
    out = prioritised_critic_field(game, DATA, CriticSpec("reward", alpha=3), 16)
    f, jac = out.numeric()
    exact = sympy.lambdify([game.agents], list(out.field()), "numpy")
    theta = np.array([0.3, -0.2])
    assert np.allclose(f(theta), exact(theta), rtol=1e-10)
    exact_jac = sympy.lambdify([game.agents], sympy.Matrix(out.field()).jacobian(game.agents))
    assert np.allclose(jac(theta), exact_jac(theta), rtol=1e-6, atol=1e-8)
    # the data seen at theta: means pulled towards theta (k = 2 * 16 / 4 = 8)
    seen = out.data_at(theta)
    assert np.allclose(seen.mean_array, (np.array([0.5, -0.25]) + 8 * theta) / 9)


def test_distance_is_the_folded_normal_mean():
    rng = np.random.default_rng(0)
    data = Normal([0.5, -0.25], [0.5, 0.5])
    theta = np.array([0.1, 0.3])
    sample = data.sample(rng, 200_000)
    mc = np.mean(np.abs(sample - theta))
    assert abs(sample_to_policy_distance(data, theta) - mc) < 4 * 0.5 / np.sqrt(200_000)
