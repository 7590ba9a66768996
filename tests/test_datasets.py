"""Datasets sampled from the symbolic core's data models."""

import jax
import numpy as np
import pytest
import sympy

from brud_analysis.data import Mixture, Normal, PointMass, Uniform
from brud_analysis.errors import BrudError
from verify.datasets import empirical_model, sample_dataset, sample_datasets


def test_same_key_same_dataset_and_float32_shape():
    data = Normal([0.5, -1.0], [0.3, 2.0])
    a = sample_dataset(jax.random.key(3), data, 500)
    b = sample_dataset(jax.random.key(3), data, 500)
    c = sample_dataset(jax.random.key(4), data, 500)
    assert a.shape == (500, 2) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sample_moments_match_the_model():
    data = Uniform([-1, 0], [1, 4])
    rows = np.asarray(sample_dataset(jax.random.key(0), data, 40_000), float)
    # Uniform std sqrt(1/3) and sqrt(4/3); 5 standard errors of a 40,000-sample mean.
    se = np.array([np.sqrt(1 / 3), np.sqrt(4 / 3)]) / np.sqrt(40_000)
    assert np.all(np.abs(rows.mean(axis=0) - [0.0, 2.0]) < 5 * se)


def test_point_mass_and_mixture_are_supported():
    rows = sample_dataset(jax.random.key(0), PointMass([0.25, -0.5]), 7)
    assert np.all(np.asarray(rows) == np.array([0.25, -0.5], np.float32))
    mix = Mixture([PointMass([1, 1]), PointMass([-1, -1])], [1, 3])
    rows = np.asarray(sample_dataset(jax.random.key(0), mix, 4000))
    # P(first component) = 1/4; 5 binomial standard errors.
    assert abs(np.mean(rows[:, 0] > 0) - 0.25) < 5 * np.sqrt(0.25 * 0.75 / 4000)


def test_several_datasets_at_once_are_independent():
    many = sample_datasets(jax.random.key(0), Normal([0, 0], [1, 1]), 10, 3)
    assert many.shape == (3, 10, 2)
    assert not np.array_equal(many[0], many[1])


def test_empirical_model_has_divisor_n_moments_of_the_float32_data():
    rows = sample_dataset(jax.random.key(1), Normal([1, 2], [1, 1]), 100)
    model = empirical_model(rows)
    x = np.asarray(rows, np.float64)
    assert float(model.moment([0, 2])) == pytest.approx(np.mean(x[:, 1] ** 2), rel=1e-12)
    assert float(model.stds[1]) == pytest.approx(x[:, 1].std(ddof=0), rel=1e-9)


def test_bad_requests_are_user_errors():
    with pytest.raises(BrudError):
        sample_dataset(jax.random.key(0), Normal([0, 0], [1, 1]), 0)
    with pytest.raises(BrudError):
        sample_dataset(jax.random.key(0), Normal([sympy.Symbol("M"), 0], [1, 1]), 5)


def test_symbolic_parameters_are_refused_before_sampling():
    # is_numeric is a method: calling it (not testing the bound method's truth) is what
    # refuses a symbolic model with a message that says why.
    with pytest.raises(BrudError, match="symbolic parameters"):
        sample_dataset(jax.random.key(0), Normal([0, 0], [sympy.Symbol("s"), 1]), 5)
