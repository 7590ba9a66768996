"""Behaviour policies for 2-agent HalfCheetah: online multi-agent TD3 in JAX.

Decentralised deterministic actors (agent ``i`` sees only its 12-d observation) and a centralised
pair of twin critics on the 17-d global state and the 6-d joint action, trained with TD3's
clipped double-Q target, target-policy smoothing and delayed actor updates (Fujimoto et al.
2018), in the style of OG-MARL's MATD3 behaviour policies. The critic is shared by the team
because the reward is; each actor is its own MLP (parameters stacked on a leading agent axis and
``vmap``-ed).

The environment runs in a Python loop (MuJoCo steps are cheap); every ``chunk`` environment steps,
``chunk`` gradient updates run inside one jitted ``lax.scan``. Training writes a full checkpoint
(networks, optimiser states, replay buffer, random states) at episode boundaries, so an
interrupted run resumes where it stopped, and a small actor-only snapshot with its evaluation
return at every evaluation; :func:`export_policy` turns a snapshot into the shipped ``.npz``.

Shapes: ``N`` = 2 agents, ``O`` = 12 observation, ``A`` = 3 action, ``S`` = 17 state,
``B`` batch, ``K`` updates per chunk.
"""

from __future__ import annotations

import json
import os
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from brud_analysis.errors import BrudError
from verify.halfcheetah.env import (
    ACT_DIM,
    N_AGENTS,
    OBS_DIM,
    STATE_DIM,
    HalfCheetahEnv,
    rollout_returns,
)

POLICY_DIR = Path(__file__).parent / "policies"
ACTOR_LAYERS = 3  # hidden, hidden, output


@dataclass(frozen=True)
class TD3Config:
    """Hyper-parameters of the behaviour learner (TD3 defaults unless stated).

    Attributes:
        steps: environment steps in total.
        seed: seeds the network initialisation, exploration noise and environment resets.
        start_steps: initial steps of uniform random actions (fills the replay buffer).
        chunk: environment steps between jitted blocks of ``chunk`` updates (UTD ratio 1).
        batch_size: transitions per gradient update.
        hidden: width of both hidden layers of actors and critics.
        actor_lr, critic_lr: Adam learning rates.
        gamma, tau: discount and Polyak rate of the target networks.
        policy_delay: critic updates per actor/target update.
        explore_noise: std of the Gaussian exploration noise on actions.
        target_noise, noise_clip: target-policy smoothing noise and its clip.
        eval_every: steps between deterministic evaluations (each saves an actor snapshot).
        eval_episodes: episodes per evaluation.
        checkpoint_every: steps between full checkpoints (a multiple of the episode length).
    """

    steps: int = 300_000
    seed: int = 0
    start_steps: int = 10_000
    chunk: int = 50
    batch_size: int = 256
    hidden: int = 256
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    policy_delay: int = 2
    explore_noise: float = 0.1
    target_noise: float = 0.2
    noise_clip: float = 0.5
    eval_every: int = 10_000
    eval_episodes: int = 2
    checkpoint_every: int = 20_000


# --------------------------------------------------------------------------- networks


def _init_mlp(key: Any, sizes: list[int]) -> list[tuple[Any, Any]]:
    """PyTorch-style uniform(+-1/sqrt(fan_in)) init of an MLP with layer ``sizes``."""
    import jax

    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / np.sqrt(fan_in)
        w = jax.random.uniform(kw, (fan_in, fan_out), minval=-bound, maxval=bound)
        b = jax.random.uniform(kb, (fan_out,), minval=-bound, maxval=bound)
        layers.append((w, b))
    return layers


def _init_stacked(keys: Any, sizes: list[int]) -> list[tuple[Any, Any]]:
    """One MLP per key (:func:`_init_mlp`), stacked on a leading axis: bit for bit the numbers
    of ``jax.vmap(_init_mlp)`` (checked at hidden 16, 32, 256), but every draw unbatched:
    eager vmap-ed random draws compile about twice as slowly on CPU (7.5 -> 3.8 s CPU for a
    first ``init_train_state``)."""
    import jax
    import jax.numpy as jnp

    trees = [_init_mlp(key, sizes) for key in keys]
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *trees)


