"""Characteristic polynomials of rational matrices by multimodular arithmetic, checked exactly.

Why: the eliminants of :class:`brud_analysis.groebner.Quotient` are characteristic polynomials
of its multiplication matrices (70 x 70 on the 4-agent benchmark games, entries with up to
~190-bit numerators and denominators, common denominator ~300 bits). FLINT's exact
``fmpq_mat.charpoly()`` took 50-200 ms on each: it clears the common denominator and works to an
a-priori (Hadamard-type) coefficient bound, while the true coefficients have numerators and
denominators of only ~200 bits. Here the charpoly is computed modulo word-size primes (~0.4 ms
each, FLINT), lifted by the Chinese remainder theorem and rational reconstruction only as far as
the coefficients need (6-8 primes there), and the result is checked exactly: 6-14 ms in all, see
:func:`annihilating_charpoly`.
"""

from __future__ import annotations

import math
import threading

import flint

# The primes used, largest first, just below 2**62: word-size for FLINT's nmod_mat, found once
# and cached (a fixed sequence, so results never depend on the run). The lock keeps two threads
# from appending the same prime twice (a repeated prime would break the CRT).
_PRIMES: list[int] = []
_PRIMES_LOCK = threading.Lock()
_PRIME_CEILING = 2**62

# A rational number as (numerator, denominator > 0), coprime: Python ints are cheaper than
# fmpq objects in the reconstruction loop.
_Fraction = tuple[int, int]


def _prime(k: int) -> int:
    """The k-th prime below 2**62, counting down from the largest (0-based)."""
    if k < len(_PRIMES):
        return _PRIMES[k]
    with _PRIMES_LOCK:
        while len(_PRIMES) <= k:
            n = (_PRIMES[-1] if _PRIMES else _PRIME_CEILING + 1) - 2  # odd candidates only
            # fmpz.is_prime proves primality (below 2**64 the BPSW test is exact)
            while not flint.fmpz(n).is_prime():
                n -= 2
            _PRIMES.append(n)
    return _PRIMES[k]


