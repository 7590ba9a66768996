"""Evaluation episodes of learnt HalfCheetah policies in MaMuJoCo, all seeds in lock-step.

Every seed's policy plays ``episodes`` deterministic episodes; the ``S x episodes`` environments
step together so that one jitted policy call per time step serves all of them.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np

from verify.halfcheetah.networks import Params, PolicyNetwork


class Evaluator:
    """Runs evaluation episodes for a batch of seeds' policy parameters.

    Episode ``e`` of every seed is reset with environment seed ``seed + e`` (the same starts for
    every seed, so seeds differ only by their policy).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from verify.halfcheetah.env import HalfCheetahEnv
        >>> net = PolicyNetwork(12, 3, 2, hidden=8, recurrent=False)
        >>> params = jax.lax.map(net.init, jax.random.split(jax.random.PRNGKey(0), 2))
        >>> Evaluator(net).returns(params, episodes=1, seed=0).shape  # doctest: +SKIP
        (2, 1)
    """

    def __init__(self, policy: PolicyNetwork, env_factory: Callable[[], object] | None = None):
        if env_factory is None:
            from verify.halfcheetah.env import HalfCheetahEnv

            env_factory = HalfCheetahEnv
        self.policy = policy
        self._env_factory = env_factory
        self._envs: list = []
        # params (S, ...), carry (S, E, N, H), obs (S, E, N, obs) -> (carry, actions)
        self._step = jax.jit(jax.vmap(policy.step))

    def _environments(self, count: int) -> list:
        while len(self._envs) < count:
            self._envs.append(self._env_factory())
        return self._envs[:count]

    def returns(self, params: Params, episodes: int, seed: int) -> np.ndarray:
        """Undiscounted team returns ``(S, episodes)`` of the seeds' policies ``params``
        (every leaf with a leading seed axis ``S``); see the class example."""
        n_seeds = jax.tree_util.tree_leaves(params)[0].shape[0]
        envs = self._environments(n_seeds * episodes)
        obs = np.stack([env.reset(seed + i % episodes)[0] for i, env in enumerate(envs)])
        obs = obs.reshape((n_seeds, episodes) + obs.shape[1:])
        carry = self.policy.initial_carry((n_seeds, episodes))
        totals = np.zeros(n_seeds * episodes)
        running = np.ones(n_seeds * episodes, bool)
        while running.any():
            carry, actions = self._step(params, carry, obs)
            actions = np.asarray(actions).reshape((n_seeds * episodes,) + actions.shape[2:])
            flat_obs = obs.reshape((n_seeds * episodes,) + obs.shape[2:])
            for i, env in enumerate(envs):
                if not running[i]:
                    continue
                o, _, reward, terminated, truncated = env.step(actions[i])
                flat_obs[i] = o
                totals[i] += reward
                running[i] = not (terminated or truncated)
            obs = flat_obs.reshape(obs.shape)
        return totals.reshape(n_seeds, episodes)

    def close(self) -> None:
        """Release the environments."""
        for env in self._envs:
            env.close()
        self._envs = []
