"""One training run of the HalfCheetah experiment: one dataset, one system, ``S`` seeds at once.

The learner's pure update is ``vmap``-ed over seeds and ``lax.scan``-ned over a chunk of updates
inside one ``jit``; between chunks the Python loop evaluates, checkpoints and reports progress.
Runs are safe to interrupt: a checkpoint holds the whole multi-seed state (RNG keys included)
and the history, so ``resume=True`` continues bit-for-bit; Ctrl-C saves one; result files are
written atomically.

Files in ``out_dir``: ``checkpoint.npz`` and, when finished, ``result.json``.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brud_analysis.errors import BrudError
from verify.halfcheetah.checkpoint import load_checkpoint, load_document, save_checkpoint
from verify.halfcheetah.configs import ExperimentConfig
from verify.halfcheetah.learner import LearnerConfig, make_learner, policy_network
from verify.halfcheetah.replay import make_sequence_dataset

CHECKPOINT = "checkpoint.npz"
RESULT = "result.json"
METRICS = ("critic_loss", "cql_loss", "policy_loss", "q_data", "distance", "bc_mse")


def normalisation(episode_returns: np.ndarray) -> dict[str, Any]:
    """The return normalisation of a dataset: ``(R - min) / (max - min)`` over the dataset's own
    episode returns, so 0 is its worst and 1 its best behaviour episode.

    Example:
        >>> normalisation(np.array([100.0, 300.0, 500.0]))["max"]
        500.0
    """
    low, high = float(np.min(episode_returns)), float(np.max(episode_returns))
    if not high > low:
        raise BrudError("dataset episode returns are all equal; cannot normalise returns")
    return {
        "method": "(return - dataset min episode return) / (dataset max - dataset min)",
        "min": low,
        "max": high,
        "dataset_mean": float(np.mean(episode_returns)),
        "dataset_episodes": int(len(episode_returns)),
    }


def discounted_returns(rewards: np.ndarray, episode_ends: np.ndarray, gamma: float) -> np.ndarray:
    """Monte-Carlo discounted return-to-go ``G_t = r_t + gamma G_{t+1}`` inside each episode.

    Example:
        >>> discounted_returns(np.ones(4), np.array([0, 1, 0, 1], bool), 0.5).tolist()
        [1.5, 1.0, 1.5, 1.0]
    """
    out = np.zeros(len(rewards), np.float64)
    following = 0.0
    for t in range(len(rewards) - 1, -1, -1):  # one pass; T ~ 1e6 takes ~0.3 s
        if episode_ends[t]:
            following = 0.0
        following = rewards[t] + gamma * following
        out[t] = following
    return out


def data_value(transitions, gamma: float) -> dict[str, Any]:
    """The data's own discounted value, the number the critic's ``q_data`` should approach.

    ``mc_return``: mean Monte-Carlo discounted return over time steps with at least
    ``H = ceil(log(0.01) / log(gamma))`` steps left in their episode (so the cut-off at the
    episode's end changes each by under 1% of its tail: 1000-step episodes are *truncated*, not
    terminated, and the critic bootstraps through that cut-off). ``mc_return_all``: over every
    step. ``polyak_time_constant``: see :func:`polyak_time_constant` (filled in by the caller).

    Example:
        >>> from types import SimpleNamespace
        >>> t = SimpleNamespace(rewards=np.ones((600, 2)), terminals=np.zeros((600, 2), bool),
        ...                     truncations=np.zeros((600, 2), bool))
        >>> round(data_value(t, 0.99)["mc_return"], 2)  # (1 - 0.99^k) / 0.01, k >= 459 left
        99.47
    """
    rewards = np.asarray(transitions.rewards, np.float64).mean(axis=-1)
    ends = np.asarray(np.asarray(transitions.terminals, bool).any(axis=-1)
                      | np.asarray(transitions.truncations, bool).any(axis=-1))
    ends[-1] = True
    returns = discounted_returns(rewards, ends, gamma)
    horizon = math.ceil(math.log(0.01) / math.log(gamma))
    # steps left in the episode, counting this one
    left = np.zeros(len(ends), np.int64)
    count = 0
    for t in range(len(ends) - 1, -1, -1):
        count = 1 if ends[t] else count + 1
        left[t] = count
    far = left >= horizon
    return {
        "gamma": gamma,
        "mc_return": float(returns[far].mean()) if far.any() else None,
        "mc_return_all": float(returns.mean()),
        "mc_return_max": float(returns.max()),
        "mc_horizon_steps": horizon,
    }


def polyak_time_constant(tau: float, gamma: float) -> float:
    """Updates for a value to propagate through Polyak targets: ``1 / (tau (1 - gamma))``.

    The target network follows the online one with time constant ``1/tau`` updates, and a value
    needs ``~1/(1 - gamma)`` bootstrap steps to build up; each step waits on the target.

    Example:
        >>> round(polyak_time_constant(0.005, 0.99))
        20000
    """
    return 1.0 / (tau * (1.0 - gamma))


def check_observations(obs_dim: int, env_obs_dim: int, no_eval: bool) -> None:
    """Refuse, before training, a dataset the evaluation environment cannot play.

    Example:
        >>> check_observations(13, 12, no_eval=True)
        >>> check_observations(13, 12, no_eval=False)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        brud_analysis.errors.BrudError: the dataset has 13-d observations but the installed ...
    """
    if obs_dim != env_obs_dim and not no_eval:
        raise BrudError(
            f"the dataset has {obs_dim}-d observations but the installed environment "
            f"(HalfCheetah-v5 2x3) gives {env_obs_dim}-d ones (an OG-MARL vault of "
            "HalfCheetah-v2?), so its policies cannot be evaluated online; pass --no-eval "
            "to train with offline metrics only")


def _run_description(config: ExperimentConfig, system: str, dataset: str, seeds: int,
                     first_seed: int = 0) -> dict:
    return {
        "dataset": dataset,
        "system": system,
        "config": config.name,
        "config_values": asdict(config),
        "seeds": seeds,
        "first_seed": first_seed,
    }


def seed_keys(result: dict) -> list[int]:
    """The PRNG seeds of a run's learners (``first_seed`` .. ``first_seed + seeds - 1``).

    Example:
        >>> seed_keys({"seeds": 3, "first_seed": 5}), seed_keys({"seeds": 2})
        ([5, 6, 7], [0, 1])
    """
    first = int(result.get("first_seed", 0))  # runs from before --first-seed started at 0
    n = result.get("seeds", len(result.get("final_normalised") or []))
    return list(range(first, first + int(n)))


def _comparable(description: dict) -> dict:
    """A run description without its update count, so that a run can be extended.

    Example:
        >>> _comparable({"config_values": {"updates": 5, "chunk": 1}})
        {'config_values': {'chunk': 1}, 'first_seed': 0}
    """
    from brud_analysis.output import to_jsonable

    plain = json.loads(json.dumps(to_jsonable(description)))
    plain.get("config_values", {}).pop("updates", None)
    plain.setdefault("first_seed", 0)  # checkpoints from before --first-seed
    return plain


def read_result(path: str | Path) -> dict:
    """A run's ``result.json``; a truncated or corrupt one is a one-line :class:`BrudError`.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "result.json"
        >>> _ = p.write_text('{"dataset": "Go')
        >>> read_result(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        brud_analysis.errors.BrudError: .../result.json is not a readable result (truncated ...
    """
    try:
        result = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BrudError(f"{path} is not a readable result (truncated or corrupt: "
                        f"{type(err).__name__})") from None
    if not isinstance(result, dict) or "dataset" not in result or "system" not in result:
        raise BrudError(f"{path} is not a result of `brud halfcheetah train`")
    return result


def _place_seeds(tree: Any, n_seeds: int) -> Any:
    """Shard the seed axis across devices when there are several (and it divides evenly).

    Example:
        >>> _place_seeds(jnp.zeros((3, 2)), 3).shape
        (3, 2)
    """
    devices = jax.devices()
    if len(devices) < 2 or n_seeds % len(devices):
        return tree
    mesh = jax.sharding.Mesh(np.array(devices), ("seeds",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("seeds"))
    return jax.device_put(tree, sharding)


@functools.lru_cache(maxsize=8)
def chunk_runner(config: LearnerConfig, obs_dim: int, act_dim: int, n_agents: int,
                 state_dim: int):
    """``(init, run)``: the learner's ``init`` and ``run(states, data, length) -> (states,
    metrics)``, ``length`` updates of every seed in one jitted call; metrics are each seed's
    mean over the chunk, shape ``(S,)`` per field. Cached, so runs of one configuration in a
    process share their compilation.

    Example:
        >>> from verify.halfcheetah.configs import make_config
        >>> init, run = chunk_runner(make_config("cpu", "maddpg-cql").learner, 12, 3, 2, 17)
        >>> states = init(jax.vmap(jax.random.PRNGKey)(jnp.arange(2)), 100)
        >>> states.step.tolist()
        [0, 0]
    """
    init, update = make_learner(config, obs_dim, act_dim, n_agents, state_dim)

    def run(states, data, length: int):
        def body(s, _):
            return jax.vmap(update, in_axes=(0, None))(s, data)

        states, metrics = jax.lax.scan(body, states, None, length)
        return states, jax.tree_util.tree_map(lambda m: jnp.mean(m, axis=0), metrics)

    def init_seeds(keys, n_items: int):
        return jax.vmap(lambda k: init(k, n_items))(keys)

    return jax.jit(init_seeds, static_argnums=1), jax.jit(run, static_argnums=2)


def train(
    transitions,
    *,
    dataset: str,
    system: str,
    config: ExperimentConfig,
    seeds: int,
    out_dir: str | Path,
    first_seed: int = 0,
    resume: bool = False,
    progress: bool = True,
    evaluator=None,
    stop_after: int | None = None,
    time_limit_s: float | None = None,
    no_eval: bool = False,
) -> dict:
    """Train ``seeds`` learners on ``transitions`` and write ``out_dir/result.json``.

    Args:
        transitions: a :class:`verify.halfcheetah.vault.Transitions` record.
        dataset: its name (for reports), e.g. ``"Good"``.
        system: one of :data:`verify.halfcheetah.configs.SYSTEMS` (must match ``config``).
        first_seed: the learners' PRNG seeds are ``first_seed .. first_seed + seeds - 1``; a
            later run with ``first_seed`` = an earlier run's next seed adds independent seeds
            (:func:`verify.halfcheetah.run_statistics.merge_runs` pools them).
        evaluator: an :class:`verify.halfcheetah.evaluate.Evaluator` (default: MaMuJoCo).
        no_eval: train without online evaluation (offline metrics only; ``final_returns`` is
            ``None``), e.g. for a vault whose observations the installed environment does not
            produce. Without it such a vault is refused before training.
        stop_after: stop (with a checkpoint) once this many updates are done, as an
            interruption would; ``time_limit_s`` likewise after that much wall time.

    Returns:
        The result document (also written to ``result.json``), or, when stopped early, the
        checkpoint's document with ``"finished": False``.

    Example:
        >>> from verify.halfcheetah.configs import make_config
        >>> from verify.halfcheetah.vault import load_vault
        >>> result = train(load_vault("data/2halfcheetah.vlt/Good"), dataset="Good",
        ...                system="maddpg-cql-pjap", config=make_config("cpu", "maddpg-cql-pjap"),
        ...                seeds=3, out_dir="runs/good/maddpg-cql-pjap")  # doctest: +SKIP
        >>> result["final_normalised"]  # doctest: +SKIP
    """
    from tqdm import tqdm

    from brud_analysis.output import to_jsonable, write_atomic
    from verify.halfcheetah.vault import episode_returns

    if seeds < 1:
        raise BrudError(f"--seeds must be a positive integer, got {seeds}")
    if first_seed < 0:
        raise BrudError(f"--first-seed must be >= 0, got {first_seed}")
    out_dir = Path(out_dir)
    checkpoint_path = out_dir / CHECKPOINT
    description = _run_description(config, system, dataset, seeds, first_seed)
    if checkpoint_path.exists() and not resume:
        raise BrudError(f"{out_dir} already holds a run; pass --resume to continue it")
    if resume and not checkpoint_path.exists():
        raise BrudError(f"nothing to resume: {out_dir} holds no checkpoint "
                        f"({CHECKPOINT}); run without --resume to start")
    if resume:
        stored = load_document(checkpoint_path)
        if _comparable(stored["run"]) != _comparable(description):
            raise BrudError(
                f"{out_dir} holds a different run ({stored['run']['system']}, "
                f"{stored['run']['config']}, {stored['run']['seeds']} seeds, dataset "
                f"{stored['run']['dataset']}); use another --out"
            )
        # A finished run resumed with more --updates continues (extends) from its checkpoint.
        if (out_dir / RESULT).exists() and stored["step"] >= config.updates:
            return read_result(out_dir / RESULT)

    n_agents, obs_dim = transitions.observations.shape[1:]
    if evaluator is None:
        from verify.halfcheetah.env import OBS_DIM

        check_observations(obs_dim, OBS_DIM, no_eval)
    act_dim = transitions.actions.shape[-1]
    state_dim = transitions.states.shape[-1]
    norm = normalisation(episode_returns(transitions))
    value = data_value(transitions, config.learner.gamma)
    value["polyak_time_constant_updates"] = polyak_time_constant(config.learner.tau,
                                                                 config.learner.gamma)
    data = make_sequence_dataset(transitions, config.learner.sequence_length)
    n_items = int(data.starts.shape[0])
    init, run_chunk = chunk_runner(config.learner, obs_dim, act_dim, n_agents, state_dim)
    keys = jax.vmap(jax.random.PRNGKey)(first_seed + jnp.arange(seeds))
    states = init(keys, n_items)

    history: dict[str, list] = {"steps": [], "eval_steps": [], "eval_returns": []}
    history.update({name: [] for name in METRICS})
    if resume:
        states, stored = load_checkpoint(checkpoint_path, states)
        history = stored["history"]
        for name in METRICS:  # a checkpoint from before a metric existed
            history.setdefault(name, [None] * len(history["steps"]))
    states = _place_seeds(states, seeds)

    if evaluator is None and not no_eval:
        from verify.halfcheetah.evaluate import Evaluator

        evaluator = Evaluator(policy_network(config.learner, obs_dim, act_dim, n_agents))
    step = int(np.asarray(states.step)[0])

    def checkpoint_document(finished: bool) -> dict:
        return {"run": description, "history": history, "step": step, "finished": finished}

    def save() -> None:
        save_checkpoint(checkpoint_path, states, checkpoint_document(False))

    started = time.monotonic()
    timed_updates, timed_seconds, compiled = 0, 0.0, False
    bar = tqdm(total=config.updates, initial=step, unit="upd", file=sys.stderr,
               disable=not progress, desc=f"{dataset} {system}", dynamic_ncols=True)
    try:
        while step < config.updates:
            length = min(config.chunk, config.updates - step)
            tick = time.monotonic()
            new_states, metrics = run_chunk(states, data, length)
            metrics = jax.device_get(metrics)
            if compiled:  # the first chunk of a process includes compilation: not timed
                timed_updates += length
                timed_seconds += time.monotonic() - tick
            compiled = True
            done = step + length
            returns = None
            # (the final evaluation below covers the last update)
            if (not no_eval and done // config.eval_every > step // config.eval_every
                    and done < config.updates):
                returns = evaluator.returns(new_states.policy, config.eval_episodes, seed=done)
            # Commit the chunk only now: an interrupt before this line leaves the previous
            # chunk's state and history, which resume recomputes identically.
            states, previous, step = new_states, step, done
            history["steps"].append(step)
            for name in METRICS:
                history[name].append(np.asarray(getattr(metrics, name)).tolist())
            if returns is not None:
                history["eval_steps"].append(step)
                history["eval_returns"].append(returns.mean(axis=1).tolist())
            bar.update(length)
            bar.set_postfix(distance=f"{np.mean(metrics.distance):.3f}",
                            ret=f"{np.mean(history['eval_returns'][-1]):.0f}"
                            if history["eval_returns"] else "-")
            if not all(math.isfinite(float(np.mean(getattr(metrics, m)))) for m in METRICS):
                save()
                raise BrudError(f"training diverged (non-finite loss) by update {step}")
            if step // config.checkpoint_every > previous // config.checkpoint_every:
                save()
            out_of_time = time_limit_s is not None and time.monotonic() - started > time_limit_s
            if step < config.updates and (
                (stop_after is not None and step >= stop_after) or out_of_time
            ):
                save()
                bar.close()
                return checkpoint_document(False)
        bar.close()
        final = (None if no_eval
                 else evaluator.returns(states.policy, config.final_episodes, seed=10**6))
    except KeyboardInterrupt:
        save()
        bar.close()
        print(f"\ninterrupted at update {step}; checkpoint saved, continue with --resume",
              file=sys.stderr)
        raise
    if final is not None:
        final_mean = final.mean(axis=1)
        history["eval_steps"].append(step)
        history["eval_returns"].append(final_mean.tolist())
    from brud_analysis.output import provenance

    result = {
        **description,
        "updates": config.updates,
        "n_windows": n_items,
        "normalisation": norm,
        "evaluated": final is not None,
        "final_returns": None if final is None else final_mean.tolist(),
        "final_normalised": None if final is None else (
            (final_mean - norm["min"]) / (norm["max"] - norm["min"])).tolist(),
        "final_episode_returns": None if final is None else final.tolist(),
        "data_value": value,
        "history": history,
        "updates_per_second": timed_updates / timed_seconds if timed_seconds else None,
        "devices": [str(d) for d in jax.devices()],
        "finished": True,
        "provenance": provenance({**description, "seed_keys": seed_keys(description),
                                  "no_eval": no_eval}),
    }
    save_checkpoint(checkpoint_path, states, checkpoint_document(True))
    write_atomic(out_dir / RESULT, json.dumps(to_jsonable(result), indent=1))
    return result
