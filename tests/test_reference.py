"""verify.reference's fast paths against the direct formulas they replace."""

from __future__ import annotations

import numpy as np
import pytest

from brud_analysis.catalogue import twin_peaks
from brud_analysis.regularisers import bc
from verify.reference import ReferenceField
from verify.sampling import PJAPConfig

ROWS = np.random.default_rng(3).normal(0.4, 0.8, size=(300, 2))
THETAS = np.random.default_rng(4).normal(0.0, 0.6, size=(70, 2))  # > 64: two chunks


def _direct_probabilities(rows, thetas, pj):
    gap = rows[None] - thetas[:, None]
    d = (np.sum(np.abs(gap), -1) ** 2 if pj.distance == "l1" else np.sum(gap * gap, -1))
    logs = -pj.exponent * pj.alpha * d
    if pj.eps > 0:
        logs = np.maximum(logs, pj.exponent * np.log(pj.eps))
    p = np.exp(logs - logs.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("pj", [PJAPConfig(alpha=4.0, eps=0.0, distance="l2"),
                                PJAPConfig(alpha=16.0, eps=1e-3, distance="l2"),
                                PJAPConfig(alpha=16.0, eps=1e-3, distance="l1")])
def test_probabilities_match_the_direct_formula(pj):
    ref = ReferenceField(twin_peaks(), ROWS, pj)
    got = ref.probabilities(THETAS)
    np.testing.assert_allclose(got, _direct_probabilities(ROWS, THETAS, pj), rtol=1e-11,
                               atol=1e-300)
    # the kept answer is for these points only, and read-only
    assert not got.flags.writeable
    other = ref.probabilities(THETAS + 0.1)  # same shape, other points
    np.testing.assert_allclose(other, _direct_probabilities(ROWS, THETAS + 0.1, pj),
                               rtol=1e-11, atol=1e-300)


@pytest.mark.parametrize("reg", [None, bc(1.0)])
def test_shifted_jacobian_matches_central_differences(reg):
    pj = PJAPConfig(alpha=4.0, eps=0.0, distance="l2")
    ref = ReferenceField(twin_peaks(1, 4, 5), ROWS, pj, reg)
    scale = np.abs(np.random.default_rng(5).normal(0, 0.05, size=THETAS.shape))
    h = np.maximum(6e-6 * (1.0 + np.abs(THETAS)), scale)
    fast = ref._shifted_jacobian(THETAS, h)
    assert fast is not None  # the shortcut applies to this kernel
    direct = np.empty_like(fast)
    for j in range(2):
        step = np.zeros_like(THETAS)
        step[:, j] = h[:, j]
        direct[:, :, j] = ((ref.field_many(THETAS + step) - ref.field_many(THETAS - step))
                           / (2 * h[:, j:j + 1]))
    np.testing.assert_allclose(fast, direct, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ref.jacobian_many(THETAS, scale), direct, rtol=1e-8, atol=1e-8)
    # not for a floor or the L1 kernel: there the direct evaluation is used
    for other in (PJAPConfig(alpha=4.0, eps=1e-3, distance="l2"),
                  PJAPConfig(alpha=4.0, eps=0.0, distance="l1")):
        assert ReferenceField(twin_peaks(), ROWS, other)._shifted_jacobian(THETAS, h) is None


def test_importance_weighted_noise_matches_the_delta_method():
    pj = PJAPConfig(alpha=16.0, eps=1e-3, importance_weights=True)
    ref = ReferenceField(twin_peaks(), ROWS, pj)
    var, bias = ref.noise_many(THETAS, 64)
    p = _direct_probabilities(ROWS, THETAS, pj)
    g = ref.per_sample(THETAS)
    w = 1.0 / (p.shape[1] * p)
    centred = g - g.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(var, np.einsum("kb,kbi->ki", p, w[..., None] ** 2 * centred**2),
                               rtol=1e-10)
    np.testing.assert_allclose(
        bias, np.abs(np.einsum("kb,kbi->ki", p, w[..., None] ** 2 * centred)) / 64,
        rtol=1e-8, atol=1e-14)
    for k in (0, 7):  # the per-point variance_bound agrees
        np.testing.assert_allclose(var[k], ref.variance_bound(THETAS[k], 64), rtol=1e-10)


def test_noise_free_map_skips_starts_at_rest_with_the_same_iterates():
    from verify.expected_map import reference_map

    pj = PJAPConfig(alpha=4.0, eps=0.0, distance="l2")
    ref = ReferenceField(twin_peaks(1, 4, 5), ROWS, pj)
    starts = np.random.default_rng(6).normal(0.3, 0.5, size=(20, 2))
    theta, path = starts.copy(), [starts.copy()]
    for step in range(1, 601):  # the plain iteration, every start every step
        theta = np.clip(theta + 0.05 * ref.field_many(theta), -1.0, 1.0)
        if step % 50 == 0:
            path.append(theta.copy())
    evaluated = []
    field_many = ref.field_many
    ref.field_many = lambda x: evaluated.append(len(x)) or field_many(x)  # type: ignore
    run = reference_map(ref, starts, 600, 0.05, 1.0, 1e3, 50, 3)
    assert run.path is not None
    np.testing.assert_allclose(run.path, np.stack(path, axis=1), rtol=0, atol=1e-14)
    np.testing.assert_allclose(run.tail_mean, np.mean(path[-3:], axis=0), rtol=0, atol=1e-14)
    assert sum(evaluated) < 0.5 * 20 * 600  # the starts at rest were not evaluated again


def test_fixed_points_only_are_the_full_answers_period_one_orbits():
    from numpy.polynomial import Polynomial

    from verify.orbits import agent_orbits

    rng = np.random.default_rng(8)
    for _ in range(200):
        g = Polynomial(rng.normal(0, 1, rng.integers(2, 5)))
        lr, clip = float(rng.choice([1e-3, 0.5, 1.5])), (None, 1.0)[int(rng.integers(2))]
        full = [o for o in agent_orbits(g, lr, clip) if o.period == 1]
        assert agent_orbits(g, lr, clip, period_two=False) == full


def test_uniform_noise_with_a_penalty_matches_the_rows_variance():
    ref = ReferenceField(twin_peaks(1, 4, 5), ROWS, None, bc(1.5))
    var, bias = ref.noise_many(THETAS, 64)
    g = ref.per_sample(THETAS)  # (K, N, n), the penalty included
    np.testing.assert_allclose(var, g.var(axis=1), rtol=1e-9, atol=1e-12)
    assert not bias.any()


def test_sampler_draws_are_numpys_choice_with_the_fixed_seed():
    # the importance-weighting simulation's rows, drawn from sorted uniforms, must be exactly
    # what np.random.default_rng(0).choice draws (its estimates are pinned by that seed)
    from verify.reference import IS_BATCHES, _sampler_draws

    rng = np.random.default_rng(7)
    cases = [np.array([1.0]), np.array([0.25, 0.0, 0.75]), np.exp(-60 * rng.random(300)),
             rng.random(40) ** 4, np.r_[np.zeros(5), 1.0, np.zeros(5)]]
    for p in cases:
        p = p / p.sum()
        for batch in (8, 64):
            want = np.random.default_rng(0).choice(len(p), size=(IS_BATCHES, batch), p=p)
            assert np.array_equal(_sampler_draws(p, batch), want)
    with pytest.raises(ValueError):  # an invalid p is still refused as choice refuses it
        _sampler_draws(np.array([0.5, 0.6]), 8)
    # float32 p: choice's own (looser) tolerance for its dtype, as before the shortcut
    p32 = np.ones(7, np.float32) / 7
    want = np.random.default_rng(0).choice(7, size=(IS_BATCHES, 8), p=p32)
    assert np.array_equal(_sampler_draws(p32, 8), want)
    # the sorted uniforms are kept for a few batch sizes only (~64 kB x batch size each)
    from verify import reference
    for batch in range(1, 12):
        _sampler_draws(np.array([0.5, 0.5]), batch)
    assert len(reference._SORTED_UNIFORMS) <= reference._SORTED_UNIFORMS_KEPT