def rational_reconstruction(a: int, m: int) -> tuple[int, int] | None:
    """The fraction ``n/d`` (``d > 0``, ``gcd(n, d) = 1``, ``gcd(d, m) = 1``) with
    ``n = a*d (mod m)`` and ``|n|, d <= sqrt(m/2)``, or None when there is none.

    Such a fraction is unique when it exists, so a rational number whose numerator and
    denominator are at most ``H`` comes back from its residue modulo any ``m >= 2 H**2``.
    Wang's algorithm: the extended Euclidean algorithm on ``(m, a)``, stopped at the first
    remainder ``<= sqrt(m/2)``.

    Hand-written because python-flint 0.9 exposes no rational reconstruction (FLINT's
    ``fmpq_reconstruct_fmpz`` is not wrapped) and SymPy's is private
    (``sympy.polys.modulargcd`` internals).

    Example:
        >>> m = 10007 * 10009
        >>> rational_reconstruction(-7 * pow(12, -1, m), m)
        (-7, 12)
        >>> rational_reconstruction(2, 7) is None  # 2 = 2/1 = -5/1 = 1/4 = ...: none small
        True
    """
    if m < 2:
        raise ValueError(f"the modulus must be at least 2, got {m}")
    bound = math.isqrt(m // 2)
    # invariant: r1 = t1 * a (mod m), and likewise r0, t0
    r0, r1 = m, a % m
    t0, t1 = 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        t0, t1 = t1, t0 - q * t1
    if abs(t1) > bound or math.gcd(r1, t1) != 1 or math.gcd(t1, m) != 1:
        return None
    return (r1, t1) if t1 > 0 else (-r1, -t1)


def _reconstruct(residues: list[int], modulus: int, order: list[int]) -> list[_Fraction] | None:
    """Every residue's :func:`rational_reconstruction`, or None at the first that has none.

    ``order`` (a permutation of the indices) is the order tried; a failing index is moved to
    its front, since while the modulus is too small the same large coefficient fails again
    and a failed attempt then costs one reconstruction rather than up to d.

    The coefficients share most of their denominators, so each residue ``a`` is first
    reconstructed times ``L``, a common multiple of the denominators found so far (a unit
    modulo the modulus): ``a L`` is a fraction ``n'/d'`` of small ``d'``, which the Euclidean
    algorithm reaches in a few steps instead of ~bits(modulus)/4. ``n'/(d' L)`` reduced,
    ``n/d``, is then the reconstruction of ``a`` itself when within the bounds (``n = a d`` mod
    m as ``d' L`` is a unit, and such a fraction is unique): the result is the same as
    reconstructing each residue on its own.
    """
    bound = math.isqrt(modulus // 2)
    lcm = 1
    out: list[_Fraction] = [(0, 1)] * len(residues)
    for pos, i in enumerate(order):
        if lcm > 1:
            scaled = rational_reconstruction(residues[i] * lcm, modulus)
            if scaled is not None:
                den = scaled[1] * lcm
                g = math.gcd(scaled[0], den)
                n, d = scaled[0] // g, den // g
                if abs(n) <= bound and d <= bound:
                    out[i] = (n, d)
                    lcm *= scaled[1]  # a multiple of d, and still a unit
                    continue
        found = rational_reconstruction(residues[i], modulus)
        if found is None:
            order.insert(0, order.pop(pos))
            return None
        out[i] = found
        lcm = lcm * found[1] // math.gcd(lcm, found[1])
    return out


def _agrees(candidate: list[_Fraction], images: list[int], p: int) -> bool:
    """Whether the candidate reduces to ``images`` modulo ``p`` (denominators invertible):
    then it is also the (unique) reconstruction for the modulus times ``p``."""
    return all(d % p != 0 and (n - r * d) % p == 0
               for (n, d), r in zip(candidate, images, strict=True))


def _annihilates(numer: flint.fmpz_mat, den: int, index: int, coeffs: list[_Fraction]) -> bool:
    """Whether f(numer / den) e = 0 exactly, for f the polynomial of ``coeffs`` (lowest degree
    first) and e the unit vector at ``index``.

    Horner's rule, w <- (numer / den) w + c e from the leading coefficient down, in exact
    integer arithmetic: w = W / s for an integer vector W and an integer s > 0, their common
    content divided out after each step (the partial sums stay about as large as the matrix's
    entries, ~300 bits, when f annihilates e). Why not ``fmpq_mat`` products: FLINT clears the
    matrix's denominators again on every product, 20 ms per 70 x 70 matrix-vector product
    against 0.2 ms for ``fmpz_mat`` (and there are d products).
    """
    lcm = 1  # f over the common denominator of its coefficients: integer coefficients
    for _, q in coeffs:
        lcm = lcm * q // math.gcd(lcm, q)
    ints = [n * (lcm // q) for n, q in coeffs]
    d = numer.nrows()
    w = flint.fmpz_mat(d, 1)
    w[index, 0] = ints[-1]
    s = 1
    for c in reversed(ints[:-1]):
        # (numer / den) (W / s) + c e = (numer W + c den s e) / (den s)
        w = numer * w
        w[index, 0] += c * den * s
        s *= den
        g = math.gcd(int(flint.fmpz_poly(w.entries()).content()), s)
        if g > 1:
            w = w / g  # exact (FLINT raises if it were not)
            s //= g
    return bool(w.is_zero())


def annihilating_charpoly(matrix: flint.fmpq_mat, index: int,
                          max_primes: int = 64) -> flint.fmpq_poly:
    """The characteristic polynomial of a square rational ``matrix`` by multimodular
    arithmetic, checked exactly to annihilate the unit vector at ``index``.

    Why: FLINT's exact ``fmpq_mat.charpoly()`` clears the matrix's common denominator and
    works to an a-priori coefficient bound; on the 70 x 70 multiplication matrices of
    :class:`brud_analysis.groebner.Quotient` (4-agent games) it took 50-200 ms, this 6-14 ms:
    one charpoly modulo a word-size prime takes ~0.4 ms and the coefficients (~200-bit
    numerators and denominators) need only 6-8 such primes; the exact check takes 3-8 ms.

    How: ``matrix = A / den`` with ``A`` an integer matrix and ``den`` the lcm of the entries'
    denominators. For the primes just below 2**62, largest first (a fixed sequence, so the
    function is deterministic; primes dividing ``den`` are skipped), the charpoly of
    ``A / den`` modulo ``p`` (FLINT) is combined with the earlier ones by the Chinese
    remainder theorem, and every coefficient is rationally reconstructed
    (:func:`rational_reconstruction`). A reconstruction that the next prime confirms
    (stabilised) is a candidate ``f``, accepted only when ``f(matrix) e == 0`` holds exactly
    for ``e`` the unit vector at ``index`` (Horner's rule with exact integer matrix-vector
    products). A refuted candidate is dropped and primes are added; when ``max_primes``
    primes give no accepted candidate the result is FLINT's ``matrix.charpoly()``.

    What the check proves whatever the primes: ``f`` is monic of degree d, agrees with the
    charpoly modulo the product of the primes used, and annihilates ``e``, so every eigenvalue
    reachable from ``e`` (every root of the minimal polynomial of ``e`` under ``matrix``) is a
    root of ``f``. For a multiplication matrix of a quotient ring ``Q[x]/I`` and ``e`` its
    monomial 1, that is every eigenvalue: ``f(x_i) * 1 = 0`` there means ``f(x_i)`` is in ``I``,
    so multiplication by it is zero and the minimal polynomial of the matrix divides ``f``.
    That ``f`` *equals* the charpoly (no extra factor) rests on the reconstruction: a wrong
    ``f`` would have to be the reconstruction for two successive prime products and still
    annihilate ``e``.

    Args:
        matrix: a square ``flint.fmpq_mat``.
        index: the coordinate of the unit vector checked, ``0 <= index < d``.
        max_primes: the most primes used before falling back to ``matrix.charpoly()``.

    Raises:
        ValueError: when ``matrix`` is not square.
        IndexError: when ``index`` is out of range.

    Example:
        >>> m = flint.fmpq_mat(2, 2, [flint.fmpq(1, 3), 2, 5, flint.fmpq(-7, 4)])
        >>> [str(c) for c in annihilating_charpoly(m, 0).coeffs()]
        ['-127/12', '17/12', '1']
        >>> annihilating_charpoly(m, 1) == m.charpoly()
        True
    """
    d = matrix.nrows()
    if matrix.ncols() != d:
        raise ValueError(f"expected a square matrix, got {d} x {matrix.ncols()}")
    if d == 0:
        return matrix.charpoly()  # the empty product, 1
    if not 0 <= index < d:
        raise IndexError(f"index {index} is out of range for a {d} x {d} matrix")
    numer, den_fmpz = matrix.numer_denom()
    den = int(den_fmpz)
    residues = [0] * (d + 1)  # the charpoly's coefficients modulo `modulus`, lowest first
    modulus = 1
    order = list(range(d + 1))
    candidate: list[_Fraction] | None = None
    refuted: list[list[_Fraction]] = []
    used = k = 0
    while used < max_primes:
        p = _prime(k)
        k += 1
        if den % p == 0:  # A / den has no image modulo p
            continue
        used += 1
        image = flint.nmod_mat(numer, p) * pow(den, -1, p)
        images = [int(c) for c in image.charpoly().coeffs()]
        # stabilised: the candidate agrees modulo p, so it is also the reconstruction modulo
        # modulus * p (checking that costs d products, reconstructing anew d Euclids)
        stable = candidate is not None and _agrees(candidate, images, p)
        if candidate is not None and stable and candidate not in refuted:
            if _annihilates(numer, den, index, candidate):
                return flint.fmpq_poly([flint.fmpq(n, q) for n, q in candidate])
            refuted.append(candidate)  # never checked again (it may stay stable a while)
        inverse = pow(modulus, -1, p)  # Chinese remainder theorem: residues mod modulus * p
        for i, r in enumerate(images):
            residues[i] += modulus * ((r - residues[i]) * inverse % p)
        modulus *= p
        if not stable:
            candidate = _reconstruct(residues, modulus, order)
    return matrix.charpoly()
