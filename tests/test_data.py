"""Data models: exact moments, sampling, files and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from brud_analysis.data import (
    Empirical,
    Mixture,
    Normal,
    PointMass,
    SymbolicMoments,
    Uniform,
)
from brud_analysis.errors import BrudError


def test_normal_raw_moments_match_closed_forms():
    m, s = sympy.symbols("m s", real=True)
    d = Normal([m, 0], [s, 1])
    assert d.moment([2, 0]) == m**2 + s**2
    assert sympy.expand(d.moment([3, 0]) - (m**3 + 3 * m * s**2)) == 0
    assert d.moment([4, 0]) == sympy.expand(m**4 + 6 * m**2 * s**2 + 3 * s**4)
    assert d.moment([1, 2]) == m


def test_uniform_and_point_mass_moments():
    assert Uniform([-1], [1]).moment([2]) == sympy.Rational(1, 3)
    assert Uniform([2], [2]).moment([3]) == 8
    assert PointMass([2, -1]).moment([3, 3]) == -8


def test_empirical_divisor_n_variance():
    d = Empirical([[0.0, 1.0], [2.0, 1.0]])
    assert float(d.stds[0]) == pytest.approx(1.0)  # divisor N: var = 1, divisor N-1 would be 2
    assert float(d.moment([1, 1])) == pytest.approx(1.0)


def test_mixture_means_and_cross_moment():
    m = Mixture([PointMass([1, 1]), PointMass([-1, -1])], [1, 1])
    assert m.means == (0, 0)
    assert m.moment([1, 1]) == 1  # correlated, unlike a product model


def test_symbolic_moments_names():
    d = SymbolicMoments(["x", "y", "z"])
    assert str(d.moment([0, 1, 1])) == "E[y*z]"
    assert str(d.moment([0, 2, 0])) == "E[y**2]"


@pytest.mark.parametrize(
    "model",
    [Normal([0.5, -1], [0.3, 2]), Uniform([0, -1], [2, 3]), PointMass([1, 2]),
     Mixture([Normal([1, 1], [0.1, 0.1]), Uniform([-1, -1], [0, 0])], [0.3, 0.7])],
)
def test_moments_agree_with_monte_carlo(model):
    rng = np.random.default_rng(0)
    samples = model.sample(rng, 200_000)
    assert samples.shape == (200_000, 2)
    for ks in ([1, 0], [0, 2], [1, 1], [2, 1]):
        exact = float(model.moment(ks))
        values = np.prod(samples ** np.array(ks), axis=1)
        # 6 standard errors of the Monte-Carlo mean: fails by chance with prob. ~1e-9
        se = values.std() / np.sqrt(len(values))
        assert abs(values.mean() - exact) <= 6 * se + 1e-12


def test_numeric_arrays():
    d = Normal([1, 2], [0.5, 0.25])
    assert d.mean_array.dtype == float and np.allclose(d.std_array, [0.5, 0.25])


# --- input errors --------------------------------------------------------------------------
def test_mismatched_lengths():
    with pytest.raises(BrudError, match="mismatched data lengths"):
        Normal([0, 1], [1])
    with pytest.raises(BrudError, match="mismatched data lengths"):
        Uniform([0], [1, 2])


def test_negative_std():
    with pytest.raises(BrudError, match="std must be >= 0"):
        Normal([0, 0], [1, -0.1])


def test_uniform_bounds_order():
    with pytest.raises(BrudError, match="low must be <= high"):
        Uniform([1, 0], [0, 1])


@pytest.mark.parametrize(
    "content,suffix,message",
    [("x,y\n1,nan\n", ".csv", "NaN or infinite"), ("1 inf\n2 3\n", ".txt", "NaN or infinite"),
     ("", ".csv", "empty"), ("x,y\n", ".csv", "empty"), ("1,2\n3,oops\n", ".csv", "cannot read")],
)
def test_bad_data_files(tmp_path, content, suffix, message):
    path = tmp_path / f"data{suffix}"
    path.write_text(content)
    with pytest.raises(BrudError, match=message):
        Empirical.from_file(path)


def test_npy_file_and_missing_file(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert Empirical.from_file(path).n_agents == 2
    np.save(tmp_path / "bad.npy", np.array([[np.nan, 1.0]]))
    with pytest.raises(BrudError, match="NaN"):
        Empirical.from_file(tmp_path / "bad.npy")
    with pytest.raises(BrudError, match="not found"):
        Empirical.from_file(tmp_path / "nope.csv")
    with pytest.raises(BrudError, match="empty"):
        Empirical(np.zeros((0, 2)))


def test_symbolic_moments_from_text_are_real_symbols():
    """Text such as "m" becomes the real symbol m, the one --assume and the game use."""
    m, s = sympy.symbols("m s", real=True)
    d = Normal(["m", "2*m"], ["s", 1])
    assert d.mean == (m, 2 * m) and d.free_symbols == {m, s} and not d.is_numeric()
    assert d.moment([2, 1]) == sympy.expand((m**2 + s**2) * 2 * m)
    # a plain SymPy symbol is made real; one with its own assumptions is kept as given
    assert Normal([sympy.Symbol("m"), 0], [1, 1]).mean[0] == m
    p = sympy.Symbol("p", positive=True)
    assert Normal([p, 0], [1, 1]).mean[0] is p


def test_symbolic_models_substitute_to_numeric_ones():
    m, s = sympy.symbols("m s", real=True)
    assert Normal(["m", 0], ["s", 1]).subs({"m": 0.5, s: 2}).moment([2, 0]) == sympy.Rational(17, 4)
    u = Uniform(["m", 0], ["m + s", 1])
    assert sympy.expand(u.moment([2, 0]) - (m**2 + m * s + s**2 / 3)) == 0
    assert u.subs({m: 0, s: 1}).moment([2, 0]) == sympy.Rational(1, 3)
    assert PointMass(["m", 1]).subs({"m": 3}).moment([2, 0]) == 9
    mix = Mixture([PointMass(["m", 0]), PointMass([0, 0])], ["w", 1])
    w = sympy.Symbol("w", real=True)
    assert sympy.simplify(mix.moment([1, 0]) - m * w / (w + 1)) == 0
    assert mix.subs({"m": 2, "w": 1}).moment([1, 0]) == 1
    assert Empirical([[0.0, 1.0]]).is_numeric() and not SymbolicMoments(["x", "y"]).is_numeric()


def test_symbolic_input_errors():
    with pytest.raises(BrudError, match="cannot parse"):
        Normal(["m +", 0], [1, 1])
    with pytest.raises(BrudError, match="finite"):
        Normal([sympy.oo, 0], [1, 1])
    with pytest.raises(BrudError, match="symbolic"):
        Normal(["m", 0], [1, 1]).sample(np.random.default_rng(0), 3)
