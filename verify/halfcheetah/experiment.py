"""One training run of the HalfCheetah experiment: one dataset, one system, ``S`` seeds at once.

The learner's pure update is ``vmap``-ed over seeds and ``lax.scan``-ned over a chunk of updates
inside one ``jit``; between chunks the Python loop evaluates, checkpoints and reports progress.
Runs are safe to interrupt: a checkpoint holds the whole multi-seed state (RNG keys included)
and the history, so ``resume=True`` continues bit-for-bit; Ctrl-C and SIGTERM (``timeout``,
``docker stop``, SLURM pre-emption) save one; result files are written atomically.

Seeds run in groups of a fixed size ``seed_group`` (default 1), one jitted call per group: XLA's
batched kernels round differently for different batch sizes, and training amplifies that, so a
seed's result is reproducible only with the same group. With a fixed group size (recorded in the
result) seed ``k`` gives the same curves alone or inside any run whose groups are aligned.

Returns are normalised D4RL-style with fixed reference returns (0 = the uniformly random policy's
mean return, 1 = the Good behaviour policy's, :mod:`verify.halfcheetah.reference`), not with the
dataset's own min/max, which one outlier episode moves.

Files in ``out_dir``: ``checkpoint.npz`` and, when finished, ``result.json``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
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
from verify.sampling import init_sampler

CHECKPOINT = "checkpoint.npz"
RESULT = "result.json"
METRICS = ("critic_loss", "cql_loss", "policy_loss", "q_data", "batch_distance", "bc_mse")
#: logged at every evaluation on the run's fixed probe windows (:mod:`verify.halfcheetah.probe`)
PROBE_METRICS = ("policy_distance", "brud_alignment", "brud_sign_disagreement")


def dataset_returns(episode_returns: np.ndarray) -> dict[str, Any]:
    """Summary of a dataset's episode returns (reported beside the fixed normalisation).

    Example:
        >>> dataset_returns(np.array([100.0, 300.0, 500.0]))["max"]
        500.0
    """
    return {"mean": float(np.mean(episode_returns)), "std": float(np.std(episode_returns)),
            "min": float(np.min(episode_returns)), "max": float(np.max(episode_returns)),
            "episodes": int(len(episode_returns))}


def normalise(returns: Any, norm: dict[str, Any]) -> np.ndarray:
    """Normalised returns under a result's ``normalisation``: the fixed D4RL-style one
    (``zero``/``one``), or the dataset min/max of results written before it.

    Example:
        >>> normalise([50.0], {"zero": 0.0, "one": 100.0}).tolist()
        [0.5]
        >>> normalise([50.0], {"min": 25.0, "max": 75.0}).tolist()
        [0.5]
    """
    values = np.asarray(returns, float)
    if "zero" in norm:
        return (values - norm["zero"]) / (norm["one"] - norm["zero"])
    return (values - norm["min"]) / (norm["max"] - norm["min"])


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`KeyboardInterrupt` as Ctrl-C does, so training
    saves its checkpoint either way (only in the main thread, where handlers can be set).

    Example:
        >>> with sigterm_as_interrupt():
        ...     signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        True
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
                     first_seed: int = 0, dataset_sha256: str | None = None,
                     seed_group: int = 1) -> dict:
    from verify.halfcheetah.probe import PROBE_SEED, PROBE_WINDOWS

    return {
        "dataset": dataset,
        "dataset_sha256": dataset_sha256,
        "system": system,
        "config": config.name,
        "config_values": asdict(config),
        "seeds": seeds,
        "first_seed": first_seed,
        "seed_group": seed_group,
        "probe": {"windows": PROBE_WINDOWS, "seed": PROBE_SEED,
                  "drawn": "uniformly over the dataset's windows, once per run"},
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

    def init_one_item(keys):
        # lax.map over the seeds, not vmap: bit-identical states, about half the compile time
        # (batched random draws compile slowly on CPU; 13.7 -> 7.3 s CPU for a tiny learner)
        return jax.lax.map(lambda k: init(k, 1), keys)

    compiled_init = jax.jit(init_one_item)

    def init_seeds(keys, n_items: int):
        # The compiled init does not depend on the dataset's size, so runs of this learner on
        # other data share it (4 s of CPU to compile the cpu configuration's): only the
        # sampler's state has one entry per window (init_sampler's, the same for every seed).
        sampler = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (len(keys),) + x.shape),
                                         init_sampler(n_items))
        return compiled_init(keys)._replace(sampler=sampler)

    return init_seeds, jax.jit(run, static_argnums=2)


def _split(tree: Any, groups: list[slice]) -> list[Any]:
    """A seed-stacked pytree as one pytree per seed group."""
    if len(groups) == 1:
        return [tree]
    return [jax.tree_util.tree_map(lambda x, g=g: x[g], tree) for g in groups]


def _join(trees: list[Any]) -> Any:
    """The inverse of :func:`_split`."""
    if len(trees) == 1:
        return trees[0]
    return jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), *trees)


def check_seed_group(seeds: int, first_seed: int, seed_group: int) -> None:
    """Groups must tile the seeds and align on multiples of the group size, so that a seed's
    group (hence its result) is the same in every run that contains it.

    Example:
        >>> check_seed_group(4, 0, 2)
        >>> check_seed_group(3, 0, 2)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        brud_analysis.errors.BrudError: --seed-group 2 must divide --seeds (3) and --first-seed ...
    """
    if seed_group < 1 or seeds % seed_group or first_seed % seed_group:
        raise BrudError(f"--seed-group {seed_group} must divide --seeds ({seeds}) and "
                        f"--first-seed ({first_seed}), and be >= 1")


def train(
    transitions,
    *,
    dataset: str,
    system: str,
    config: ExperimentConfig,
    seeds: int,
    out_dir: str | Path,
    first_seed: int = 0,
    seed_group: int = 1,
    recorded_sha256: str | None = None,
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
        seed_group: seeds per jitted call (see the module docstring); recorded.
        recorded_sha256: the dataset hash its vault records; a different content is refused.
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
    from verify.halfcheetah.probe import make_probe, probe_items
    from verify.halfcheetah.reference import normalisation_reference
    from verify.halfcheetah.replay import gather
    from verify.halfcheetah.vault import dataset_sha256, episode_returns

    if seeds < 1:
        raise BrudError(f"--seeds must be a positive integer, got {seeds}")
    if first_seed < 0:
        raise BrudError(f"--first-seed must be >= 0, got {first_seed}")
    check_seed_group(seeds, first_seed, seed_group)
    digest = dataset_sha256(transitions)
    if recorded_sha256 is not None and recorded_sha256 != digest:
        raise BrudError(f"dataset {dataset}: its content hash {digest[:12]} differs from the "
                        f"{recorded_sha256[:12]} its metadata records (modified or damaged)")
    out_dir = Path(out_dir)
    checkpoint_path = out_dir / CHECKPOINT
    description = _run_description(config, system, dataset, seeds, first_seed, digest,
                                   seed_group)
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
                f"{stored['run']['dataset']} {str(stored['run'].get('dataset_sha256'))[:12]}, "
                f"seed group {stored['run'].get('seed_group')}); use another --out"
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
    norm = {**normalisation_reference(), "dataset": dataset_returns(episode_returns(transitions))}
    value = data_value(transitions, config.learner.gamma)
    value["polyak_time_constant_updates"] = polyak_time_constant(config.learner.tau,
                                                                 config.learner.gamma)
    data = make_sequence_dataset(transitions, config.learner.sequence_length)
    n_items = int(data.starts.shape[0])
    init, run_chunk = chunk_runner(config.learner, obs_dim, act_dim, n_agents, state_dim)
    probe = make_probe(config.learner, obs_dim, act_dim, n_agents, state_dim)
    probe_windows = gather(data, jnp.asarray(probe_items(n_items)), config.learner.sequence_length)
    groups = [slice(k, k + seed_group) for k in range(0, seeds, seed_group)]
    keys = jax.vmap(jax.random.PRNGKey)(first_seed + jnp.arange(seeds))
    group_states = [init(keys[g], n_items) for g in groups]

    history: dict[str, list] = {"steps": [], "eval_steps": [], "eval_returns": [],
                                "probe_steps": []}
    history.update({name: [] for name in METRICS + PROBE_METRICS})
    timing = {"wall_s": 0.0, "cpu_s": 0.0, "sessions": 0}
    if resume:
        loaded, stored = load_checkpoint(checkpoint_path, _join(group_states))
        group_states = _split(loaded, groups)
        history = stored["history"]
        timing = stored.get("timing", timing)
    timing["sessions"] += 1
    group_states = [_place_seeds(gs, seed_group) for gs in group_states]

    if evaluator is None and not no_eval:
        from verify.halfcheetah.evaluate import Evaluator

        evaluator = Evaluator(policy_network(config.learner, obs_dim, act_dim, n_agents))
    step = int(np.asarray(group_states[0].step)[0])

    def evaluate(states_list: list, episodes: int, seed: int) -> np.ndarray:
        return np.concatenate([evaluator.returns(gs.policy, episodes, seed=seed)
                               for gs in states_list])

    def log_probe(states_list: list, at: int) -> None:
        found = [jax.device_get(probe(gs.policy, gs.critic, probe_windows))
                 for gs in states_list]
        history["probe_steps"].append(at)
        for name in PROBE_METRICS:
            history[name].append(np.concatenate([getattr(f, name) for f in found]).tolist())

    wall0, cpu0 = time.monotonic(), time.process_time()

    def checkpoint_document(finished: bool) -> dict:
        spent = {"wall_s": timing["wall_s"] + time.monotonic() - wall0,
                 "cpu_s": timing["cpu_s"] + time.process_time() - cpu0,
                 "sessions": timing["sessions"]}
        return {"run": description, "history": history, "step": step, "finished": finished,
                "timing": spent}

    def save() -> None:
        save_checkpoint(checkpoint_path, _join(group_states), checkpoint_document(False))

    if not history["probe_steps"]:
        log_probe(group_states, step)  # the untrained policies: where both arms start
    started = time.monotonic()
    timed_updates, timed_seconds, compiled = 0, 0.0, False
    bar = tqdm(total=config.updates, initial=step, unit="upd", file=sys.stderr,
               disable=not progress, desc=f"{dataset} {system}", dynamic_ncols=True)
    try:
        with sigterm_as_interrupt():
            while step < config.updates:
                length = min(config.chunk, config.updates - step)
                tick = time.monotonic()
                outputs = [run_chunk(gs, data, length) for gs in group_states]
                new_states = [o[0] for o in outputs]
                metrics = {name: np.concatenate([np.asarray(getattr(jax.device_get(o[1]), name))
                                                 for o in outputs]) for name in METRICS}
                if compiled:  # the first chunk of a process includes compilation: not timed
                    timed_updates += length
                    timed_seconds += time.monotonic() - tick
                compiled = True
                done = step + length
                returns = None
                at_eval = (done // config.eval_every > step // config.eval_every
                           and done < config.updates)  # the final evaluation covers the last
                if at_eval and not no_eval:
                    returns = evaluate(new_states, config.eval_episodes, seed=done)
                # Commit the chunk only now: an interrupt before this line leaves the previous
                # chunk's state and history, which resume recomputes identically.
                group_states, previous, step = new_states, step, done
                history["steps"].append(step)
                for name in METRICS:
                    history[name].append(metrics[name].tolist())
                if returns is not None:
                    history["eval_steps"].append(step)
                    history["eval_returns"].append(returns.mean(axis=1).tolist())
                if at_eval:
                    log_probe(group_states, step)
                bar.update(length)
                bar.set_postfix(
                    batch_d=f"{np.mean(metrics['batch_distance']):.3f}",
                    policy_d=f"{np.mean(history['policy_distance'][-1]):.3f}",
                    ret=f"{np.mean(history['eval_returns'][-1]):.0f}"
                    if history["eval_returns"] else "-")
                if not all(math.isfinite(float(np.mean(metrics[m]))) for m in METRICS):
                    save()
                    raise BrudError(f"training diverged (non-finite loss) by update {step}")
                if step // config.checkpoint_every > previous // config.checkpoint_every:
                    save()
                out_of_time = (time_limit_s is not None
                               and time.monotonic() - started > time_limit_s)
                if step < config.updates and (
                    (stop_after is not None and step >= stop_after) or out_of_time
                ):
                    save()
                    bar.close()
                    return checkpoint_document(False)
            bar.close()
            if history["probe_steps"][-1] != step:
                log_probe(group_states, step)
            final = (None if no_eval
                     else evaluate(group_states, config.final_episodes, seed=10**6))
    except KeyboardInterrupt as err:
        save()
        bar.close()
        why = f" ({err})" if str(err) else ""
        print(f"\ninterrupted{why} at update {step}; checkpoint saved, continue with --resume",
              file=sys.stderr)
        raise
    if final is not None:
        final_mean = final.mean(axis=1)
        history["eval_steps"].append(step)
        history["eval_returns"].append(final_mean.tolist())
    from brud_analysis.output import provenance

    document = checkpoint_document(True)
    result = {
        **description,
        "updates": config.updates,
        "n_windows": n_items,
        "normalisation": norm,
        "evaluated": final is not None,
        "final_returns": None if final is None else final_mean.tolist(),
        "final_normalised": None if final is None else normalise(final_mean, norm).tolist(),
        "final_episode_returns": None if final is None else final.tolist(),
        "final_policy_distance": history["policy_distance"][-1],
        "final_brud_alignment": history["brud_alignment"][-1],
        "data_value": value,
        "history": history,
        "updates_per_second": timed_updates / timed_seconds if timed_seconds else None,
        "timing": document["timing"],
        "devices": [str(d) for d in jax.devices()],
        "finished": True,
        "provenance": provenance({**description, "seed_keys": seed_keys(description),
                                  "no_eval": no_eval}),
    }
    save_checkpoint(checkpoint_path, _join(group_states), document)
    write_atomic(out_dir / RESULT, json.dumps(to_jsonable(result), indent=1))
    return result
