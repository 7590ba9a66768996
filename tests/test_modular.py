"""Multimodular characteristic polynomials against FLINT's exact ``fmpq_mat.charpoly()``.

Everything here is exact rational arithmetic: every comparison is equality (tolerance: exact),
since both routes return the exact rational coefficients or the test has found a bug.
"""

from __future__ import annotations

import math

import flint
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from brud_analysis.algebra import modular
from brud_analysis.algebra.groebner import Quotient
from brud_analysis.algebra.modular import annihilating_charpoly, rational_reconstruction

BIG = 2**120  # entries' numerators and denominators up to 120 bits: many primes needed


# --- rational reconstruction -----------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**100), 2**100), st.integers(1, 2**100))
def test_reconstruction_round_trips_small_fractions(n, d):
    # a modulus of 4 primes (> 2**247) exceeds 2 * (2**100)**2: the fraction comes back (exact)
    m = math.prod(modular._prime(k) for k in range(4))
    g = math.gcd(n, d)
    assert rational_reconstruction(n * pow(d, -1, m), m) == (n // g, d // g)


def _small_fractions(m: int) -> dict[int, tuple[int, int]]:
    """Brute force: each residue of a coprime n/d with |n|, d <= sqrt(m/2), gcd(d, m) = 1."""
    bound = math.isqrt(m // 2)
    small: dict[int, tuple[int, int]] = {}
    for d in range(1, bound + 1):
        if math.gcd(d, m) == 1:
            inverse = pow(d, -1, m)
            for n in range(-bound, bound + 1):
                if math.gcd(n, d) == 1:
                    a = n * inverse % m
                    assert small.setdefault(a, (n, d)) == (n, d)  # unique (for m > 2)
    return small


@pytest.mark.parametrize("m", [*range(3, 160), 10007, 2**14, 2 * 3 * 5 * 7 * 11 * 13,
                               2 * 70**2])
def test_reconstruction_is_the_unique_small_fraction_or_none(m):
    # exhaustive against brute force over every residue (exact): the small fraction, or None
    # where there is none (most residues modulo a larger m); primes, prime powers, products of
    # small primes (many non-unit denominators) and m = 2 k**2 (the bound sqrt(m/2) attained)
    small = _small_fractions(m)
    assert len(small) < m or m == 3  # (modulo 3, all of 0, 1 and -1 are small)
    for a in range(m):
        assert rational_reconstruction(a, m) == small.get(a)


# --- the charpoly ----------------------------------------------------------------------------

_rationals = st.builds(flint.fmpq, st.integers(-BIG, BIG), st.integers(1, BIG))
_small_rationals = st.builds(flint.fmpq, st.integers(-5, 5), st.integers(1, 3))


@st.composite
def _matrices(draw):
    """Square rational matrices of size 1-8: dense with large entries, zero, scalar, singular
    (a row a combination of the others), and with a repeated eigenvalue in a Jordan block
    conjugated by a unit triangular matrix."""
    n = draw(st.integers(1, 8))
    kind = draw(st.sampled_from(["dense", "zero", "scalar", "singular", "jordan"]))
    if kind == "zero":
        return flint.fmpq_mat(n, n)
    if kind == "scalar":
        c = draw(_rationals)
        return flint.fmpq_mat(n, n, [c if i == j else 0 for i in range(n) for j in range(n)])
    if kind == "jordan":
        c = draw(_rationals)
        j = flint.fmpq_mat(n, n, [c if i == k else int(k == i + 1)
                                  for i in range(n) for k in range(n)])
        s = flint.fmpq_mat(n, n, [1 if i == k else draw(_small_rationals) if k > i else 0
                                  for i in range(n) for k in range(n)])
        return s * j * s.inv()
    entries = draw(st.lists(_rationals, min_size=n * n, max_size=n * n))
    m = flint.fmpq_mat(n, n, entries)
    if kind == "singular" and n > 1:
        a, b = draw(_small_rationals), draw(_small_rationals)
        for k in range(n):
            m[n - 1, k] = a * m[0, k] + b * m[n - 2, k]
    return m


class _CheckSpy:
    """Records the exact check's verdicts, to tell a modular answer from the fallback's."""

    def __init__(self) -> None:
        self.verdicts: list[bool] = []
        self._check = modular._annihilates

    def __call__(self, *args) -> bool:
        self.verdicts.append(self._check(*args))
        return self.verdicts[-1]


def _fits_the_primes(poly: flint.fmpq_poly, primes: int = 64) -> bool:
    """Whether rational reconstruction modulo ``primes - 1`` of the primes (> 2**61.99 each)
    gives back every coefficient n/d (modulus > 2 max(|n|, d)**2), confirmed by the last."""
    height = max(max(abs(int(c.p)), int(c.q)).bit_length() for c in poly.coeffs())
    return 2 * height + 1 < 61.99 * (primes - 1)


@settings(max_examples=80, deadline=None)
@given(_matrices(), st.data())
def test_equals_flints_charpoly_on_random_rational_matrices(m, data):
    index = data.draw(st.integers(0, m.nrows() - 1))
    spy = _CheckSpy()
    with pytest.MonkeyPatch.context() as patch:  # (the fixture is not reset per example)
        patch.setattr(modular, "_annihilates", spy)
        exact = m.charpoly()
        assert annihilating_charpoly(m, index) == exact  # exact
    if _fits_the_primes(exact):  # (dense 8 x 8 matrices of 120-bit entries with unrelated
        # denominators can have ~4000-bit coefficients, beyond the 64 primes: the fallback)
        assert spy.verdicts[-1:] == [True]  # the modular answer, not FLINT's fallback


def test_equals_flints_charpoly_on_quotient_multiplication_matrices():
    # a 4-agent benchmark reward: 70 x 70 multiplication matrices, entries with up to ~190-bit
    # numerators and denominators, where FLINT's route is ~15x slower (exact comparison)
    agents = sympy.symbols("a1 a2 a3 a4")
    a1, a2, a3, a4 = agents
    reward = (-4 * a1**2 * a2 * a3 - 9 * a1**2 * a4**2 - a1**2 - 5 * a1 * a2**3
              - 2 * a1 * a2**2 * a4 + a2**3 * a4 + 2 * a2 * a3 * a4**2 - 2 * a3**4 + a3)
    q = Quotient.of([sympy.expand(sympy.diff(reward, v)) for v in agents], agents)
    assert q is not None and q.dimension > 50
    one = q.index[(0, 0, 0, 0)]
    spy = _CheckSpy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(modular, "_annihilates", spy)
        for i in range(len(agents)):
            m = q.multiplication_matrix(i)
            assert annihilating_charpoly(m, one) == m.charpoly()
    assert spy.verdicts == [True] * len(agents)  # modular answers, each checked once


def test_empty_and_bad_input():
    assert annihilating_charpoly(flint.fmpq_mat(0, 0), 0) == 1  # the empty product (exact)
    with pytest.raises(ValueError):
        annihilating_charpoly(flint.fmpq_mat(2, 3), 0)
    with pytest.raises(IndexError):
        annihilating_charpoly(flint.fmpq_mat(2, 2), 2)


# --- the exact check matters -----------------------------------------------------------------

def _fooling_matrix() -> tuple[flint.fmpq_mat, flint.fmpq_poly]:
    """A matrix whose charpoly is congruent, modulo the first two primes used, to one with
    tiny coefficients, so the modular stage alone stabilises on that wrong polynomial.

    Eigenvalues s + P K (P the product of the two primes, s small, K ~ 2**150) conjugated by a
    unit triangular integer matrix: the charpoly's coefficients are congruent modulo P to those
    of prod(x - s), which rational reconstruction modulo the first prime returns and the second
    prime confirms.
    """
    big = modular._prime(0) * modular._prime(1)
    small = [flint.fmpq(5), flint.fmpq(-7, 3), flint.fmpq(2, 5)]
    eig = [s + big * (3**95 + 11 * k) for k, s in enumerate(small)]
    n = len(eig)
    diag = flint.fmpq_mat(n, n, [eig[i] if i == j else 0 for i in range(n) for j in range(n)])
    s = flint.fmpq_mat(n, n, [1, 2, -3, 0, 1, 4, 0, 0, 1])
    fake = flint.fmpq_poly([1])
    for c in small:
        fake *= flint.fmpq_poly([-c, 1])
    return s * diag * s.inv(), fake


def test_the_exact_check_refutes_a_stable_but_wrong_reconstruction(monkeypatch):
    m, fake = _fooling_matrix()
    exact = m.charpoly()
    assert fake != exact
    spy = _CheckSpy()
    monkeypatch.setattr(modular, "_annihilates", spy)
    for index in range(m.nrows()):  # exact
        spy.verdicts.clear()
        assert annihilating_charpoly(m, index) == exact
        assert spy.verdicts == [False, True]  # the fake checked and refuted, then the real one
    # too few primes to get past the fake: refuted, then FLINT's charpoly (the fallback)
    spy.verdicts.clear()
    assert annihilating_charpoly(m, 0, max_primes=2) == exact
    assert spy.verdicts == [False]
    # one prime confirms nothing: no check at all, the fallback answers
    spy.verdicts.clear()
    assert annihilating_charpoly(m, 0, max_primes=1) == exact
    assert spy.verdicts == []

    # the mutant without the check returns the fake (what the check is there for)
    monkeypatch.setattr(modular, "_annihilates", lambda *args: True)
    assert annihilating_charpoly(m, 0) == fake


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 8), st.data())
def test_one_prime_is_never_enough_so_the_fallback_answers(n, data):
    # one prime never confirms a reconstruction: no candidate is even checked, and the answer
    # is FLINT's exact charpoly although the check is switched off (exact; a context instead of
    # the monkeypatch fixture, which Hypothesis would not reset between examples)
    m = flint.fmpq_mat(n, n, data.draw(st.lists(_rationals, min_size=n * n, max_size=n * n)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(modular, "_annihilates", lambda *args: True)
        assert annihilating_charpoly(m, 0, max_primes=1) == m.charpoly()


def test_skipping_the_check_on_a_too_small_modulus_gives_a_wrong_charpoly(monkeypatch):
    # the other mutant: no check and no confirmation (any reconstruction is accepted) on a
    # big-entry matrix. The first reconstruction that exists for every coefficient, at a
    # modulus still too small, is wrong; the real function returns the exact charpoly.
    m = flint.fmpq_mat(2, 2, [flint.fmpq(3**70, 7**30), flint.fmpq(-(5**60), 11**25),
                              flint.fmpq(2**150 + 1, 13**20), flint.fmpq(17**30, 3**40 + 2)])
    exact = m.charpoly()
    assert annihilating_charpoly(m, 0) == exact  # exact
    monkeypatch.setattr(modular, "_annihilates", lambda *args: True)
    monkeypatch.setattr(modular, "_agrees", lambda *args: True)
    assert annihilating_charpoly(m, 0) != exact
