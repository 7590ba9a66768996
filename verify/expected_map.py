"""The expected update map iterated from the trainer's starts, with its SGD noise and bias.

The deterministic map ``theta <- P_box(theta + lr G(theta))`` that the SGD trainer follows in
expectation (``G`` a :class:`verify.reference.ReferenceField`), iterated with the trainer's step,
and the linearised SGD noise and bias propagated along it: what :mod:`verify.checks` compares a
trained run's logged path with. Split from :mod:`verify.reference`.

Example:
    >>> import numpy as np
    >>> from brud_analysis.game import Game
    >>> from verify.reference import ReferenceField
    >>> ref = ReferenceField(Game("-(x - 1)**2 - (y + 1)**2"), np.zeros((4, 2)))
    >>> run = reference_map(ref, np.zeros((1, 2)), 200, 0.1, None, 1e3, 200, 1)
    >>> np.round(run.last, 6).tolist()
    [[1.0, -1.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.reference import ReferenceField


@dataclass
class MapRun:
    """The reference map iterated from many starts.

    Attributes:
        last: ``(K, n)`` final iterate (the start, frozen, where it diverged).
        tail_mean: ``(K, n)`` mean of the last ``m`` logged iterates (the trainer's summary).
        tail_start: ``(K, n)`` the first of those logged iterates.
        diverged: ``(K,)`` non-finite or beyond ``bound``.
        path: ``(K, L + 1, n)`` the iterate at every log point, starting with the start (the
            trainer logs the same points); frozen after a divergence.
        path_variance: ``(K, L + 1, n)`` linearised SGD variance about the path (only with a
            ``batch_size``): ``P <- M P M^T + lr^2 diag(s^2) / B``, ``M`` the projected map's
            Jacobian, ``J`` and ``s^2`` re-evaluated at every log point.
        path_bias: ``(K, L + 1)`` a bound on ``|E[SGD iterate] - map iterate|`` from the
            deterministic terms, propagated with ``||M||``: curvature (``lr |G''| tr P / 2``),
            float32 rounding, the importance-weighting bias and the wall offset.
    """

    last: np.ndarray
    tail_mean: np.ndarray
    tail_start: np.ndarray
    diverged: np.ndarray
    path: np.ndarray | None = None
    path_variance: np.ndarray | None = None
    path_bias: np.ndarray | None = None


# float32 rounding of one trainer update, in units of eps * (|theta| + lr |G|): the update,
# the gradient's sum over a batch and the projection each round once (a few ulps in all).
_ROUNDING_ULPS = 4.0
_FLOAT32_EPS = float(np.finfo(np.float32).eps)


# Largest change of the linearised map ``M = I + lr J`` over one log interval (``lr |G''|``
# times the path's movement) for which ``M`` is held fixed over the interval; beyond it (and
# always for a decoupled field, whose Jacobian is cheap) ``M`` is re-evaluated at every step.
JACOBIAN_CHANGE_LIMIT = 0.05


def _noise_terms(ref: ReferenceField, theta: np.ndarray, cov: np.ndarray, lr: float,
                 clip: float | None, batch: int):
    """One step's linearised noise terms at the reference iterates ``theta`` ``(K, n)``:
    ``M`` (rows of coordinates pinned on a wall zeroed), the noise ``q = lr^2 s^2 / B``, the
    deterministic per-step extras (importance bias, wall offset), ``||M||``, float32 rounding
    and the step length ``lr |G|`` (for the Jacobian-change criterion)."""
    n = theta.shape[1]
    safe = np.where(np.isfinite(theta), theta, 0.0)
    drift = ref.field_many(safe)
    m = np.eye(n)[None] + lr * ref.jacobian_many(
        safe, np.sqrt(np.maximum(cov[:, range(n), range(n)], 0.0)))
    s2, is_bias = ref.noise_many(safe, batch)
    q = lr * lr * s2 / batch
    extra = lr * np.linalg.norm(is_bias, axis=1)
    if clip is not None:  # a coordinate pushed outwards stays on the wall
        pinned = np.abs(safe + lr * drift) >= clip
        m[pinned] = 0.0
        # SGD rests inside the wall by the reflected walk's mean offset
        offset = lr * s2 / (2 * batch * np.maximum(np.abs(drift), 1e-300))
        extra = extra + np.linalg.norm(np.where(pinned, offset, 0.0), axis=1)
    norm_m = np.linalg.norm(m, ord=2, axis=(1, 2))
    rounding = _ROUNDING_ULPS * _FLOAT32_EPS * (
        np.max(np.abs(safe), axis=1) + lr * np.max(np.abs(drift), axis=1))
    return m, q, extra, norm_m, rounding, lr * np.linalg.norm(drift, axis=1)


def reference_map(ref: ReferenceField, starts: np.ndarray, steps: int, lr: float,
                  clip: float | None, bound: float, log_every: int, tail_points: int,
                  batch_size: int | None = None, noise_runs: int | None = None) -> MapRun:
    """Iterate ``theta <- clip(theta + lr G(theta))`` (SGD's mean map) ``steps`` times.

    With ``batch_size`` also propagate SGD's linearised noise and deterministic bias along the
    path (``MapRun.path_variance``, ``path_bias``), for the trajectory check: for the first
    ``noise_runs`` starts only, if given (one pass gives the plain reference for every start
    and the noise for those; the per-step cost is mostly Python overhead, not array size).

    Example:
        >>> import numpy as np
        >>> from brud_analysis.game import Game
        >>> ref = ReferenceField(Game("-x**2 - y**2 + x*y"), np.array([[1.0, 1.0]]))
        >>> run = reference_map(ref, np.zeros((1, 2)), 200, 0.1, None, 1e3, 10, 5)
        >>> np.round(run.last, 4).tolist()     # g = -2 theta + 1
        [[0.5, 0.5]]
    """
    theta = np.asarray(starts, dtype=np.float64).copy()
    k, n = theta.shape
    n_logs = steps // log_every
    diverged = np.zeros(k, bool)
    tail_sum = np.zeros_like(theta)
    tail_start = np.full_like(theta, np.nan)
    first_tail_log = n_logs - tail_points + 1
    path = np.empty((k, n_logs + 1, n))
    path[:, 0] = theta
    noisy = batch_size is not None
    batch = batch_size or 1
    # Without noise the map is deterministic: a start that one step leaves exactly where it
    # is (a float fixed point; contracting paths reach one within a few hundred steps) stays
    # there, so it is not evaluated again (the same iterates, at a fraction of the cost).
    moving = np.ones(k, bool)
    kn = k if noise_runs is None else min(k, noise_runs)
    if noisy:
        cov = np.zeros((kn, n, n))
        bias = np.zeros(kn)
        path_var = np.zeros((kn, n_logs + 1, n))
        path_bias = np.zeros((kn, n_logs + 1))
        # A coupled field's curvature costs 4 n^2 field evaluations per point: every few logs.
        curv_every = 1 if ref.decoupled else max(1, n_logs // 20)
        curv = np.zeros(k)
    with np.errstate(all="ignore"):
        for log in range(1, n_logs + 1):
            if noisy:
                if (log - 1) % curv_every == 0:
                    curv = ref.curvature_many(np.where(np.isfinite(theta[:kn]), theta[:kn], 0.0))
                m, q, extra, norm_m, rounding, move = _noise_terms(
                    ref, theta[:kn], cov, lr, clip, batch)
                # Path-local: M is held for the log interval only where it changes little
                # over it (lr |G''| x the interval's movement); an oscillating path (near a
                # period doubling, M ~ -1) alternates between points whose M differ a lot,
                # and a frozen M there gets the two-step contraction wrong (session 9's
                # calibration draw 80: M = -0.82 held where the true product is +0.96).
                per_step = ref.decoupled or bool(np.any(
                    lr * curv * move * (log_every - 1) > JACOBIAN_CHANGE_LIMIT))
            for step in range(log_every):
                if noisy:
                    if per_step and step:
                        m, q, extra, norm_m, rounding, _ = _noise_terms(
                            ref, theta[:kn], cov, lr, clip, batch)
                        if ref.decoupled:  # cheap: the curvature where the step starts
                            curv = ref.curvature_many(
                                np.where(np.isfinite(theta[:kn]), theta[:kn], 0.0))
                    # M cov M^T (batched matmul: 3x faster here than the 3-operand einsum)
                    cov = m @ cov @ m.transpose(0, 2, 1)
                    cov[:, range(n), range(n)] += q
                    bias = (norm_m * bias + lr * curv * np.trace(cov, axis1=1, axis2=2) / 2
                            + rounding + extra)
                live = ~diverged & moving
                if not live.any():  # every start diverged or at rest: the map is the identity
                    continue
                new = theta[live] + lr * ref.field_many(theta[live])
                if clip is not None:
                    new = np.clip(new, -clip, clip)
                bad = ~np.all(np.isfinite(new), axis=1) | (np.max(np.abs(new), axis=1) > bound)
                idx = np.flatnonzero(live)
                diverged[idx[bad]] = True
                if not noisy:  # a start the step leaves bit-for-bit in place stays there
                    moving[idx[~bad]] = ~np.all(new[~bad] == theta[idx[~bad]], axis=1)
                theta[idx[~bad]] = new[~bad]
            path[:, log] = theta
            if noisy:
                path_var[:, log] = cov[:, range(n), range(n)]
                path_bias[:, log] = bias
            if log >= first_tail_log:
                tail_sum += theta
                if log == first_tail_log:
                    tail_start = theta.copy()
            if diverged.all():
                path[:, log + 1:] = theta[:, None]
                if noisy:
                    path_var[:, log + 1:] = np.inf
                    path_bias[:, log + 1:] = np.inf
                break
    return MapRun(theta, tail_sum / tail_points, tail_start, diverged, path,
                  path_var if noisy else None, path_bias if noisy else None)


def first_runs(run: MapRun, count: int) -> MapRun:
    """The same :class:`MapRun` restricted to its first ``count`` starts (those with noise).

    Example:
        >>> run = MapRun(np.zeros((3, 1)), np.zeros((3, 1)), np.zeros((3, 1)), np.zeros(3, bool))
        >>> first_runs(run, 2).last.shape
        (2, 1)
    """
    def cut(a):
        return None if a is None else a[:count]

    return MapRun(run.last[:count], run.tail_mean[:count], run.tail_start[:count],
                  run.diverged[:count], cut(run.path), cut(run.path_variance),
                  cut(run.path_bias))


def path_variance(ref: ReferenceField, starts: np.ndarray, steps: int, lr: float,
                  batch_size: int, log_every: int, tail_points: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Linearised SGD noise along the reference map from each start.

    Propagates the covariance of (SGD iterate - reference iterate),
    ``P <- M P M^T + lr^2 diag(s^2) / B`` with ``M = I + lr J``, ``J`` and ``s^2`` re-evaluated
    at every log point along the reference path (piecewise constant in between). Away from an
    attractor this is what the stationary formula cannot give; near a saddle the linearisation
    over-estimates the spread (the real dynamics saturate), so it errs on the wide side.

    Returns:
        ``(K,)`` the largest ``trace P`` over the tail's log points, and ``(K,)`` ``trace P``
        after the last step.

    Example:
        >>> import numpy as np
        >>> from brud_analysis.game import Game
        >>> ref = ReferenceField(Game("x*y"), np.array([[1.0, -1.0], [-1.0, 1.0]]))
        >>> tail, last = path_variance(ref, np.zeros((1, 2)), 100, 0.1, 1, 10, 2)
        >>> round(float(last[0]), 6)      # constant field: 100 * lr^2 * (1 + 1)
        2.0
    """
    theta = np.asarray(starts, dtype=np.float64).copy()
    k, n = theta.shape
    cov = np.zeros((k, n, n))
    tail_max = np.zeros(k)
    first_tail_log = steps // log_every - tail_points + 1
    eye = np.eye(n)
    with np.errstate(all="ignore"):
        for log in range(1, steps // log_every + 1):
            jac = ref.jacobian_many(theta)                                  # (K, n, n)
            noise = ref.noise_many(theta, batch_size)[0]  # = variance_bound, vectorised
            noise = noise * lr * lr / batch_size
            m = eye[None] + lr * jac
            for _ in range(log_every):
                cov = m @ cov @ m.transpose(0, 2, 1)
                cov[:, range(n), range(n)] += noise
                theta = theta + lr * ref.field_many(theta)
            trace = np.trace(cov, axis1=1, axis2=2)
            if log >= first_tail_log:
                tail_max = np.maximum(tail_max, trace)
    bad = ~np.isfinite(tail_max)
    tail_max[bad] = np.inf
    return tail_max, np.where(np.isfinite(trace), trace, np.inf)
