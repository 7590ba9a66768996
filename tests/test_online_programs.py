"""One compiled online trainer for every buffer size, learning rate and noise level
(verify/online_programs.py, what ``brud online`` and the paper's Fig. 2 runs train with).

The shared programs take the buffer size, lr and noise as arguments. They must train exactly as
the trainer compiled for one config with those values as constants (bit for bit), compile once
for both configs, and use the values (two configs give other runs).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_compiled import _compiles

from brud_analysis.catalogue import sign_agreement
from verify.online_programs import chunk_programs, online_settings, train_program
from verify.polygames import OnlineConfig, make_online_train, run_in_chunks

pytestmark = pytest.mark.slow  # compiling is what it tests

BASE = dict(batch_size=8, steps=60, log_every=3, updates_per_step=2, clip=1.5)
# two configs of one structure, differing in every traced setting (one buffer past 1024 rows
# would need another program: slots grow to the next power of two)
CONFIGS = [OnlineConfig(buffer_size=12, lr=0.05, noise_std=0.1, **BASE),  # type: ignore[arg-type]
           OnlineConfig(buffer_size=40, lr=0.02, noise_std=0.3, **BASE)]  # type: ignore[arg-type]
KEYS = jax.random.split(jax.random.key(3), 2)
THETA0 = jnp.array([-0.5, 0.6])


def _per_config(config: OnlineConfig):
    run = jax.jit(jax.vmap(make_online_train(sign_agreement(), config), in_axes=(0, None)))
    traj, buffers = run(KEYS, THETA0)
    return np.asarray(traj.policy), np.asarray(traj.distance), np.asarray(buffers)


def test_train_program_trains_as_the_per_config_one_and_compiles_once():
    policies = []
    for i, config in enumerate(CONFIGS):
        (traj, buffers), n = _compiles(lambda c=config: train_program(sign_agreement(), c)(
            KEYS, THETA0, online_settings(c)))
        if i:
            assert n == 0  # the second config runs the first one's program
        policy, distance, want_buffers = _per_config(config)
        assert np.array_equal(np.asarray(traj.policy), policy)
        assert np.array_equal(np.asarray(traj.distance), distance, equal_nan=True)
        k = config.buffer_size
        assert np.array_equal(np.asarray(buffers)[:, :k], want_buffers)
        assert np.isnan(np.asarray(buffers)[:, k:]).all()  # slots past K are never used
        policies.append(policy)
    assert not np.array_equal(policies[0], policies[1])  # the settings were used


def test_chunk_programs_train_as_the_per_config_one_and_compile_once():
    policies = []
    for i, config in enumerate(CONFIGS):
        def chunked(c=config):
            init, advance, final_buffer = chunk_programs(sign_agreement(), c)
            settings = online_settings(c)
            n_logs = c.steps // c.log_every
            starts = np.arange(n_logs, dtype=np.uint32) * np.uint32(c.log_every)
            state, (policy, _, distance) = run_in_chunks(
                lambda s, part: advance(s, part, settings),
                init(KEYS, jnp.stack([THETA0] * len(KEYS))), starts, 4, c.log_every, None)
            return policy, distance, np.asarray(final_buffer(state, settings))

        (policy, distance, buffers), n = _compiles(chunked)
        if i:
            assert n == 0
        want_policy, want_distance, want_buffers = _per_config(config)
        assert np.array_equal(policy, want_policy[:, 1:])  # the trainer's row 0 is theta0
        assert np.array_equal(distance, want_distance, equal_nan=True)
        assert np.array_equal(buffers[:, :config.buffer_size], want_buffers)
        policies.append(policy)
    assert not np.array_equal(policies[0], policies[1])
