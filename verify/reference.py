"""An independent NumPy reference for the update the trainer runs, and what it predicts.

:mod:`verify.polygames` trains with a JAX autodiff gradient. To check it with something it does
not share, this module rebuilds the *expected* update from the symbolic core: each ``dR/da_i`` is
differentiated by SymPy and ``lambdify``-ed to NumPy (never JAX), the uniform BRUD field of a
finite dataset is its moment-substituted polynomial (docs/theory.md, "The BRUD-induced field"),
and the PJAP field is the exact finite sum over the dataset with the sampler's probabilities
(docs/theory.md, "PJAP"). From it:

* :class:`ReferenceField`: the expected update ``G(theta)``, its Jacobian, the per-sample
  gradient variance under the sampler (with importance weights: the self-normalised
  estimator's variance and bias, estimated by simulating the sampler in NumPy), in float64.
* :func:`verify.expected_map.reference_map` (its own module): the deterministic map
  ``theta <- P_box(theta + lr G(theta))`` the SGD trainer follows in expectation, iterated from
  the trainer's starts with the trainer's step.
* :func:`~verify.orbits.agent_orbits` (re-exported here, in :mod:`verify.orbits`): for the
  decoupled BRUD field, every fixed point and period-2 orbit of one agent's projected SGD map.

Example:
    >>> import numpy as np
    >>> from brud_analysis.game import Game
    >>> ref = ReferenceField(Game("-(x - y)**2"), np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> ref.field(np.zeros(2)).tolist()   # (2 mean_y, 2 mean_x)
    [6.0, 4.0]
"""

from __future__ import annotations

import math

import numpy as np
import sympy
from numpy.polynomial import Polynomial
from numpy.polynomial.polynomial import polyval

from brud_analysis.data import Empirical
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from verify.orbits import Orbit, agent_orbits
from verify.sampling import PJAPConfig

__all__ = ["IS_BATCHES", "Orbit", "ReferenceField", "agent_orbits"]

# Batches simulated to estimate the importance-weighted minibatch noise at a point.
IS_BATCHES = 4000


def _poly_in(expr: sympy.Expr, symbol: sympy.Symbol) -> Polynomial:
    coeffs = sympy.Poly(sympy.expand(expr), symbol).all_coeffs()[::-1]
    return Polynomial(np.array([float(c) for c in coeffs], dtype=float))


