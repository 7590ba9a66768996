"""Animations of training runs over the reward surface (GIF via Pillow; MP4 where ffmpeg exists).

* :func:`animate_verification` (``brud verify ... --animate FILE``): the trained runs' policies
  moving over the reward surface frame by frame, with the dataset, a minibatch drawn by the
  sampling rule at the highlighted run's policy, the predicted fixed points and the reward so far.
  With PJAP the data points are coloured by their priority ``max(exp(-alpha d^2), eps)`` at that
  policy (docs/theory.md#pjap): the buffer "lights up" around the policy as it moves.
* :func:`animate_online` (``brud online ... --animate FILE``): paper Fig. 2 in motion, one panel
  per buffer size: the FIFO buffer (coloured by age), the minibatch of the last update, and the
  policy's path. The buffer and the minibatch are reconstructed *exactly* from a replay of the
  run logged at every step (:func:`record_online`; the tests check the reconstruction against
  the trainer's own final buffer and logged distances).

The harness does not keep the minibatches of offline runs, so the verify animation's batch is
*a* minibatch drawn by the same rule (uniform, or PJAP priorities recomputed at the policy, i.e.
full refresh) at the shown policy, not the batch of the logged update; the figure says so.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from verify.polygames import OnlineConfig
from verify.sampling import PJAPConfig, uniform_indices

__all__ = [
    "MIN_FRAMES",
    "OnlineRecording",
    "animate_online",
    "animate_verification",
    "check_animation_path",
    "record_online",
]

MIN_FRAMES = 10  # the CLI contract: an animation has at least this many frames
_FORMATS = (".gif", ".mp4")


def _ffmpeg_available() -> bool:
    from matplotlib import animation

    return bool(animation.writers.is_available("ffmpeg"))


def check_animation_path(path: str | os.PathLike[str], game: Game | None = None) -> Path:
    """Refuse, before any training, an animation that could not be written.

    The suffix picks the format: ``.gif`` (Pillow, always available) or ``.mp4`` (needs
    ``ffmpeg`` on PATH). Raises :class:`BrudError` with one line.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> check_animation_path(d / "run.gif").suffix
        '.gif'
        >>> check_animation_path(d / "run.avi")
        Traceback (most recent call last):
        ...
        brud_analysis.errors.BrudError: animations are written as .gif or .mp4, got run.avi
    """
    from brud_analysis.output import check_output_path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise BrudError(f"animations are written as .gif or .mp4, got {path.name}")
    if suffix == ".mp4" and not _ffmpeg_available():
        raise BrudError("writing .mp4 needs ffmpeg on PATH; use a .gif path instead")
    if game is not None and game.n_agents != 2:
        raise BrudError(f"animations draw the reward surface of 2-agent games; this one has "
                        f"{game.n_agents}")
    return check_output_path(path)


def _save_animation(fig, draw, frames: int, path: Path, fps: int, config: dict,
                    still: Sequence = ()) -> Path:
    """Render, with the run's provenance in the file (GIF comment, MP4 ``comment`` tag), to a
    temporary file next to ``path``, then move it into place atomically (``still``: artists
    the frames never change, drawn once; :func:`brud_analysis.figure_files.save_animation`)."""
    from brud_analysis.figure_files import save_animation

    return save_animation(fig, draw, frames, path, config, fps=fps, still=still)


def _surface(ax, game: Game, limits, resolution: int) -> list:
    """Draw the reward surface (and its colorbar) on ``ax``; return what it added: the
    filled contour and the colorbar's axes, which no frame changes."""
    from verify.plots import draw_reward_surface

    children, axes = {id(a) for a in ax.get_children()}, {id(a) for a in ax.figure.axes}
    draw_reward_surface(ax, game, limits, resolution=resolution)
    return ([a for a in ax.get_children() if id(a) not in children]
            + [a for a in ax.figure.axes if id(a) not in axes])


def _frame_indices(n_logged: int, frames: int) -> np.ndarray:
    frames = max(MIN_FRAMES, frames)
    return np.round(np.linspace(0, n_logged - 1, frames)).astype(int)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _priorities(dataset: np.ndarray, policy: np.ndarray, pjap: PJAPConfig) -> np.ndarray:
    gap = dataset - policy
    d = (np.abs(gap).sum(axis=1) if pjap.distance == "l1"
         else np.sqrt((gap * gap).sum(axis=1)))
    return np.maximum(np.exp(-pjap.alpha * d * d), pjap.eps)


