"""Compiled trainers shared across numeric settings: one XLA program per trainer structure.

Compiling a trainer costs seconds of CPU; running a verifier check of a few seconds, less. A
numeric setting that changes no shape and no branch of the trainer (:data:`SETTINGS`: the
learning rate, the clip bound, PJAP's alpha and eps, a behaviour-cloning weight) is therefore
an *argument* of the compiled program, not a constant baked into it: :func:`shared_structure`
is what the program depends on, :func:`numeric_settings` the values passed at each call and
:func:`with_settings` the config the trainer is traced with. :class:`Compiled` is the
verifier's jitted trainer (:func:`verify.harness.verify_game`), trained in chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from brud_analysis.game import Game
from verify import polygames, sampling
from verify.polygames import (
    Bound,
    OfflineConfig,
    Trajectory,
    log_starts,
    reward_function,
    run_in_chunks,
)

# The numeric settings of an offline run that change no shape and no branch of the trainer:
# passed to a compiled trainer as arguments, one compilation serves every value
# (:func:`shared_structure`, :func:`with_settings`).
SETTINGS = ("lr", "clip", "alpha", "eps", "bc")


def numeric_settings(config: OfflineConfig) -> dict[str, float]:
    """The values of ``config``'s :data:`SETTINGS` that it uses (``clip`` when set, PJAP's
    ``alpha`` and ``eps`` with PJAP, ``bc`` the weight of a behaviour-cloning regulariser).

    Example:
        >>> numeric_settings(OfflineConfig(steps=10, lr=0.05, clip=1.0))
        {'lr': 0.05, 'clip': 1.0}
    """
    values = {"lr": config.lr}
    if config.clip is not None:
        values["clip"] = config.clip
    if config.pjap is not None:
        values.update(alpha=config.pjap.alpha, eps=config.pjap.eps)
    if _bc_weight(config.regulariser) is not None:
        values["bc"] = float(config.regulariser.weight)
    return values


def _bc_weight(regulariser: Any) -> Any:
    """The weight of a behaviour-cloning regulariser with a numeric weight, else ``None``."""
    if regulariser is None or regulariser.name != "bc" or regulariser.weight is None:
        return None
    return regulariser.weight if sympy.sympify(regulariser.weight).is_number else None


def shared_structure(config: OfflineConfig) -> OfflineConfig:
    """``config`` with its numeric settings replaced by placeholders, and ``steps`` by one log
    interval: what a compiled chunk of training depends on (two configs with the same
    structure train with one program, given :func:`numeric_settings` as arguments).

    Example:
        >>> a = shared_structure(OfflineConfig(steps=100, lr=0.05, log_every=10))
        >>> a == shared_structure(OfflineConfig(steps=300, lr=0.2, log_every=10))
        True
    """
    from brud_analysis.regularisers import bc

    pjap = None if config.pjap is None else replace(config.pjap, alpha=1.0, eps=1.0)
    regulariser = bc(1) if _bc_weight(config.regulariser) is not None else config.regulariser
    return replace(config, steps=config.log_every, lr=1.0, pjap=pjap,
                   clip=None if config.clip is None else 1.0, regulariser=regulariser)


def with_settings(config: Any, values: dict[str, Any]) -> Any:
    """A copy of ``config`` (an :class:`~verify.polygames.OfflineConfig`, or an
    :class:`~verify.polygames.OnlineConfig` whose fields ``lr``, ``noise_std``, ``clip`` and,
    with ``slots``, ``buffer_size`` may be given) holding ``values`` (e.g. traced arrays) for
    its numeric settings.

    Not validated again (a traced value has no truth value): ``values`` must be those of a
    validated config (:func:`numeric_settings`). The trainer never branches on them.

    Example:
        >>> c = OfflineConfig(steps=10, clip=1.0)
        >>> with_settings(c, {"lr": 0.5, "clip": 2.0}).clip
        2.0
    """
    def copy(obj: Any, changes: dict[str, Any]) -> Any:
        out = object.__new__(type(obj))
        for f in fields(obj):
            object.__setattr__(out, f.name, changes.get(f.name, getattr(obj, f.name)))
        return out

    from brud_analysis.regularisers import LAMBDA, bc

    top = {k: v for k, v in values.items() if k in {f.name for f in fields(config)}}
    if "bc" in values:  # the penalty with its weight a parameter, and the weight's value
        top["regulariser"] = Bound(bc(LAMBDA).penalty, {LAMBDA: values["bc"]})
    if getattr(config, "pjap", None) is not None:
        top["pjap"] = copy(config.pjap, {k: v for k, v in values.items()
                                         if k in ("alpha", "eps")})
    return copy(config, top)


class Compiled:
    """The trainer, jitted once per (game, trainer structure): one compilation serves every
    dataset of the same shape and, for the package's trainer (``factory`` is
    :func:`verify.polygames.make_offline_train`; ``config`` is then its
    :func:`shared_structure`), every value of the numeric settings (:func:`numeric_settings`:
    lr, clip, PJAP alpha and eps, a BC weight), which are arguments of the compiled program
    (for checks of a few seconds, compiling is what costs). With PJAP, each chunk's random
    draws are made by a program of their own (the trainer's ``draw`` piece), shared by every
    game and setting of the same shapes. A trainer factory swapped in by a test is jitted per
    whole config instead.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> config = OfflineConfig(steps=10, lr=0.05)
        >>> c = Compiled(twin_peaks(), shared_structure(config), polygames.make_offline_train)
        >>> c.run(jax.random.split(jax.random.key(0), 2), jnp.full((5, 2), 0.6),
        ...       np.zeros((2, 2)), config, None).policy.shape
        (2, 11, 2)
    """

    def __init__(self, game: Game, config: OfflineConfig, factory: Callable) -> None:
        self.reward = jax.jit(reward_function(game))  # eager, each op would compile alone
        self.shared = factory is polygames.make_offline_train
        self.init = self.advance = self.draw = None
        n_pieces = 3  # init, advance, draw (polygames.make_offline_train)
        if self.shared:
            # config is the shared structure: the settings arrive as traced values
            def pieces(settings: dict) -> tuple:
                return factory(game, with_settings(config, settings)).chunks
        else:  # a swapped-in trainer: compiled with config's constants, settings unused
            trainer = factory(game, config)
            self.train = jax.jit(jax.vmap(trainer, in_axes=(0, None, 0)))
            chunks = getattr(trainer, "chunks", None)
            if chunks is None:
                return
            n_pieces = len(chunks)

            def pieces(settings: dict) -> tuple:
                return chunks

        self.init = jax.jit(jax.vmap(lambda s, k, d, t: pieces(s)[0](k, d, t),
                                     in_axes=(None, 0, None, 0)))
        self.advance = jax.jit(jax.vmap(lambda s, st, d, c, dr: pieces(s)[1](st, d, c, dr),
                                        in_axes=(None, 0, None, None, 0)))
        if n_pieces > 2 and config.pjap is not None:
            # PJAP's random draws in a program of their own: the update loop compiles without
            # the random number generator (threefry; a PJAP advance program 2.4-2.6 -> 1.6-1.8 s
            # of compile CPU), and the draws' program (~0.9 s), whose only inputs are the runs'
            # keys, is one per shape for every game and setting (_pjap_draws: one jitted
            # function, so shared in memory too, not only through a persistent cache)
            if self.shared:
                pjap = config.pjap
                self.draw = lambda s, st, d, c: _pjap_draws(
                    st[3], len(c), config.log_every, config.batch_size, pjap.refresh,
                    int(d.shape[0]))
            else:
                self.draw = jax.jit(jax.vmap(lambda s, st, d, c: pieces(s)[2](st, d, c),
                                             in_axes=(None, 0, None, None)))

    def run(self, keys: jax.Array, dataset: jax.Array, inits: np.ndarray, config: OfflineConfig,
            progress: Callable[[int, int], None] | None) -> Trajectory:
        """Train every run, in chunks of log intervals where the trainer allows it: a Ctrl-C
        (KeyboardInterrupt) lands between two chunks, within about a second, and ``progress``
        is told the updates done after each."""
        theta0 = jnp.asarray(inits)
        if self.init is None or self.advance is None:
            return jax.tree.map(np.asarray, self.train(keys, dataset, theta0))
        settings = {k: jnp.float32(v) for k, v in numeric_settings(config).items()}
        starts = log_starts(config)
        size = chunk_logs(len(starts), config, len(inits), int(dataset.shape[0]))
        advance, draw = self.advance, self.draw
        if config.pjap is not None and len(inits) * size * config.log_every * (
                config.batch_size + (config.pjap.refresh or 0)) * 4 > DRAWS_BYTES:
            draw = None  # a chunk's draws too large to hold: drawn update by update (same runs)

        def step(state: Any, chunk: jax.Array) -> tuple:
            draws = None if draw is None else draw(settings, state, dataset, chunk)
            return advance(settings, state, dataset, chunk, draws)

        _, (policy, rew, dist) = run_in_chunks(
            step,
            self.init(settings, keys, dataset, theta0), starts, size, config.log_every,
            progress)
        th0 = np.asarray(theta0)
        r0 = np.asarray(self.reward(theta0))
        # NumPy arrays in the JAX-typed record, as the unchunked path's tree.map gives
        return Trajectory(np.concatenate([th0[:, None], policy], axis=1),  # type: ignore[arg-type]
                          np.concatenate([r0[:, None], rew], axis=1), dist)  # type: ignore[arg-type]


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _pjap_draws(keys: jax.Array, n_logs: int, log_every: int, batch: int, refresh: int | None,
                n_items: int) -> Any:
    """Every run's PJAP draws for ``n_logs`` log intervals (:func:`verify.sampling.pjap_draws`
    of each of the ``(S,)`` keys): one compilation per shape in a process."""
    return jax.vmap(lambda k: sampling.pjap_draws(k, n_logs, log_every, batch, refresh,
                                                  n_items))(keys)


# At most this many bytes of PJAP draws per chunk (float32 uniforms and int32 refresh
# indices); past it (a long log interval of many runs) the updates draw as they go.
DRAWS_BYTES = 64 * 2**20

# Work per training chunk, in (runs x updates x rows touched per update): one 250-update log
# interval of 256 runs (the CLI default), well under a second of an idle CPU core, so a
# Ctrl-C waits about that long. PJAP touches every row per update (priorities), uniform a batch.
CHUNK_WORK = 4e6

# At most this many log intervals per chunk: the chunk's length is a shape of the compiled
# program, and most runs log 200-2000 points, multiples of 50, so runs of different lengths
# share one program (a chunk is a Python round trip, well under a millisecond).
CHUNK_LOGS = 50


def chunk_logs(n_logs: int, config: OfflineConfig, runs: int, rows: int) -> int:
    """Log intervals per chunk: the largest divisor of ``n_logs`` within :data:`CHUNK_WORK`
    and :data:`CHUNK_LOGS` (a divisor: every chunk has one shape, so one compilation), or
    within :data:`CHUNK_WORK` alone where that divisor is small (e.g. ``n_logs`` prime).

    Example:
        >>> chunk_logs(400, OfflineConfig(steps=400), 16, 100), chunk_logs(
        ...     401, OfflineConfig(steps=401), 16, 100)
        (50, 401)
    """
    per_log = runs * config.log_every * (config.batch_size + (rows if config.pjap else 0))
    fit = max(1, int(CHUNK_WORK // max(1, per_log)))
    divisors = [d for d in range(1, n_logs + 1) if n_logs % d == 0 and d <= fit]
    shared = max(d for d in divisors if d <= CHUNK_LOGS)
    return shared if shared >= CHUNK_LOGS // 5 else divisors[-1]