class ReferenceField:
    """The trainer's expected update for one finite dataset, in NumPy from SymPy.

    Args:
        game: numeric polynomial game.
        dataset: ``(N, n)`` joint actions (the float32 values the trainer sees).
        pjap: PJAP sampler, or ``None`` for uniform minibatches.

    Attributes:
        decoupled: the expected update is the uniform BRUD field (no PJAP, or PJAP with
            importance weights), so ``g_i`` depends on ``theta_i`` only.
        polys: per agent, ``g_i`` as a NumPy polynomial in ``theta_i`` (decoupled only).

    Example:
        >>> import numpy as np
        >>> from brud_analysis.catalogue import twin_peaks
        >>> ref = ReferenceField(twin_peaks(), np.full((4, 2), 0.5))
        >>> round(float(ref.polys[0].roots()[0]), 4)     # 2.5 / (2 + 8 * 0.25)
        0.625
    """

    def __init__(self, game: Game, dataset: np.ndarray, pjap: PJAPConfig | None = None,
                 regulariser=None) -> None:
        game.require_numeric()
        self.game, self.pjap, self.regulariser = game, pjap, regulariser
        # beyond the paper: -dP/dtheta(theta_i, a_i) of a policy penalty, from SymPy too
        self.penalty = None
        if regulariser is not None:
            from brud_analysis.regularisers import ACTION, THETA

            self.penalty = sympy.lambdify((THETA, ACTION), regulariser.gradient_term(), "numpy")
        self.rows = np.asarray(dataset, dtype=np.float64)
        self.n = game.n_agents
        self.grads = [sympy.lambdify(game.agents, g, modules="numpy") for g in game.gradient]
        self.decoupled = pjap is None or pjap.importance_weights
        self._is_cache: dict = {}
        self._p_key: tuple | None = None  # probabilities(): the last points and answer
        self._p_last = np.empty((0, 0))
        self.polys: list[Polynomial] = []
        if self.decoupled:
            field = brud_field(game, Empirical(self.rows), regulariser)
            self.polys = [_poly_in(f, a) for f, a in zip(field, game.agents, strict=True)]
        # Coefficients (low to high) of g_i, g_i', g_i'' for the vectorised decoupled paths.
        self._coef = [[p.deriv(d).coef for p in self.polys] for d in range(3)]
        # Uniform sampling: each row's dR/da_i is a polynomial in theta_i whose coefficients
        # depend on the row, so the per-sample variance is exactly v(theta)^T Cov v(theta),
        # v = (1, theta_i, theta_i^2, ...): no pass over the rows per point.
        self._row_cov = (self._row_coefficient_covariances()
                         if pjap is None and regulariser is None else None)
        # Each row's gradient (penalty included) as a polynomial in theta_i: per agent the
        # rows' coefficients (N, d + 1), low to high; the per-sample gradients at K points are
        # then one (K, d + 1) x (d + 1, N) product and the PJAP field p @ C (no pass over the
        # rows' symbolic gradient per point).
        self._row_coef = None if self._row_cov is not None else self._row_coefficients()
        if pjap is None and self._row_coef is not None:  # uniform with a penalty: the same
            self._row_cov = [_population_covariance(c) for c in self._row_coef]

    def _row_coefficient_covariances(self) -> list[np.ndarray]:
        """Per agent, the covariance over the rows (population, as the sampler's
        probabilities) of the coefficients of ``dR/da_i`` in ``theta_i``, low to high."""
        out = []
        for i, (g, a) in enumerate(zip(self.game.gradient, self.game.agents, strict=True)):
            coeffs = sympy.Poly(sympy.expand(g), a).all_coeffs()[::-1]
            others = [b for j, b in enumerate(self.game.agents) if j != i]
            cols = [self.rows[:, j] for j in range(self.n) if j != i]
            values = np.stack([np.broadcast_to(np.asarray(
                sympy.lambdify(others, c, modules="numpy")(*cols), dtype=np.float64),
                (self.rows.shape[0],)) for c in coeffs], axis=1)        # (N, d + 1)
            out.append(_population_covariance(values))
        return out

    def _row_coefficients(self) -> list[np.ndarray]:
        """Per agent, the coefficients ``(N, d + 1)`` (low to high) in ``theta_i`` of each
        row's ``dR/da_i(theta_i, row_-i)`` plus the penalty term ``-dP/dtheta(theta_i, a_i)``."""
        out = []
        theta = sympy.Dummy("theta")
        penalty: sympy.Expr = sympy.Integer(0)
        if self.regulariser is not None:
            from brud_analysis.regularisers import ACTION, THETA

            penalty = self.regulariser.gradient_term().subs(THETA, theta)
        for g, a in zip(self.game.gradient, self.game.agents, strict=True):
            # the row's own action a_i enters the penalty
            expr = g.subs(a, theta) + penalty.subs(ACTION, a) if penalty != 0 else g.subs(a, theta)
            coeffs = sympy.Poly(sympy.expand(expr), theta).all_coeffs()[::-1]
            cols = [self.rows[:, j] for j in range(self.n)]
            out.append(np.stack([np.broadcast_to(np.asarray(
                sympy.lambdify(self.game.agents, c, modules="numpy")(*cols), dtype=np.float64),
                (self.rows.shape[0],)) for c in coeffs], axis=1))
        return out

    # ------------------------------------------------------------------ per-sample pieces
    def per_sample(self, thetas: np.ndarray) -> np.ndarray:
        """``dR/da_i(theta_i, row_-i)`` for ``thetas`` ``(K, n)``: ``(K, N, n)``."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=np.float64))
        out = np.empty((thetas.shape[0], self.rows.shape[0], self.n))
        if self._row_coef is not None:
            for i, coef in enumerate(self._row_coef):
                out[:, :, i] = (thetas[:, i:i + 1] ** np.arange(coef.shape[1])) @ coef.T
            return out
        for i in range(self.n):
            cols = [thetas[:, i:i + 1] if j == i else self.rows[None, :, j]
                    for j in range(self.n)]
            out[:, :, i] = np.broadcast_to(self.grads[i](*cols), out.shape[:2])
            if self.penalty is not None:  # the row's own action a_i enters the penalty
                out[:, :, i] += np.broadcast_to(self.penalty(thetas[:, i:i + 1],
                                                             self.rows[None, :, i]), out.shape[:2])
        return out

    def probabilities(self, thetas: np.ndarray) -> np.ndarray:
        """Sampling probabilities of the data rows at ``thetas`` ``(K, n)``: ``(K, N)``
        (read-only: the last answer is kept, since one step of the reference map asks for the
        same points' probabilities three times: drift, noise and the step itself)."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=np.float64))
        key = (thetas.shape, thetas.tobytes())
        if key == self._p_key:
            return self._p_last
        p = self._probabilities(thetas)
        p.flags.writeable = False
        self._p_key, self._p_last = key, p
        return p

    def _probabilities(self, thetas: np.ndarray) -> np.ndarray:
        k, n_rows = thetas.shape[0], self.rows.shape[0]
        if self.pjap is None:
            return np.full((k, n_rows), 1.0 / n_rows)
        # One coordinate at a time, in place: the same sums (a + b, ...) as over a (K, N, n)
        # gap array, without its temporaries (5x less CPU at 64 x 1000). Not the expanded
        # square 2 c a.theta - c |a|^2 - c |theta|^2 (one product, 0.1 ms less per 64 x 1000):
        # far from the data it rounds differently, and a chaotic transient then ends elsewhere.
        gap = np.empty((k, n_rows))
        d = np.zeros((k, n_rows))
        for j in range(self.n):
            np.subtract(self.rows[None, :, j], thetas[:, j:j + 1], out=gap)
            if self.pjap.distance == "l1":
                d += np.abs(gap, out=gap)
            else:
                d += np.multiply(gap, gap, out=gap)
        if self.pjap.distance == "l1":
            d *= d
        w = self.pjap.exponent
        # priority**w = max(exp(-w alpha d^2), eps**w), as the trainer's sampler draws.
        logs = np.multiply(d, -w * self.pjap.alpha, out=d)
        if self.pjap.eps > 0:
            np.maximum(logs, w * math.log(self.pjap.eps), out=logs)
        logs -= logs.max(axis=1, keepdims=True)  # float64 and shifted: never all zero
        p = np.exp(logs, out=logs)
        p /= p.sum(axis=1, keepdims=True)
        return p

    # ------------------------------------------------------------------ the expected update
    def field(self, theta: np.ndarray) -> np.ndarray:
        """``G(theta)`` ``(n,)``, the expected update direction."""
        return self.field_many(np.asarray(theta, dtype=np.float64)[None])[0]

    def field_many(self, thetas: np.ndarray) -> np.ndarray:
        """``G`` at many points ``(K, n) -> (K, n)``."""
        thetas = np.asarray(thetas, dtype=np.float64)
        if self.decoupled:
            return np.stack([polyval(thetas[:, i], c) for i, c in enumerate(self._coef[0])],
                            axis=-1)
        out = np.empty_like(thetas)
        for s in range(0, thetas.shape[0], 64):  # bounded (K, N) temporaries
            chunk = thetas[s:s + 64]
            out[s:s + 64] = self._field_at(self.probabilities(chunk), chunk)
        return out

    def _field_at(self, p: np.ndarray, thetas: np.ndarray) -> np.ndarray:
        """``G`` ``(K, n)`` at ``thetas`` ``(K, n)`` whose sampling probabilities are ``p``."""
        if self._row_coef is None:
            return np.einsum("kb,kbi->ki", p, self.per_sample(thetas))
        out = np.empty_like(thetas)
        for i, coef in enumerate(self._row_coef):  # E_p[coefficients], then the powers
            out[:, i] = np.sum((p @ coef) * thetas[:, i:i + 1] ** np.arange(coef.shape[1]),
                               axis=1)
        return out

    def _shifted_jacobian(self, thetas: np.ndarray, h: np.ndarray) -> np.ndarray | None:
        """Central differences of ``G`` with steps ``h`` ``(K, n)``, for the squared-L2 kernel
        without a floor: there ``log w_k(theta + t e_j) = log w_k(theta) + 2 c t (a_kj -
        theta_j) - c t^2`` (``c = w alpha``), and the last term is the same for every row, so
        the shifted probabilities are ``p`` times ``exp(+-2 c h (a_kj - theta_j))``,
        renormalised: one ``exp`` per coordinate instead of two full evaluations. ``None``
        where that does not apply (or a factor could overflow): the caller evaluates directly."""
        pj = self.pjap
        if (pj is None or pj.importance_weights or pj.distance != "l2" or pj.eps > 0
                or self._row_coef is None):
            return None
        c = pj.exponent * pj.alpha
        k, n = thetas.shape
        # the largest |2 c h (a_kj - theta_j)|: exp stays far from overflow below 300
        reach = np.abs(self.rows).max(axis=0)[None] + np.abs(thetas)
        if not np.all(2 * c * h * reach < 300):
            return None
        out = np.empty((k, n, n))
        for s in range(0, k, 64):  # bounded (K, N) temporaries, as field_many
            th, hh = thetas[s:s + 64], h[s:s + 64]
            p = self.probabilities(th)
            # in place: fresh (64, N) arrays each call cost page faults comparable to exp
            up, plus, minus = (np.empty_like(p) for _ in range(3))
            for j in range(n):
                np.subtract(self.rows[None, :, j], th[:, j:j + 1], out=up)
                up *= 2 * c * hh[:, j:j + 1]
                np.exp(up, out=up)
                np.multiply(p, up, out=plus)
                np.divide(p, up, out=minus)
                plus /= plus.sum(axis=1, keepdims=True)
                minus /= minus.sum(axis=1, keepdims=True)
                step = np.zeros_like(th)
                step[:, j] = hh[:, j]
                out[s:s + 64, :, j] = ((self._field_at(plus, th + step)
                                        - self._field_at(minus, th - step))
                                       / (2 * hh[:, j:j + 1]))
        return out  # [k, i, j] = dG_i/dx_j

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """``dG/dtheta`` ``(n, n)``: exact (diagonal) when decoupled, else central differences."""
        theta = np.asarray(theta, dtype=np.float64)
        if self.decoupled:
            return np.diag([self.polys[i].deriv()(theta[i]) for i in range(self.n)])
        return _central(self.field, theta)

    def jacobian_many(self, thetas: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
        """:meth:`jacobian` at many points ``(K, n) -> (K, n, n)`` (one vectorised pass).

        ``scale`` ``(K, n)``: for a coupled field, the central-difference step is at least
        this (the SGD spread about the point): an L1 PJAP field has a kink at every data row,
        so the slope SGD feels is the one averaged over its spread, not the pointwise one."""
        thetas = np.asarray(thetas, dtype=np.float64)
        k, n = thetas.shape
        if self.decoupled:
            out = np.zeros((k, n, n))
            for i, c in enumerate(self._coef[1]):
                out[:, i, i] = polyval(thetas[:, i], c)
            return out
        h = 6e-6 * (1.0 + np.abs(thetas))                                    # (K, n)
        if scale is not None:
            h = np.maximum(h, np.nan_to_num(scale, nan=0.0, posinf=0.0))
        fast = self._shifted_jacobian(thetas, h)
        if fast is not None:
            return fast
        shift = np.eye(n)[None] * h[:, :, None]                              # (K, n, n)
        plus = self.field_many((thetas[:, None] + shift).reshape(-1, n)).reshape(k, n, n)
        minus = self.field_many((thetas[:, None] - shift).reshape(-1, n)).reshape(k, n, n)
        return np.swapaxes((plus - minus) / (2 * h[:, :, None]), 1, 2)  # [k, i, j] = dG_i/dx_j

    def curvature_many(self, thetas: np.ndarray) -> np.ndarray:
        """:meth:`curvature` at many points ``(K, n) -> (K,)``."""
        thetas = np.asarray(thetas, dtype=np.float64)
        if self.decoupled:
            return np.max(np.abs(np.stack([polyval(thetas[:, i], c)
                                           for i, c in enumerate(self._coef[2])], axis=-1)),
                          axis=-1)
        k, n = thetas.shape
        h = 1e-4 * (1.0 + np.abs(thetas))
        shift = np.eye(n)[None] * h[:, :, None]
        plus = self.jacobian_many((thetas[:, None] + shift).reshape(-1, n)).reshape(k, n, n, n)
        minus = self.jacobian_many((thetas[:, None] - shift).reshape(-1, n)).reshape(k, n, n, n)
        return np.max(np.abs(plus - minus).reshape(k, -1), axis=1) / (2 * np.min(h, axis=1))

    def noise_many(self, thetas: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample variance ``(K, n)`` (as :meth:`variance_bound`) and a bound ``(K, n)`` on
        the minibatch mean's bias against :meth:`field` (zero unless importance-weighted: the
        delta method's ``|E_p[w^2 (g - G)]| / B`` of the self-normalised estimator) at many
        points, vectorised: the trajectory check evaluates them all along the reference path."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=np.float64))
        if self._row_cov is not None:  # uniform sampling: exact, from the coefficients
            var = np.stack([np.einsum("kj,jl,kl->k", v, cov, v) for v, cov in (
                (thetas[:, i:i + 1] ** np.arange(len(cov)), cov)
                for i, cov in enumerate(self._row_cov))], axis=-1)
            return np.maximum(var, 0.0), np.zeros_like(var)
        p = self.probabilities(thetas)                                      # (K, N)
        if self._row_coef is not None and (self.pjap is None
                                           or not self.pjap.importance_weights):
            var = np.empty_like(thetas)  # per agent, in place: no (K, N, n) temporaries
            for i, coef in enumerate(self._row_coef):
                g_i = (thetas[:, i:i + 1] ** np.arange(coef.shape[1])) @ coef.T  # (K, N)
                g_i -= np.einsum("kb,kb->k", p, g_i)[:, None]
                var[:, i] = np.einsum("kb,kb->k", p, np.multiply(g_i, g_i, out=g_i))
            return var, np.zeros_like(var)
        g = self.per_sample(thetas)                                         # (K, N, n)
        if self.pjap is None or not self.pjap.importance_weights:
            mean = np.einsum("kb,kbi->ki", p, g)
            var = np.einsum("kb,kbi->ki", p, (g - mean[:, None]) ** 2)
            return var, np.zeros_like(var)
        w = 1.0 / (p.shape[1] * p)
        q = p * w * w                                                       # (K, N)
        var, bias = np.empty_like(thetas), np.empty_like(thetas)
        for i in range(self.n):  # per agent: (K, N) temporaries, not (K, N, n)
            centred = g[:, :, i] - np.mean(g[:, :, i], axis=1, keepdims=True)
            qc = q * centred
            bias[:, i] = np.abs(np.sum(qc, axis=1)) / batch_size
            var[:, i] = np.sum(qc * centred, axis=1)
        return var, bias

    def curvature(self, theta: np.ndarray) -> float:
        """``max |d^2 G_i / dtheta_j dtheta_k|`` at ``theta`` (for the O(lr) noise bias)."""
        theta = np.asarray(theta, dtype=np.float64)
        if self.decoupled:
            return float(max(abs(self.polys[i].deriv(2)(theta[i])) for i in range(self.n)))
        return float(np.max(np.abs(_central(self.jacobian, theta))))

    def variance(self, theta: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Per-sample variance ``(n,)`` of the minibatch gradient under the sampler: the batch
        mean's variance times ``B``.

        Uniform or PJAP sampling: the variance of one row's gradient under the sampling
        probabilities (exact). With importance weights the trainer's ``sum w g / sum w`` is a
        self-normalised estimator whose weights ``1 / (N p)`` are heavy-tailed (a rarely drawn
        far row gets a huge weight and then dominates its batch): the delta-method variance
        ``E_p[w^2 (g - G)^2] / B`` over-estimated the real spread about 4x at alpha = 16, B =
        64, so it is *estimated* instead, by simulating :data:`IS_BATCHES` batches of the
        sampler in NumPy at ``theta`` (independent of the trainer's JAX code).
        """
        theta = np.asarray(theta, dtype=np.float64)
        if self.pjap is not None and self.pjap.importance_weights:
            return self._importance_moments(theta, batch_size)[1] * batch_size
        g = self.per_sample(theta)[0]  # (N, n)
        p = self.probabilities(theta)[0]
        mean = p @ g
        return p @ (g - mean) ** 2

    def variance_bound(self, theta: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """:meth:`variance`, but with importance weights the delta-method value
        ``E_p[w^2 (g - G)^2]`` (cheap, and it over-estimates the heavy-tailed real spread)."""
        if self.pjap is None or not self.pjap.importance_weights:
            return self.variance(theta, batch_size)
        theta = np.asarray(theta, dtype=np.float64)
        g = self.per_sample(theta)[0]
        p = self.probabilities(theta)[0]
        w = 1.0 / (len(p) * p)
        return p @ (w[:, None] ** 2 * (g - np.mean(g, axis=0)) ** 2)

    def importance_bias(self, theta: np.ndarray, batch_size: int) -> np.ndarray:
        """Bias ``(n,)`` of the importance-weighted batch mean against the uniform field, as
        simulated (plus 4 Monte Carlo standard errors in magnitude, so it is an upper bound);
        zero without importance weights."""
        if self.pjap is None or not self.pjap.importance_weights:
            return np.zeros(self.n)
        mean, var = self._importance_moments(np.asarray(theta, dtype=np.float64), batch_size)
        bias = mean - self.field(theta)
        return np.sign(bias) * (np.abs(bias) + 4 * np.sqrt(var / IS_BATCHES))

    def _importance_moments(self, theta: np.ndarray, batch_size: int
                            ) -> tuple[np.ndarray, np.ndarray]:
        key = (tuple(np.round(theta, 12)), batch_size)
        if key not in self._is_cache:
            g = self.per_sample(theta)[0]
            p = self.probabilities(theta)[0]
            idx = _sampler_draws(p, batch_size)  # fixed: the same estimate for the same point
            w = 1.0 / (len(p) * np.take(p, idx))
            est = np.einsum("mb,mbi->mi", w, np.take(g, idx, axis=0)) / w.sum(axis=1,
                                                                              keepdims=True)
            self._is_cache[key] = (est.mean(axis=0), est.var(axis=0, ddof=1))
        return self._is_cache[key]


# Per batch size: the uniforms of np.random.default_rng(0).random((IS_BATCHES, B)), flattened
# and sorted, and the order that sorts them (see _sampler_draws).
_SORTED_UNIFORMS: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_SORTED_UNIFORMS_KEPT = 4  # batch sizes kept (a verification uses one or two)


def _sampler_draws(p: np.ndarray, batch_size: int) -> np.ndarray:
    """``np.random.default_rng(0).choice(len(p), size=(IS_BATCHES, batch_size), p=p)``, the
    same integers, about 2x faster: NumPy's ``choice`` maps each uniform ``u`` of that
    generator's ``random(size)`` to ``cdf.searchsorted(u, side="right")`` (``cdf`` the cumulative
    sum of ``p`` divided by its last entry); with the uniforms sorted once, the rows' boundaries
    are found among them (N searches, not IS_BATCHES * B) and the counts put back in draw
    order. A ``p`` that is not float64, whose sum is not within 1e-9 of 1 or with a negative or
    non-finite entry goes to ``choice`` itself, which validates it. tests/test_reference.py
    checks the equality.

    Example:
        >>> p = np.array([0.2, 0.0, 0.5, 0.3])
        >>> want = np.random.default_rng(0).choice(4, size=(IS_BATCHES, 8), p=p)
        >>> bool(np.array_equal(_sampler_draws(p, 8), want))
        True
    """
    given = np.asarray(p)
    p = given.astype(np.float64)
    # choice validates p at its own dtype's tolerance (looser for float32): give it the
    # caller's array whenever the shortcut does not apply
    if not (given.dtype == np.float64 and np.all(np.isfinite(p)) and np.all(p >= 0)
            and abs(float(np.sum(p)) - 1) <= 1e-9):
        return np.random.default_rng(0).choice(len(p), size=(IS_BATCHES, batch_size), p=given)
    if batch_size not in _SORTED_UNIFORMS:
        if len(_SORTED_UNIFORMS) >= _SORTED_UNIFORMS_KEPT:  # ~64 kB x batch_size each
            _SORTED_UNIFORMS.clear()
        u = np.random.default_rng(0).random((IS_BATCHES, batch_size)).ravel()
        order = np.argsort(u, kind="stable")
        _SORTED_UNIFORMS[batch_size] = (u[order], order)
    u_sorted, order = _SORTED_UNIFORMS[batch_size]
    cdf = p.cumsum()
    cdf /= cdf[-1]
    # row of the r-th smallest uniform: #{j : cdf_j <= u}, and u_(r) >= cdf_j iff r >= the
    # number of uniforms below cdf_j
    below = np.searchsorted(u_sorted, cdf, side="left")
    rows = np.cumsum(np.bincount(below, minlength=len(u_sorted) + 1)[:len(u_sorted)])
    idx = np.empty(len(u_sorted), np.int64)
    idx[order] = rows
    return idx.reshape(IS_BATCHES, batch_size)


def _population_covariance(values: np.ndarray) -> np.ndarray:
    """Covariance ``(d, d)`` over the rows of ``values`` ``(N, d)``, divisor ``N`` (the
    uniform sampler's probabilities).

    Example:
        >>> _population_covariance(np.array([[0.0, 1.0], [2.0, 1.0]])).tolist()
        [[1.0, 0.0], [0.0, 0.0]]
    """
    centred = values - values.mean(axis=0)
    return centred.T @ centred / values.shape[0]


def _central(f, x: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of ``f: (n,) -> (...)`` at ``x``, step ~ cbrt(eps)."""
    cols = []
    for k in range(len(x)):
        h = 6e-6 * (1.0 + abs(x[k]))
        e = np.zeros_like(x)
        e[k] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)
