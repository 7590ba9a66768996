"""2-agent HalfCheetah ("2x3", agent_obsk 1) from ``gymnasium_robotics.mamujoco_v1``, as arrays.

The PettingZoo dict interface is replaced by fixed-order arrays so learners can treat the team as
one batch: observations ``(N, obs_dim)``, actions ``(N, act_dim)``, the global state
``(state_dim,)`` and the shared team reward as a float. Agent 0 is the back leg (bthigh, bshin,
bfoot), agent 1 the front leg (fthigh, fshin, ffoot). Episodes end by truncation at 1000 steps;
HalfCheetah never terminates.

This is HalfCheetah-v5 (12-d agent observations). OG-MARL's datasets come from the older
multiagent_mujoco on HalfCheetah-v2 (13-d agent observations); absolute returns differ slightly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from brud_analysis.errors import BrudError

N_AGENTS = 2
OBS_DIM = 12
ACT_DIM = 3
STATE_DIM = 17
EPISODE_LENGTH = 1000


def _forward_mujoco_warning(message: str) -> None:
    if "is deprecated" not in message:
        import warnings

        warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)


def _fast_indices(env) -> tuple[np.ndarray, np.ndarray] | None:
    """Index maps that replace MaMuJoCo's per-step Python bookkeeping (a third of a rollout's
    CPU): ``obs[i] = concat(qpos, qvel)[index[i]]`` and ``global_action = flat_actions[order]``.
    Found by running the wrapper's own ``build_obs`` and action mapping on arrays that hold
    their own positions, so they are exactly the wrapper's maps; ``None`` (the wrapper is then
    used as is) if an observation needs more than joint positions and velocities.
    """
    from types import SimpleNamespace

    from gymnasium_robotics.envs.multiagent_mujoco.obsk import build_obs

    data = env.single_agent_env.unwrapped.data
    nq, nv = len(data.qpos), len(data.qvel)
    probe = SimpleNamespace(qpos=np.arange(nq, dtype=np.float64),
                            qvel=np.arange(nq, nq + nv, dtype=np.float64))
    try:
        index = np.stack([build_obs(probe, env.k_dicts[i], env.local_categories,
                                    env.mujoco_globals, env.global_categories)
                          for i in range(len(env.possible_agents))])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if index.shape != (N_AGENTS, OBS_DIM):
        return None
    codes = {a: np.arange(i * ACT_DIM, (i + 1) * ACT_DIM, dtype=np.float64)
             for i, a in enumerate(env.possible_agents)}
    order = env.map_local_actions_to_global_action(codes)
    return index.astype(np.intp), order.astype(np.intp)


class HalfCheetahEnv:
    """Seeded, deterministic 2-agent HalfCheetah with array observations and actions.

    Example:
        >>> env = HalfCheetahEnv()
        >>> obs, state = env.reset(seed=0)
        >>> obs.shape, state.shape
        ((2, 12), (17,))
        >>> obs, state, reward, terminated, truncated = env.step(np.zeros((2, 3), np.float32))
        >>> isinstance(reward, float), terminated, truncated
        (True, False, False)
    """

    n_agents = N_AGENTS
    obs_dim = OBS_DIM
    act_dim = ACT_DIM
    state_dim = STATE_DIM
    episode_length = EPISODE_LENGTH

    def __init__(self) -> None:
        import contextlib
        import io
        import warnings

        import mujoco

        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            # gymnasium_robotics prints a notice about unrelated Adroit environments on stderr
            # at import, and warns about other environments; neither concerns HalfCheetah.
            warnings.simplefilter("ignore")
            from gymnasium_robotics import mamujoco_v1
        # The HalfCheetah XML uses 'settotalmass', which MuJoCo 4 calls deprecated through its C
        # warning hook (a stderr line and a MUJOCO_LOG.TXT in the working directory per
        # environment); drop that notice, pass any other MuJoCo warning on as a Python warning.
        previous = mujoco.get_mju_user_warning()
        mujoco.set_mju_user_warning(_forward_mujoco_warning)
        try:
            self._env = mamujoco_v1.parallel_env(
                "HalfCheetah", "2x3", agent_obsk=1, max_episode_steps=EPISODE_LENGTH
            )
        finally:
            mujoco.set_mju_user_warning(previous)
        self._agents = list(self._env.possible_agents)
        self._needs_reset = True
        self._fast = _fast_indices(self._env)

    def _observations(self) -> np.ndarray:
        if self._fast is None:
            return self._stack(self._env._get_obs())
        data = self._env.single_agent_env.unwrapped.data
        return np.concatenate([data.qpos, data.qvel])[self._fast[0]].astype(np.float32)

    def _stack(self, per_agent: dict) -> np.ndarray:
        return np.stack([np.asarray(per_agent[a], np.float32) for a in self._agents])

    def reset(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Start an episode; return observations ``(N, obs_dim)`` and state ``(state_dim,)``."""
        self._env.reset(seed=int(seed))
        self._needs_reset = False
        return self._observations(), np.asarray(self._env.state(), np.float32)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, bool, bool]:
        """Apply joint ``actions`` ``(N, act_dim)`` (clipped to [-1, 1]).

        Returns ``(observations, state, team_reward, terminated, truncated)`` after the step.
        """
        if self._needs_reset:
            raise BrudError("HalfCheetahEnv.step called before reset (or after the episode ended)")
        actions = np.asarray(actions, np.float32)
        if actions.shape != (N_AGENTS, ACT_DIM):
            raise BrudError(f"actions must have shape {(N_AGENTS, ACT_DIM)}, got {actions.shape}")
        clipped = np.clip(actions, -1.0, 1.0)
        if self._fast is None:
            _, rewards, terms, truncs, _ = self._env.step(
                {a: clipped[i] for i, a in enumerate(self._agents)}
            )
            reward = rewards[self._agents[0]]
            terminated, truncated = bool(any(terms.values())), bool(any(truncs.values()))
        else:  # what the wrapper's step does, with its index maps computed once
            global_action = clipped.reshape(-1)[self._fast[1]].astype(np.float64)
            _, reward, terms, truncs, _ = self._env.single_agent_env.step(global_action)
            terminated, truncated = bool(terms), bool(truncs)
        self._needs_reset = terminated or truncated
        state = np.asarray(self._env.state(), np.float32)
        return self._observations(), state, float(reward), terminated, truncated

    def close(self) -> None:
        """Release the MuJoCo resources."""
        self._env.close()