def _mlp(params: list[tuple[Any, Any]], x: Any) -> Any:
    import jax

    for w, b in params[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def actor_apply(actor_params: list[tuple[Any, Any]], obs: Any) -> Any:
    """Joint deterministic action: observations ``(..., N, O)`` -> actions ``(..., N, A)``.

    ``actor_params`` holds one MLP per agent, stacked on a leading axis of size ``N``.
    """
    import jax
    import jax.numpy as jnp

    agent_axis = obs.ndim - 2
    per_agent = jax.vmap(lambda p, o: jnp.tanh(_mlp(p, o)), in_axes=(0, agent_axis),
                         out_axes=agent_axis)
    return per_agent(actor_params, obs)


def critic_apply(critic_params: Any, state: Any, joint_action: Any) -> Any:
    """Twin Q-values ``(2, ...)`` of states ``(..., S)`` and joint actions ``(..., N, A)``."""
    import jax
    import jax.numpy as jnp

    x = jnp.concatenate([state, joint_action.reshape(*joint_action.shape[:-2], -1)], axis=-1)
    return jax.vmap(lambda p: _mlp(p, x)[..., 0])(critic_params)


class TrainState(NamedTuple):
    """Everything the jitted update changes."""

    actor: Any
    critic: Any
    actor_target: Any
    critic_target: Any
    actor_opt: Any
    critic_opt: Any
    updates: Any  # int32 scalar: gradient updates done
    key: Any


def init_train_state(config: TD3Config) -> TrainState:
    """Fresh networks (targets equal to them) and Adam states for ``config``."""
    import jax
    import jax.numpy as jnp
    import optax

    key = jax.random.PRNGKey(config.seed)
    key, ka, kc = jax.random.split(key, 3)
    h = config.hidden
    actor = _init_stacked(jax.random.split(ka, N_AGENTS), [OBS_DIM, h, h, ACT_DIM])
    critic = _init_stacked(jax.random.split(kc, 2), [STATE_DIM + N_AGENTS * ACT_DIM, h, h, 1])
    return TrainState(
        actor=actor,
        critic=critic,
        actor_target=actor,
        critic_target=critic,
        actor_opt=optax.adam(config.actor_lr).init(actor),
        critic_opt=optax.adam(config.critic_lr).init(critic),
        updates=jnp.zeros((), jnp.int32),
        key=key,
    )


def make_update_chunk(config: TD3Config) -> Callable[[TrainState, dict], tuple[TrainState, Any]]:
    """Jitted ``(state, batches) -> (state, mean critic loss)`` running ``K`` TD3 updates.

    ``batches`` maps ``obs (K,B,N,O)``, ``state (K,B,S)``, ``action (K,B,N,A)``, ``reward (K,B)``,
    ``next_obs``, ``next_state``, ``done (K,B)`` to arrays; update ``k`` uses slice ``k``.
    """
    import jax
    import jax.numpy as jnp
    import optax

    actor_opt = optax.adam(config.actor_lr)
    critic_opt = optax.adam(config.critic_lr)

    def critic_loss(critic, ts: TrainState, batch: dict, key: Any) -> Any:
        noise = jnp.clip(
            config.target_noise * jax.random.normal(key, batch["action"].shape),
            -config.noise_clip,
            config.noise_clip,
        )
        next_action = jnp.clip(actor_apply(ts.actor_target, batch["next_obs"]) + noise, -1, 1)
        next_q = critic_apply(ts.critic_target, batch["next_state"], next_action).min(axis=0)
        target = batch["reward"] + config.gamma * (1.0 - batch["done"]) * next_q
        q = critic_apply(critic, batch["state"], batch["action"])
        return jnp.mean((q - jax.lax.stop_gradient(target)[None]) ** 2)

    def actor_loss(actor, critic, batch: dict) -> Any:
        return -jnp.mean(critic_apply(critic, batch["state"], actor_apply(actor, batch["obs"]))[0])

    def polyak(target, online):
        return jax.tree_util.tree_map(
            lambda t, o: (1 - config.tau) * t + config.tau * o, target, online
        )

    def one_update(ts: TrainState, batch: dict) -> tuple[TrainState, Any]:
        key, k_noise = jax.random.split(ts.key)
        loss, grads = jax.value_and_grad(critic_loss)(ts.critic, ts, batch, k_noise)
        c_updates, c_opt = critic_opt.update(grads, ts.critic_opt)
        ts = ts._replace(critic=optax.apply_updates(ts.critic, c_updates), critic_opt=c_opt,
                         key=key)

        def delayed(ts: TrainState) -> TrainState:
            a_grads = jax.grad(actor_loss)(ts.actor, ts.critic, batch)
            a_updates, a_opt = actor_opt.update(a_grads, ts.actor_opt)
            actor = optax.apply_updates(ts.actor, a_updates)
            return ts._replace(
                actor=actor,
                actor_opt=a_opt,
                actor_target=polyak(ts.actor_target, actor),
                critic_target=polyak(ts.critic_target, ts.critic),
            )

        ts = jax.lax.cond(ts.updates % config.policy_delay == 0, delayed, lambda t: t, ts)
        return ts._replace(updates=ts.updates + 1), loss

    @jax.jit
    def update_chunk(ts: TrainState, batches: dict) -> tuple[TrainState, Any]:
        ts, losses = jax.lax.scan(one_update, ts, batches)
        return ts, losses.mean()

    return update_chunk


# --------------------------------------------------------------------------- replay buffer


class ReplayBuffer:
    """Fixed-capacity numpy replay buffer of team transitions (no wrap-around needed: capacity
    = total steps).

    Kept instead of flashbax's item buffer: measured no slower (per environment step with one
    50 x 256 sample per 50 steps: 437-493 us here vs 428-700 us for flashbax, loaded 2-core CPU),
    and its numpy random stream is what makes the documented commands re-create the shipped
    policies bit for bit; a flashbax buffer would sample from another stream.
    """

    FIELDS = {
        "obs": (N_AGENTS, OBS_DIM),
        "state": (STATE_DIM,),
        "action": (N_AGENTS, ACT_DIM),
        "reward": (),
        "next_obs": (N_AGENTS, OBS_DIM),
        "next_state": (STATE_DIM,),
        "done": (),
    }

    def __init__(self, capacity: int) -> None:
        self.data = {k: np.zeros((capacity, *s), np.float32) for k, s in self.FIELDS.items()}
        self.size = 0

    def add(self, **transition: Any) -> None:
        for k, v in transition.items():
            self.data[k][self.size] = v
        self.size += 1

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
        idx = rng.integers(0, self.size, shape)
        return {k: v[idx] for k, v in self.data.items()}


# --------------------------------------------------------------------------- policies as numpy


def actor_to_numpy(actor: Any) -> dict[str, np.ndarray]:
    """Stacked actor parameters as ``{w0, b0, w1, b1, w2, b2}`` numpy arrays (leading N axis)."""
    out = {}
    for i, (w, b) in enumerate(actor):
        out[f"w{i}"] = np.asarray(w, np.float32)
        out[f"b{i}"] = np.asarray(b, np.float32)
    return out


def numpy_policy(params: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Deterministic joint policy ``obs (N, O) -> actions (N, A)`` from exported parameters.

    Example:
        >>> policy = numpy_policy(load_policy("good"))
        >>> policy(np.zeros((2, 12), np.float32)).shape
        (2, 3)
    """
    layers = [(params[f"w{i}"], params[f"b{i}"]) for i in range(ACTOR_LAYERS)]

    def policy(obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, np.float32)[:, None, :]  # (N, 1, O) for batched matmul per agent
        for i, (w, b) in enumerate(layers):
            x = x @ w + b[:, None, :]
            if i < len(layers) - 1:
                x = np.maximum(x, 0.0)
        return np.tanh(x[:, 0, :])

    return policy


def policy_path(name_or_path: str | os.PathLike[str]) -> Path:
    """The file of a shipped policy name (``"good"``, ``"medium"``) or of an ``.npz`` path.

    Example:
        >>> policy_path("good").name
        'good.npz'
    """
    path = Path(name_or_path).expanduser()
    if not path.suffix and not path.exists():
        path = POLICY_DIR / f"{name_or_path}.npz"
    if not path.is_file():
        raise BrudError(f"no behaviour policy at {path}")
    return path


def load_policy(name_or_path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load a shipped policy (``"good"``, ``"medium"``) or an exported ``.npz`` file.

    Example:
        >>> sorted(load_policy("good"))[:2]
        ['b0', 'b1']
    """
    path = policy_path(name_or_path)
    try:
        with np.load(path) as data:
            params = {k: data[k] for k in data.files if k[0] in "wb"}
    # a truncated .npz, another file type, or a plain .npy (no keys, not a context manager)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError, TypeError) as err:
        raise BrudError(f"{path} is not a behaviour policy ({type(err).__name__}: {err})") from None
    expected = {f"{p}{i}" for p in "wb" for i in range(ACTOR_LAYERS)}
    if set(params) != expected:
        raise BrudError(f"{path} is not a behaviour policy (keys {sorted(params)})")
    if params["w0"].shape[:2] != (N_AGENTS, OBS_DIM) or params["w2"].shape[2] != ACT_DIM:
        raise BrudError(f"{path}: actor shapes do not fit 2x3 HalfCheetah ({params['w0'].shape})")
    return params


def export_policy(snapshot: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Copy the actor parameters of a training snapshot into a standalone policy ``.npz``.

    Besides the parameters the file keeps the snapshot's ``step``, ``seed`` and ``eval_return``
    and adds ``reference_return``: the deterministic return of one episode reset with seed 0,
    which the tests use to check that the shipped parameters still behave as recorded.
    """
    import io

    from brud_analysis.output import write_atomic

    params = load_policy(snapshot)
    with np.load(Path(snapshot).expanduser()) as data:
        meta = {k: data[k] for k in data.files if k not in params}
    meta["reference_return"] = rollout_returns(numpy_policy(params), episodes=1, seed=0)[0]
    # one dict[str, Any]: numpy's stubs read a ** of arrays as possibly its allow_pickle flag
    arrays: dict[str, Any] = {**params, **meta}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return write_atomic(out, buffer.getvalue())


# --------------------------------------------------------------------------- training loop


def _save_tree(path: Path, tree: Any, extra: dict[str, Any]) -> None:
    import io

    import jax

    from brud_analysis.output import write_atomic

    leaves = jax.tree_util.tree_leaves(tree)
    arrays: dict[str, Any] = {f"leaf_{i:04d}": np.asarray(x) for i, x in enumerate(leaves)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **extra)
    write_atomic(path, buffer.getvalue())


def _evaluate(actor_fn: Callable, actor: Any, episodes: int, seed: int) -> float:
    returns = rollout_returns(
        lambda obs: np.asarray(actor_fn(actor, obs)), episodes=episodes, seed=seed
    )
    return float(returns.mean())


def train_behaviour(
    config: TD3Config, out_dir: str | os.PathLike[str], progress: bool = True
) -> list[dict[str, Any]]:
    """Train (or resume) the TD3 behaviour learner; return the evaluation log.

    Files under ``out_dir``: ``checkpoint.npz`` (full state, at episode boundaries),
    ``snapshots/actor_<step>.npz`` (actor parameters + ``eval_return``), ``progress.jsonl``
    (one JSON line per evaluation), ``config.json``. A run whose ``config.json`` differs from
    ``config`` is refused rather than silently mixed. Ctrl-C saves a checkpoint first.

    Example (CI never trains; this is the command that made the shipped policies):
        >>> train_behaviour(TD3Config(steps=300_000, seed=0), "runs/td3")  # doctest: +SKIP
    """
    import jax
    from tqdm import tqdm

    from brud_analysis.output import check_output_path, provenance, write_atomic

    if config.checkpoint_every % HalfCheetahEnv.episode_length:
        raise BrudError("checkpoint_every must be a multiple of the episode length (1000)")
    out = check_output_path(Path(out_dir).expanduser(), directory=True)
    try:
        (out / "snapshots").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BrudError(f"cannot write into {out}: {err.strerror}") from None
    config_file = out / "config.json"
    if config_file.exists():
        try:
            previous = json.loads(config_file.read_text())
            recorded = {k: v for k, v in previous.items() if k not in ("steps", "provenance")}
            same = recorded == {k: v for k, v in asdict(config).items() if k != "steps"}
        except (OSError, ValueError, AttributeError) as err:
            raise BrudError(f"{config_file} is damaged ({type(err).__name__}: {err}); remove "
                            "the run directory or choose another --run-dir") from None
        if not same:
            raise BrudError(f"{out} holds a run with a different configuration: {recorded}")
    write_atomic(config_file, json.dumps({**asdict(config), "provenance": provenance(
        asdict(config))}, indent=2))

    ts = init_train_state(config)
    update_chunk = make_update_chunk(config)
    act = jax.jit(actor_apply)
    buffer = ReplayBuffer(config.steps)
    rng = np.random.default_rng(config.seed)
    step, episode, log = 0, 0, []
    ckpt = out / "checkpoint.npz"
    log_file = out / "progress.jsonl"
    if ckpt.exists():
        try:
            with np.load(ckpt, allow_pickle=False) as data:
                template = jax.tree_util.tree_leaves(ts)
                leaves = [data[f"leaf_{i:04d}"] for i in range(len(template))]
                if any(a.shape != np.shape(b) for a, b in zip(leaves, template, strict=True)):
                    raise ValueError("parameter shapes differ from this configuration's")
                ts = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(ts), leaves)
                step, episode = int(data["step"]), int(data["episode"])
                for k in buffer.data:
                    buffer.data[k][:step] = data[f"buffer_{k}"]
                buffer.size = step
                rng.bit_generator.state = json.loads(str(data["rng_state"]))
            if log_file.exists():
                log = [json.loads(line) for line in log_file.read_text().splitlines() if line]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            raise BrudError(f"cannot resume from {ckpt}: damaged or truncated checkpoint "
                            f"({type(err).__name__}: {err}); remove it to start over") from None
        print(f"resuming {out} at step {step}", file=sys.stderr)

    def save_checkpoint(step: int) -> None:
        extra: dict[str, Any] = {f"buffer_{k}": v[:step] for k, v in buffer.data.items()}
        extra.update(step=np.int64(step), episode=np.int64(episode),
                     rng_state=np.array(json.dumps(rng.bit_generator.state)))
        _save_tree(ckpt, ts, extra)

    env = HalfCheetahEnv()
    bar = tqdm(total=config.steps, initial=step, disable=not progress, file=sys.stderr,
               desc="train-behaviour", unit="step", smoothing=0.05)
    t0, loss, ep_return = time.time(), float("nan"), 0.0
    last_return = float("nan")
    try:
        while step < config.steps:
            episode_start = step
            obs, state = env.reset(seed=config.seed * 1_000_003 + episode)
            ep_return, done = 0.0, False
            while not done:
                if step < config.start_steps:
                    action: np.ndarray = rng.uniform(-1, 1, (N_AGENTS, ACT_DIM)).astype(
                        np.float32)
                else:
                    action = np.asarray(act(ts.actor, obs)) + rng.normal(
                        0, config.explore_noise, (N_AGENTS, ACT_DIM)
                    )
                    action = np.clip(action, -1, 1).astype(np.float32)
                next_obs, next_state, reward, terminated, truncated = env.step(action)
                buffer.add(obs=obs, state=state, action=action, reward=reward,
                           next_obs=next_obs, next_state=next_state, done=float(terminated))
                obs, state, ep_return, done = next_obs, next_state, ep_return + reward, (
                    terminated or truncated)
                step += 1
                if step >= config.start_steps and step % config.chunk == 0:
                    batches = buffer.sample(rng, (config.chunk, config.batch_size))
                    ts, loss_arr = update_chunk(ts, batches)
                    loss = float(loss_arr)
                    bar.update(config.chunk)
                    bar.set_postfix(ret=f"{last_return:.0f}", q_loss=f"{loss:.3g}")
                elif step < config.start_steps and step % config.chunk == 0:
                    bar.update(config.chunk)
                if step % config.eval_every == 0 and step >= config.start_steps:
                    eval_return = _evaluate(act, ts.actor, config.eval_episodes,
                                            seed=10_000_000 + step)
                    entry = {"step": step, "eval_return": eval_return,
                             "train_return": last_return, "critic_loss": loss,
                             "minutes": round((time.time() - t0) / 60, 2)}
                    log.append(entry)
                    write_atomic(log_file, "".join(json.dumps(e) + "\n" for e in log))
                    _save_tree(out / "snapshots" / f"actor_{step:07d}.npz", [],
                               {**actor_to_numpy(ts.actor), "eval_return": eval_return,
                                "step": step, "seed": config.seed})
                    bar.write(json.dumps(entry), file=sys.stderr)
            episode += 1
            last_return = ep_return
            if step % config.checkpoint_every == 0 or step >= config.steps:
                save_checkpoint(step)
    except KeyboardInterrupt:
        # Keep the networks, drop the unfinished episode: resume then starts a fresh episode.
        save_checkpoint(episode_start)
        print(f"interrupted: checkpoint saved at step {episode_start}", file=sys.stderr)
        bar.close()
        env.close()
        raise
    bar.close()
    env.close()
    return log


def export_best_policies(
    run_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    medium_target: float = 1500.0,
    noise_std: float = 0.2,
    episodes: int = 5,
    seed: int = 20_000_000,
    which: tuple[str, ...] = ("good", "medium"),
) -> dict[str, dict[str, Any]]:
    """Pick the Good and Medium snapshots of a run and write ``good.npz`` / ``medium.npz``.

    Every snapshot is re-evaluated the way datasets are recorded (action noise ``noise_std``,
    ``episodes`` episodes): Good is the best one, Medium the one before it whose noisy return is
    closest to ``medium_target`` (OG-MARL's Medium averages about 1500). ``which`` names the
    files to write; a run with frequent snapshots early on gives a finer choice of Medium.

    Example:
        >>> export_best_policies("runs/td3", "verify/halfcheetah/policies")  # doctest: +SKIP
    """
    snapshots = sorted((Path(run_dir).expanduser() / "snapshots").glob("actor_*.npz"))
    if not snapshots:
        raise BrudError(f"no snapshots in {Path(run_dir) / 'snapshots'}; train first")
    scored = []
    for snap in snapshots:
        params = load_policy(snap)
        noisy = rollout_returns(numpy_policy(params), episodes, seed, noise_std=noise_std)
        with np.load(snap) as data:
            scored.append((int(data["step"]), float(noisy.mean()), float(data["eval_return"]),
                           snap))
    good = max(scored, key=lambda s: s[1])
    earlier = [s for s in scored if s[0] < good[0]] or [good]
    medium = min(earlier, key=lambda s: abs(s[1] - medium_target))
    out = {}
    chosen = {"good": good, "medium": medium}
    for name in which:
        step, noisy_return, eval_return, snap = chosen[name]
        path = export_policy(snap, Path(out_dir).expanduser() / f"{name}.npz")
        out[name] = {"path": str(path), "step": step, "eval_return": eval_return,
                     "noisy_return": noisy_return, "snapshot": str(snap)}
    return out
