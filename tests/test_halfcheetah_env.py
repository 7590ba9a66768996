"""The 2-agent HalfCheetah wrapper: shapes, determinism, truncation, recording layout."""

from __future__ import annotations

import numpy as np
import pytest

from brud_analysis.errors import BrudError
from verify.halfcheetah.env import HalfCheetahEnv, record_transitions, rollout_returns
from verify.halfcheetah.vault import episode_returns


def sine_policy(obs: np.ndarray) -> np.ndarray:
    """A deterministic, state-dependent policy (zero actions would hide ordering bugs)."""
    return np.sin(3.0 * obs[:, :3]).astype(np.float32)


def test_reset_and_step_shapes_and_types():
    env = HalfCheetahEnv()
    obs, state = env.reset(seed=3)
    assert obs.shape == (2, 12) and obs.dtype == np.float32
    assert state.shape == (17,) and state.dtype == np.float32
    obs, state, reward, terminated, truncated = env.step(np.full((2, 3), 0.5, np.float32))
    assert obs.shape == (2, 12) and state.shape == (17,)
    assert isinstance(reward, float) and reward != 0.0
    assert (terminated, truncated) == (False, False)


def test_same_seed_same_trajectory_other_seed_differs():
    def trajectory(seed: int) -> np.ndarray:
        env = HalfCheetahEnv()
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(20):
            obs, *_ = env.step(sine_policy(obs))
            out.append(obs)
        return np.stack(out)

    np.testing.assert_array_equal(trajectory(5), trajectory(5))
    assert not np.array_equal(trajectory(5), trajectory(6))


def test_episode_is_truncated_after_exactly_1000_steps_and_env_then_refuses_steps():
    env = HalfCheetahEnv()
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, _, _, terminated, truncated = env.step(np.zeros((2, 3), np.float32))
        steps += 1
        done = terminated or truncated
    assert steps == 1000 and truncated and not terminated
    with pytest.raises(BrudError, match="before reset"):
        env.step(np.zeros((2, 3), np.float32))


def test_wrong_action_shape_is_a_user_error():
    env = HalfCheetahEnv()
    env.reset(seed=0)
    with pytest.raises(BrudError, match=r"shape \(2, 3\)"):
        env.step(np.zeros(6, np.float32))


def test_recorded_returns_equal_rollout_returns_with_same_seed_and_noise():
    # Both functions reset episode e with seed + e and draw noise from default_rng(seed), so the
    # recorded data must reproduce rollout_returns exactly (up to float32 reward storage).
    data = record_transitions(sine_policy, episodes=2, seed=11, noise_std=0.2)
    returns = rollout_returns(sine_policy, episodes=2, seed=11, noise_std=0.2)
    # rewards are stored as float32: 1000 roundings of |r| < 20 stay far below 1e-2
    np.testing.assert_allclose(episode_returns(data), returns, atol=1e-2)
    assert data.observations.shape == (2000, 2, 12) and data.states.shape == (2000, 17)
    ends = np.flatnonzero(data.truncations[:, 0])
    np.testing.assert_array_equal(ends, [999, 1999])
    assert not data.terminals.any()
    np.testing.assert_array_equal(data.rewards[:, 0], data.rewards[:, 1])
    assert np.abs(data.actions).max() <= 1.0  # executed (clipped) actions are stored


def test_recorded_step_holds_observation_before_its_action():
    data = record_transitions(sine_policy, episodes=1, seed=2, noise_std=0.0)
    env = HalfCheetahEnv()
    obs, state = env.reset(seed=2)
    np.testing.assert_array_equal(data.observations[0], obs)
    np.testing.assert_array_equal(data.states[0], state)
    np.testing.assert_array_equal(data.actions[0], sine_policy(obs))
    obs, state, reward, *_ = env.step(data.actions[0])
    np.testing.assert_array_equal(data.observations[1], obs)
    assert data.rewards[0, 0] == np.float32(reward)


def test_rollout_needs_at_least_one_episode():
    with pytest.raises(BrudError, match="episodes"):
        rollout_returns(sine_policy, episodes=0, seed=0)


def test_creating_the_environment_is_silent(tmp_path, monkeypatch, capfd):
    """MuJoCo 4 flags the HalfCheetah XML's 'settotalmass' as deprecated through its C warning
    hook (a stderr line and a MUJOCO_LOG.TXT in the working directory); both are dropped, so
    `--json` runs and error messages stay clean."""
    monkeypatch.chdir(tmp_path)
    HalfCheetahEnv().close()
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()


def test_other_mujoco_warnings_are_passed_on():
    from verify.halfcheetah.env import _forward_mujoco_warning

    with pytest.warns(RuntimeWarning, match="MuJoCo: Nan, Inf or huge value"):
        _forward_mujoco_warning("Nan, Inf or huge value in QACC at DOF 0")


def test_index_maps_step_exactly_like_the_mamujoco_wrapper():
    # HalfCheetahEnv reads observations and maps actions through index maps found once from
    # the wrapper's own functions; a whole episode (actions often clipped) must equal the
    # wrapper's per-step path bit for bit: observations, state, reward, flags
    def episode(fast: bool) -> list:
        env = HalfCheetahEnv()
        assert env._fast is not None  # the index maps apply to HalfCheetah 2x3
        if not fast:
            env._fast = None
        rng = np.random.default_rng(4)
        obs, state = env.reset(seed=4)
        steps: list = [obs, state]
        truncated = False
        while not truncated:
            action = 1.5 * sine_policy(obs) + rng.normal(0.0, 0.5, (2, 3)).astype(np.float32)
            obs, state, reward, terminated, truncated = env.step(action)
            steps += [obs, state, reward, terminated, truncated]
        return steps

    fast, wrapper = episode(True), episode(False)
    assert len(fast) == len(wrapper) == 2 + 5 * 1000
    for a, b in zip(fast, wrapper, strict=True):
        assert type(a) is type(b)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b
