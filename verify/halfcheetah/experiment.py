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
METRICS = ("critic_loss", "cql_loss", "policy_loss", "q_data", "distance")


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


def _run_description(config: ExperimentConfig, system: str, dataset: str, seeds: int) -> dict:
    return {
        "dataset": dataset,
        "system": system,
        "config": config.name,
        "config_values": asdict(config),
        "seeds": seeds,
    }


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
    resume: bool = False,
    progress: bool = True,
    evaluator=None,
    stop_after: int | None = None,
    time_limit_s: float | None = None,
) -> dict:
    """Train ``seeds`` learners on ``transitions`` and write ``out_dir/result.json``.

    Args:
        transitions: a :class:`verify.halfcheetah.vault.Transitions` record.
        dataset: its name (for reports), e.g. ``"Good"``.
        system: ``"maddpg-cql"`` or ``"maddpg-cql-pjap"`` (must match ``config.learner.pjap``).
        evaluator: an :class:`verify.halfcheetah.evaluate.Evaluator` (default: MaMuJoCo).
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
    out_dir = Path(out_dir)
    checkpoint_path = out_dir / CHECKPOINT
    description = _run_description(config, system, dataset, seeds)
    if checkpoint_path.exists() and not resume:
        raise BrudError(f"{out_dir} already holds a run; pass --resume to continue it")
    if resume and checkpoint_path.exists():
        stored = load_document(checkpoint_path)
        if stored["run"] != json.loads(json.dumps(to_jsonable(description))):
            raise BrudError(
                f"{out_dir} holds a different run ({stored['run']['system']}, "
                f"{stored['run']['config']}, {stored['run']['seeds']} seeds, dataset "
                f"{stored['run']['dataset']}); use another --out"
            )
        if (out_dir / RESULT).exists():
            return json.loads((out_dir / RESULT).read_text())

    n_agents, obs_dim = transitions.observations.shape[1:]
    act_dim = transitions.actions.shape[-1]
    state_dim = transitions.states.shape[-1]
    norm = normalisation(episode_returns(transitions))
    data = make_sequence_dataset(transitions, config.learner.sequence_length)
    n_items = int(data.starts.shape[0])
    init, run_chunk = chunk_runner(config.learner, obs_dim, act_dim, n_agents, state_dim)
    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(seeds))
    states = init(keys, n_items)

    history: dict[str, list] = {"steps": [], "eval_steps": [], "eval_returns": []}
    history.update({name: [] for name in METRICS})
    if resume and checkpoint_path.exists():
        states, stored = load_checkpoint(checkpoint_path, states)
        history = stored["history"]
    states = _place_seeds(states, seeds)

    if evaluator is None:
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
            if done // config.eval_every > step // config.eval_every and done < config.updates:
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
        final = evaluator.returns(states.policy, config.final_episodes, seed=10**6)
    except KeyboardInterrupt:
        save()
        bar.close()
        print(f"\ninterrupted at update {step}; checkpoint saved, continue with --resume",
              file=sys.stderr)
        raise
    final_mean = final.mean(axis=1)
    history["eval_steps"].append(step)
    history["eval_returns"].append(final_mean.tolist())
    result = {
        **description,
        "updates": config.updates,
        "n_windows": n_items,
        "normalisation": norm,
        "final_returns": final_mean.tolist(),
        "final_normalised": ((final_mean - norm["min"]) / (norm["max"] - norm["min"])).tolist(),
        "final_episode_returns": final.tolist(),
        "history": history,
        "updates_per_second": timed_updates / timed_seconds if timed_seconds else None,
        "devices": [str(d) for d in jax.devices()],
        "finished": True,
    }
    save_checkpoint(checkpoint_path, states, checkpoint_document(True))
    write_atomic(out_dir / RESULT, json.dumps(to_jsonable(result), indent=1))
    return result
