"""Hessian classification and flow stability."""

from __future__ import annotations

import numpy as np
import sympy

from brud_analysis.stability import classify_hessian, is_stable, numeric_eigenvalues


def test_classify():
    assert classify_hessian([-1, -2]) == "maximum"
    assert classify_hessian([1, 2]) == "minimum"
    assert classify_hessian([-1, 2]) == "saddle"
    assert classify_hessian([0, -2]) == "degenerate"
    assert classify_hessian([0, -4], flat_directions=1) == "maximum"


def test_stability():
    assert is_stable([-1, -0.5]) is True
    assert is_stable([-1, 0.5]) is False
    assert is_stable([-1, 0.0]) is None
    assert is_stable([complex(-1, 3), complex(-1, -3)]) is True


def test_numeric_eigenvalues_of_a_non_symmetric_jacobian():
    x, y = sympy.symbols("x y")
    eig = numeric_eigenvalues(sympy.Matrix([[0, 1], [-1, 0]]), (x, y), (0.0, 0.0))
    assert np.allclose(sorted(eig.imag), [-1.0, 1.0], atol=1e-12)  # LAPACK round-off


def test_probe_degenerate():
    from brud_analysis.stability import probe_degenerate

    x, y = sympy.symbols("x y")
    assert probe_degenerate(x**4 + y**2, (x, y), (0.0, 0.0)) == "minimum"
    assert probe_degenerate(x**2 * y, (x, y), (0.0, 0.0)) == "saddle"
    assert probe_degenerate(-(x**2) * 0 - y**4, (x, y), (0.0, 0.0)) == "degenerate"  # flat in x