def animate_verification(result, game: Game, path: str | os.PathLike[str], *,
                         pjap: PJAPConfig | None = None, frames: int = 40, max_runs: int = 64,
                         batch_size: int = 64, fps: int = 8, seed: int = 0) -> Path:
    """Animate a :class:`verify.harness.VerificationResult` (>= 10 frames); return the path.

    Example:
        >>> import tempfile, pathlib
        >>> from brud_analysis.catalogue import twin_peaks
        >>> from brud_analysis.data import Normal
        >>> from verify.harness import verify_game
        >>> r = verify_game(twin_peaks(), Normal([0.6, 0.6], [0.3, 0.3]), seeds=8, steps=400,
        ...                 lr=0.05)
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "v.gif"
        >>> animate_verification(r, twin_peaks(), out, frames=10).exists()
        True
    """

    from verify.plots import _limits

    path = check_animation_path(path, game)
    traj = result.trajectories
    if traj is None or result.dataset is None:
        raise BrudError("this result keeps no trajectories to animate")
    policy = np.asarray(traj.policy, float)  # (S, L+1, 2)
    reward = np.asarray(traj.reward, float)
    keep = np.all(np.isfinite(policy), axis=(1, 2))
    policy, reward = policy[keep][:max_runs], reward[keep][:max_runs]
    if not len(policy):
        raise BrudError("every run diverged: nothing to animate")
    data = np.asarray(result.dataset, float)
    steps = int(result.details.get("steps", policy.shape[1] - 1))
    idx = _frame_indices(policy.shape[1], frames)
    update_of = np.linspace(0, steps, policy.shape[1])
    rng = np.random.default_rng(seed)
    predicted = np.array([p.point for p in result.predicted], float).reshape(-1, 2)
    # the bulk of the data (2-98 % per axis), not its far tail, sets the view with the runs
    lo_q, hi_q = np.nanpercentile(data, [2, 98], axis=0)
    bulk = data[np.all((data >= lo_q) & (data <= hi_q), axis=1)]
    limits = _limits(policy, predicted, bulk, pad=0.08)

    plt = _pyplot()
    fig, (ax, axr) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=80,
                                  gridspec_kw={"width_ratios": [1.25, 1]})
    still = _surface(ax, game, limits, 80)
    if pjap is not None:
        data_art = ax.scatter(data[:, 0], data[:, 1], s=6, c=np.zeros(len(data)),
                              cmap="inferno", vmin=0, vmax=1, edgecolors="none",
                              label="data (colour: PJAP priority at the highlighted policy)")
        fig.colorbar(data_art, ax=ax, label="priority max(exp(-alpha d^2), eps)", pad=0.01)
    else:
        data_art = ax.scatter(data[:, 0], data[:, 1], s=4, c="lightgrey", alpha=0.5,
                              edgecolors="none", label="data")
        still.append(data_art)
    for p in result.predicted:
        ax.plot(*p.point, "X", ms=11, mec="black", color="tab:green" if p.stable else "tab:grey",
                label="predicted (stable)" if p.stable else "predicted (unstable)")
    # thin, translucent crosses: the priorities under them stay visible
    batch_art = ax.scatter([], [], s=14, marker="x", c="red", linewidths=0.8, alpha=0.6,
                           label="a minibatch drawn at the highlighted policy")
    runs_art = ax.scatter(policy[:, 0, 0], policy[:, 0, 1], s=14, c="white",
                          edgecolors="black", linewidths=0.4, label=f"{len(policy)} runs")
    (trail,) = ax.plot([], [], color="cyan", lw=1.5, label="highlighted run")
    ax.set_xlim(limits[:2])
    ax.set_ylim(limits[2:])
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=6, loc="lower left")
    for r in reward:
        still += axr.plot(update_of, r, color="0.75", lw=0.5)
    still += axr.plot(update_of, reward[0], color="tab:cyan", lw=1.5, label="highlighted run")
    still += axr.plot(update_of, np.mean(reward, axis=0), color="black", lw=1.5,
                      label="mean of runs")
    still += [axr.xaxis, axr.yaxis]  # fixed limits: drawn under the lines, never changed
    marker = axr.axvline(0, color="tab:red", lw=1)
    # far starts begin deep in the valleys: scale the axis to the rest of training so the
    # approach to the fixed points stays readable (the first tenth may leave the frame)
    later = reward[:, max(1, reward.shape[1] // 10):]
    if np.isfinite(later).any():
        lo_r, hi_r = np.nanmin(later), np.nanmax(reward)
        pad = 0.05 * max(hi_r - lo_r, 1e-6)
        axr.set_ylim(lo_r - pad, hi_r + pad)
    axr.set_xlabel("update")
    axr.set_ylabel("reward R(theta)")
    axr.legend(fontsize=7, loc="lower right")
    what = (f"PJAP alpha={pjap.alpha:g}, eps={pjap.eps:g}, {pjap.distance}" if pjap is not None
            else "uniform BRUD sampling")
    title = fig.suptitle("")
    fig.tight_layout(rect=(0, 0, 1, 0.93))

    def draw(k: int):
        t = idx[k]
        here = policy[:, t]
        runs_art.set_offsets(here)
        trail.set_data(policy[0, : t + 1, 0], policy[0, : t + 1, 1])
        if pjap is not None:
            prio = _priorities(data, here[0], pjap)
            data_art.set_array(prio)
            data_art.set_sizes(3 + 40 * prio)  # high priority: larger and brighter
            weights = prio ** pjap.exponent
            pick = rng.choice(len(data), size=batch_size, p=weights / weights.sum())
        else:
            pick = rng.integers(0, len(data), size=batch_size)
        batch_art.set_offsets(data[pick])
        marker.set_xdata([update_of[t], update_of[t]])
        title.set_text(f"R = {game.reward}   {what}   update {int(round(update_of[t]))}/{steps}")
        return runs_art, trail, batch_art, marker, data_art, title

    try:
        return _save_animation(fig, draw, len(idx), path, fps, {
            "figure": "verify animation", "reward": str(game.reward), "steps": steps,
            "runs_shown": len(policy), "dataset_size": len(data), "batch_size": batch_size,
            "pjap": None if pjap is None else vars(pjap), "frames": len(idx), "fps": fps,
            "seed": seed}, still)
    finally:
        plt.close(fig)


# ------------------------------------------------------------------------------ online


@dataclass
class OnlineRecording:
    """One online run replayed at every environment step.

    Attributes:
        policy: ``(T + 1, n)`` policy before step 0, after step 0, ...
        actions: ``(T, n)`` the joint action pushed into the buffer at each step.
        batches: ``(T, B, n)`` the minibatch of the last update of each step (NaN before the
            first update, which waits for ``B`` transitions).
        buffer_size: ``K``.
        distance: ``(T,)`` the trainer's logged mean L1 distance of that minibatch.
    """

    policy: np.ndarray
    actions: np.ndarray
    batches: np.ndarray
    buffer_size: int
    distance: np.ndarray

    def buffer_at(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """FIFO contents after environment step ``step`` and each item's age (in steps)."""
        first = max(0, step + 1 - self.buffer_size)
        return self.actions[first: step + 1], step - np.arange(first, step + 1)


def record_online(game: Game, config: OnlineConfig, key: jax.Array,
                  theta0: Sequence[float]) -> OnlineRecording:
    """Replay one run of :func:`verify.polygames.make_online_train` logged at every step and
    reconstruct its buffer and minibatches from the same keys and counters the trainer uses.

    Example:
        >>> import jax
        >>> from brud_analysis.catalogue import sign_agreement
        >>> cfg = OnlineConfig(buffer_size=16, batch_size=8, steps=40)
        >>> rec = record_online(sign_agreement(), cfg, jax.random.key(0), [-0.5, 0.6])
        >>> rec.policy.shape, rec.batches.shape
        ((41, 2), (40, 8, 2))
    """
    from dataclasses import replace

    from verify.online_programs import online_settings, train_program

    cfg = replace(config, log_every=1)
    start = jnp.asarray(theta0, jnp.float32)
    # the trainer's run, from the program every buffer size shares (bit for bit the run of
    # jit(make_online_train(game, cfg)), one compilation for all panels)
    traj = jax.tree.map(lambda a: a[0], train_program(game, cfg)(
        key[None], start, online_settings(cfg))[0])
    policy = np.asarray(traj.policy, np.float32)
    n, steps, K, B, U = start.shape[0], cfg.steps, cfg.buffer_size, cfg.batch_size, \
        cfg.updates_per_step
    # Same keys and counters as make_online_train: split(key) -> (minibatch stream, noise).
    seed_key, noise_key = jax.random.split(key)
    seed = jax.random.bits(seed_key, (), jnp.uint32)
    t = jnp.arange(steps, dtype=jnp.uint32)
    # lax.map, not vmap: the same draws, and a normal sampler under vmap compiles ~2x slower
    noise = jax.lax.map(lambda s: jax.random.normal(jax.random.fold_in(noise_key, s), (n,),
                                                    jnp.float32), t)
    noisy = jnp.asarray(policy[:-1]) + cfg.noise_std * noise
    if cfg.clip is not None:
        noisy = jnp.clip(noisy, -cfg.clip, cfg.clip)
    actions = np.asarray(noisy)
    idx = np.asarray(_replay_indices(seed, t, jnp.uint32(K), batch=B, updates=U))
    batches = np.full((steps, B, n), np.nan, np.float32)
    slots = np.zeros((K, n), np.float32)
    for s in range(steps):
        slots[s % K] = actions[s]
        if s + 1 >= B:
            batches[s] = slots[idx[s]]
    return OnlineRecording(policy, actions, batches, K, np.asarray(traj.distance))


@functools.partial(jax.jit, static_argnames=("batch", "updates"))
def _replay_indices(seed: jax.Array, t: jax.Array, capacity: jax.Array, *, batch: int,
                    updates: int) -> jax.Array:
    """The minibatch indices of the last update of each environment step ``t`` (integer
    operations: jitted, the same indices as the trainer's; one program for every buffer size)."""
    return jax.vmap(lambda s: uniform_indices(
        seed, s * jnp.uint32(updates) + jnp.uint32(updates - 1), batch,
        jnp.minimum(s + 1, capacity).astype(jnp.int32)))(t)


def animate_online(game: Game, configs: Sequence[OnlineConfig], key: jax.Array,
                   theta0: Sequence[float], path: str | os.PathLike[str], *, frames: int = 40,
                   fps: int = 8) -> Path:
    """Animate online MADDPG for each buffer size in ``configs`` (one panel each); >= 10 frames.

    Example:
        >>> import tempfile, pathlib, jax
        >>> from brud_analysis.catalogue import sign_agreement
        >>> cfg = OnlineConfig(buffer_size=16, batch_size=8, steps=40)
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "o.gif"
        >>> animate_online(sign_agreement(), [cfg], jax.random.key(0), [-0.5, 0.6], out,
        ...                frames=10).exists()
        True
    """
    path = check_animation_path(path, game)
    if not configs:
        raise BrudError("nothing to animate: no buffer size")
    recs = [record_online(game, c, key, theta0) for c in configs]
    steps = configs[0].steps
    idx = _frame_indices(steps, frames)  # environment steps shown
    box = configs[0].clip if configs[0].clip is not None else 1.0
    pts = np.concatenate([np.concatenate([r.policy, r.actions]) for r in recs])
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    lo = float(min(-box, pts.min())) - 0.05
    hi = float(max(box, pts.max())) + 0.05
    limits = (lo, hi, lo, hi)
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(recs), figsize=(4.3 * len(recs), 4.1), dpi=80,
                             squeeze=False)
    arts, still = [], []
    for ax, rec, cfg in zip(axes[0], recs, configs, strict=True):
        still += _surface(ax, game, limits, 70)
        buf = ax.scatter([], [], s=6, c=[], cmap="Greys_r", vmin=0, vmax=cfg.buffer_size,
                         edgecolors="none", label="buffer (lighter = older)")
        bat = ax.scatter([], [], s=16, marker="x", c="red", label="minibatch")
        (trail,) = ax.plot([], [], color="cyan", lw=1.5, label="policy path")
        (head,) = ax.plot([], [], "*", color="tab:orange", ms=13, mec="black", label="policy")
        ax.set_xlim(limits[:2])
        ax.set_ylim(limits[2:])
        ax.legend(fontsize=6, loc="lower left")
        arts.append((ax, rec, cfg, buf, bat, trail, head))
    title = fig.suptitle("")
    fig.tight_layout(rect=(0, 0, 1, 0.92))

    def draw(k: int):
        s = idx[k]
        out = [title]
        for ax, rec, cfg, buf, bat, trail, head in arts:
            items, age = rec.buffer_at(s)
            buf.set_offsets(items)
            buf.set_array(age.astype(float))
            batch = rec.batches[s]
            bat.set_offsets(batch[np.all(np.isfinite(batch), axis=1)] if np.isfinite(
                batch).any() else np.empty((0, 2)))
            trail.set_data(rec.policy[: s + 2, 0], rec.policy[: s + 2, 1])
            head.set_data([rec.policy[s + 1, 0]], [rec.policy[s + 1, 1]])
            r = float(game.numeric_reward()(rec.policy[s + 1].astype(float)))
            ax.set_title(f"buffer size {cfg.buffer_size}: R = {r:.3f}", fontsize=9)
            out += [buf, bat, trail, head]
        title.set_text(f"online MADDPG on R = {game.reward}: environment step {s + 1}/{steps} "
                       f"(batch {configs[0].batch_size}, noise {configs[0].noise_std:g})")
        return out

    try:
        return _save_animation(fig, draw, len(idx), path, fps, {
            "figure": "online animation", "reward": str(game.reward),
            "configs": [vars(c) for c in configs], "theta0": [float(v) for v in theta0],
            "key": np.asarray(jax.random.key_data(key)).tolist(), "frames": len(idx),
            "fps": fps}, still)
    finally:
        plt.close(fig)