def rollout_returns(
    policy_fn: Callable[[np.ndarray], np.ndarray],
    episodes: int,
    seed: int,
    noise_std: float = 0.0,
) -> np.ndarray:
    """Undiscounted team return of ``episodes`` full episodes of ``policy_fn``.

    ``policy_fn`` maps observations ``(N, obs_dim)`` to actions ``(N, act_dim)``. Gaussian noise
    of std ``noise_std`` is added to the actions (then clipped). Episode ``e`` is reset with
    seed ``seed + e``; the noise comes from ``numpy.random.default_rng(seed)``.

    Example:
        >>> zero = lambda obs: np.zeros((2, 3), np.float32)
        >>> rollout_returns(zero, episodes=1, seed=0).shape
        (1,)
    """
    returns = np.zeros(max(episodes, 0))  # the rollout itself rejects episodes < 1
    for e, step in _noisy_episodes(policy_fn, episodes, seed, noise_std):
        returns[e] += step.reward
    return returns


class _Step(NamedTuple):
    obs: np.ndarray
    state: np.ndarray
    action: np.ndarray
    reward: float
    terminated: bool
    truncated: bool


def _noisy_episodes(policy_fn, episodes: int, seed: int, noise_std: float,
                    progress: bool = False, desc: str = "rollout") -> Iterator[tuple[int, _Step]]:
    """``(episode, step)`` of ``episodes`` full episodes; episode ``e`` is reset with seed
    ``seed + e``, noise comes from ``default_rng(seed)``, actions are clipped to [-1, 1] and
    ``step`` holds the observation and state *before* the executed action."""
    from tqdm import tqdm

    if episodes < 1:
        raise BrudError(f"episodes must be >= 1, got {episodes}")
    env = HalfCheetahEnv()
    rng = np.random.default_rng(seed)
    try:
        for e in tqdm(range(episodes), desc=desc, unit="episode", disable=not progress):
            obs, state = env.reset(seed=seed + e)
            done = False
            while not done:
                action = np.asarray(policy_fn(obs), np.float32)
                if noise_std > 0:
                    action = action + rng.normal(0.0, noise_std, action.shape).astype(np.float32)
                action = np.clip(action, -1.0, 1.0)
                next_obs, next_state, reward, terminated, truncated = env.step(action)
                yield e, _Step(obs, state, action, reward, terminated, truncated)
                obs, state, done = next_obs, next_state, terminated or truncated
    finally:
        env.close()


def record_transitions(
    policy_fn: Callable[[np.ndarray], np.ndarray],
    episodes: int,
    seed: int,
    noise_std: float = 0.2,
    progress: bool = False,
    desc: str = "record",
):
    """Roll out ``policy_fn`` with Gaussian action noise and return the data as Transitions.

    Episode ``e`` is reset with seed ``seed + e``; noise comes from ``default_rng(seed)``. The
    stored action is the executed one (noisy, clipped to [-1, 1]); step ``t`` stores the
    observation and state before the action, the team reward after it (repeated per agent), and
    the terminal / truncation flags of the step.

    Example:
        >>> zero = lambda obs: np.zeros((2, 3), np.float32)
        >>> t = record_transitions(zero, episodes=1, seed=0)
        >>> t.observations.shape, bool(t.truncations[-1].all())
        ((1000, 2, 12), True)
    """
    from verify.halfcheetah.vault import Transitions

    total = max(episodes, 1) * EPISODE_LENGTH  # HalfCheetah never terminates early
    obs_buf = np.zeros((total, N_AGENTS, OBS_DIM), np.float32)
    act_buf = np.zeros((total, N_AGENTS, ACT_DIM), np.float32)
    rew_buf = np.zeros((total, N_AGENTS), np.float32)
    term_buf = np.zeros((total, N_AGENTS), bool)
    trunc_buf = np.zeros((total, N_AGENTS), bool)
    state_buf = np.zeros((total, STATE_DIM), np.float32)
    t = 0
    for _, step in _noisy_episodes(policy_fn, episodes, seed, noise_std, progress, desc):
        obs_buf[t], state_buf[t], act_buf[t] = step.obs, step.state, step.action
        rew_buf[t], term_buf[t], trunc_buf[t] = step.reward, step.terminated, step.truncated
        t += 1
    return Transitions(obs_buf[:t], act_buf[:t], rew_buf[:t], term_buf[:t], trunc_buf[:t],
                       state_buf[:t])
