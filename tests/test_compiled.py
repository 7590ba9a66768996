"""One compiled trainer for every value of the numeric settings (verify/compiled.py).

The shared program takes lr, the clip bound, PJAP's alpha and eps and a BC weight as
arguments. It must train exactly as the trainer compiled with those values as constants (bit
for bit: the same float32 operations on the same float32 values), and compile once.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brud_analysis.catalogue import twin_peaks
from brud_analysis.regularisers import bc
from verify import compiled, polygames
from verify.polygames import OfflineConfig, make_offline_train
from verify.sampling import PJAPConfig

pytestmark = pytest.mark.slow  # ~30 s of CPU: compiling is what it tests

BASE = dict(steps=40, batch_size=8, log_every=4)
VARIANTS = {  # two configs of one structure each, differing in every setting it uses
    "plain": [dict(lr=0.05), dict(lr=0.02)],
    "clip": [dict(lr=0.05, clip=0.4), dict(lr=0.1, clip=0.7)],
    # bootstrapped refresh (K = 4) and an exponent: the refresh draws, too, are made apart
    "pjap": [dict(lr=0.05, pjap=PJAPConfig(alpha=4.0, eps=1e-3, exponent=0.5, refresh=4)),
             dict(lr=0.03, pjap=PJAPConfig(alpha=16.0, eps=0.0, exponent=0.5, refresh=4))],
    "pjap_is_l2": [dict(lr=0.05, pjap=PJAPConfig(4.0, 1e-3, "l2", importance_weights=True)),
                   dict(lr=0.05, pjap=PJAPConfig(9.0, 1e-2, "l2", importance_weights=True))],
    "bc": [dict(lr=0.05, regulariser=bc(0.5)), dict(lr=0.05, regulariser=bc(0.1))],
}


def _compiles(fn):
    seen = []

    def listen(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            seen.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        out = fn()
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    return out, len(seen)


@pytest.mark.parametrize("kind", sorted(VARIANTS))
def test_shared_program_trains_as_the_constant_one_and_compiles_once(kind):
    game = twin_peaks()
    data = jax.random.normal(jax.random.key(1), (30, 2)) * 0.3 + 0.6
    keys = jax.random.split(jax.random.key(0), 3)
    theta0 = jnp.asarray([[0.0, 0.0], [0.5, -0.2], [0.9, 0.9]], jnp.float32)
    configs = [OfflineConfig(**BASE, **v) for v in VARIANTS[kind]]
    structure = compiled.shared_structure(configs[0])
    assert compiled.shared_structure(configs[1]) == structure
    trainer = compiled.Compiled(game, structure, polygames.make_offline_train)
    runs = []
    for i, config in enumerate(configs):
        traj, n = _compiles(lambda c=config: trainer.run(keys, data, np.asarray(theta0), c, None))
        if i:  # the second setting runs the first one's program
            assert n == 0
        want = jax.jit(jax.vmap(make_offline_train(game, config), in_axes=(0, None, 0)))(
            keys, data, theta0)
        assert np.array_equal(traj.policy, np.asarray(want.policy))
        assert np.array_equal(traj.distance, np.asarray(want.distance))
        runs.append(traj.policy)
    assert not np.array_equal(runs[0], runs[1])  # the settings were used


def test_settings_are_the_values_the_config_uses():
    config = OfflineConfig(steps=10, lr=0.05, clip=1.0, pjap=PJAPConfig(alpha=4.0, eps=0.01),
                           regulariser=bc(0.25))
    assert compiled.numeric_settings(config) == {"lr": 0.05, "clip": 1.0, "alpha": 4.0,
                                                 "eps": 0.01, "bc": 0.25}
    traced = compiled.with_settings(compiled.shared_structure(config),
                                    compiled.numeric_settings(config))
    assert (traced.lr, traced.clip, traced.pjap.alpha, traced.pjap.eps) == (0.05, 1.0, 4.0, 0.01)
    # a structure differs where a shape or a branch does
    other = OfflineConfig(steps=10, lr=0.05, clip=None, pjap=PJAPConfig(alpha=4.0, eps=0.01))
    assert compiled.shared_structure(other) != compiled.shared_structure(config)


def test_the_pjap_draws_program_is_one_for_every_game_and_pjap_setting():
    # The chunk's PJAP draws are a program of their own so that the update loop compiles
    # without threefry; it pays only if that program is shared: one compilation in a process
    # (no persistent cache: the CLI and the paper checks have none) for every game, alpha,
    # eps, distance and weighting of the same shapes, and the runs' keys its only input.
    from brud_analysis.catalogue import sign_agreement

    data = jnp.zeros((30, 2), jnp.float32)
    keys = jax.random.split(jax.random.key(0), 3)
    starts = polygames.log_starts(OfflineConfig(**BASE))[:5]
    compiled._pjap_draws.clear_cache()
    draws = []
    for game, pjap in [(twin_peaks(), PJAPConfig(alpha=4.0, eps=1e-3)),
                       (sign_agreement(), PJAPConfig(16.0, 0.0, "l2", importance_weights=True))]:
        config = OfflineConfig(**BASE, lr=0.05, pjap=pjap)
        trainer = compiled.Compiled(game, compiled.shared_structure(config),
                                    polygames.make_offline_train)
        settings = {k: jnp.float32(v) for k, v in compiled.numeric_settings(config).items()}
        state = trainer.init(settings, keys, data, jnp.zeros((3, 2)))
        draws.append(trainer.draw(settings, state, data, starts))
    assert compiled._pjap_draws._cache_size() == 1
    a, b = draws  # from the runs' keys alone
    assert np.array_equal(a.uniforms, b.uniforms) and np.array_equal(a.extra, b.extra)
    assert np.array_equal(jax.random.key_data(a.key), jax.random.key_data(b.key))
    plain = compiled.Compiled(twin_peaks(), compiled.shared_structure(OfflineConfig(**BASE)),
                              polygames.make_offline_train)
    assert plain.draw is None  # uniform sampling draws nothing


def test_pjap_draws_too_large_for_a_chunk_are_drawn_update_by_update(monkeypatch):
    # past DRAWS_BYTES the updates draw as they go: the same runs, no chunk-sized draws
    config = OfflineConfig(**BASE, lr=0.05, pjap=PJAPConfig(alpha=4.0, eps=1e-3, refresh=4))
    trainer = compiled.Compiled(twin_peaks(), compiled.shared_structure(config),
                                polygames.make_offline_train)
    data = jax.random.normal(jax.random.key(1), (30, 2)) * 0.3 + 0.6
    keys, theta0 = jax.random.split(jax.random.key(0), 3), np.zeros((3, 2), np.float32)
    apart = trainer.run(keys, data, theta0, config, None)
    monkeypatch.setattr(compiled, "DRAWS_BYTES", 0)
    monkeypatch.setattr(compiled, "_pjap_draws", None)  # never called now
    in_loop = trainer.run(keys, data, theta0, config, None)
    assert np.array_equal(apart.policy, in_loop.policy)
    assert np.array_equal(apart.distance, in_loop.distance, equal_nan=True)
