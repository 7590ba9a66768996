"""Classification of stationary points (Hessian) and stability of fixed points (Jacobian).

Eigenvalues closer to zero than ``ZERO_TOL`` times the largest magnitude are treated as zero: the
points come from certified root isolation refined to ~1e-12, so genuine zeros show up at the
~1e-10 level while non-zero eigenvalues of paper-scale games are O(1).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import sympy

ZERO_TOL = 1e-8


def numeric_eigenvalues(matrix: sympy.Matrix, variables: Sequence[sympy.Symbol],
                        point: Sequence[float]) -> np.ndarray:
    """Eigenvalues of ``matrix`` evaluated at ``point`` (complex array, shape ``(n,)``).

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> numeric_eigenvalues(sympy.Matrix([[-2, 0], [0, x]]), (x, y), (3.0, 0.0)).real
        array([-2.,  3.])
    """
    values = np.asarray(_compiled(sympy.ImmutableMatrix(matrix), tuple(variables))(*point),
                        dtype=complex)
    if np.allclose(values, values.conj().T):
        return np.linalg.eigvalsh(values).astype(complex)
    return np.linalg.eigvals(values)


@functools.lru_cache(maxsize=64)
def _compiled(matrix: sympy.ImmutableMatrix, variables: tuple[sympy.Symbol, ...]):
    """Float evaluator for a polynomial ``matrix``, built once per matrix.

    Entries become (coefficient, exponents) term lists: evaluating them is ~100x faster than
    SymPy ``subs`` per point and, unlike ``lambdify``, costs no code generation up front.
    """
    shape = matrix.shape
    entries = []
    try:
        for entry in matrix:
            poly = sympy.Poly(entry, *variables)
            entries.append([(complex(c), m) for m, c in poly.terms()])
    except (sympy.PolynomialError, TypeError):  # not polynomial (e.g. a PJAP kernel): subs
        def substitute(*point: float) -> np.ndarray:
            values = matrix.subs(dict(zip(variables, point, strict=True))).evalf()
            return np.array(values.tolist(), dtype=complex)

        return substitute

    def evaluate(*point: float) -> np.ndarray:
        out = np.zeros(len(entries), dtype=complex)
        for k, terms in enumerate(entries):
            out[k] = sum(c * np.prod([p**e for p, e in zip(point, m, strict=True)])
                         for c, m in terms)
        return out.reshape(shape)

    return evaluate


def _is_zero(values: np.ndarray) -> np.ndarray:
    scale = max(1.0, float(np.max(np.abs(values)))) if values.size else 1.0
    return np.abs(values) <= ZERO_TOL * scale


def classify_hessian(eigenvalues: Sequence[complex], flat_directions: int = 0) -> str:
    """"maximum" | "minimum" | "saddle" | "degenerate" from Hessian eigenvalues.

    ``flat_directions`` eigenvalues closest to zero are ignored (the tangent directions of a
    stationary set of that dimension).

    Example:
        >>> classify_hessian([-4.0, 0.0], flat_directions=1), classify_hessian([-1.0, 2.0])
        ('maximum', 'saddle')
    """
    values = np.sort_complex(np.asarray(eigenvalues, dtype=complex)).real
    if flat_directions:
        keep = np.argsort(np.abs(values))[flat_directions:]
        values = values[keep]
    zero = _is_zero(values)
    if values.size == 0:
        return "degenerate"
    if np.any(values[~zero] > 0) and np.any(values[~zero] < 0):
        return "saddle"
    if np.any(zero):
        return "degenerate"
    return "maximum" if np.all(values < 0) else "minimum"


def is_stable(eigenvalues: Sequence[complex]) -> bool | None:
    """Stability of a fixed point of the flow d theta/dt = g(theta) from Jacobian eigenvalues.

    True if every real part is negative, False if one is positive, None (degenerate) otherwise.

    Example:
        >>> is_stable([-1.0, -2.0]), is_stable([1.0, -2.0]), is_stable([0.0, -1.0])
        (True, False, None)
    """
    values = np.asarray(eigenvalues, dtype=complex)
    re = values.real
    zero = _is_zero(values)
    if np.any(re[~zero] > 0):
        return False
    if np.any(zero):
        return None
    return True


def probe_degenerate(reward: sympy.Expr, variables: Sequence[sympy.Symbol],
                     point: Sequence[float], directions: int = 256) -> str:
    """Higher-order look at a degenerate stationary point by sampling R around it.

    Compares R(point + r u) with R(point) for many unit directions u and radii r in
    {1e-1, 1e-2, 1e-3}, at 50 significant digits. "saddle" is conclusive (R goes both ways);
    "maximum"/"minimum" mean every sample went that way (sampling, not a proof); otherwise
    "degenerate".

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> probe_degenerate(-x**4 - y**4, (x, y), (0.0, 0.0))
        'maximum'
        >>> probe_degenerate(x**3 - y**2, (x, y), (0.0, 0.0))
        'saddle'
    """
    import mpmath

    n = len(variables)
    rng = np.random.default_rng(0)
    dirs = [np.eye(n)[i] * s for i in range(n) for s in (1, -1)]
    dirs += list(rng.normal(size=(directions, n)))
    fn = sympy.lambdify(variables, reward, modules="mpmath")
    above = below = 0
    with mpmath.workdps(50):
        centre = [mpmath.mpf(float(v)) for v in point]
        base = fn(*centre)
        for u in dirs:
            u = u / np.linalg.norm(u)
            for r in (1e-1, 1e-2, 1e-3):
                diff = fn(*[c + mpmath.mpf(r) * mpmath.mpf(float(ui))
                            for c, ui in zip(centre, u, strict=True)]) - base
                tol = mpmath.mpf(10) ** -40 * max(1, abs(base))
                if diff > tol:
                    above += 1
                elif diff < -tol:
                    below += 1
    if above and below:
        return "saddle"
    total = len(dirs) * 3
    if below == total:
        return "maximum"
    if above == total:
        return "minimum"
    return "degenerate"
