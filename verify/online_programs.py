"""Compiled online MADDPG trainers shared across buffer sizes, learning rates and noise levels.

:func:`verify.polygames.make_online_train` bakes the buffer size ``K`` into its program (the
buffer's rows) unless it is given ``slots``: then the buffer array has ``slots`` rows, the ones
past ``K`` are never touched, and ``K``, the learning rate and the exploration noise can be
traced *arguments*. One compilation (a second or more of CPU each) then serves every buffer
size up to :data:`ONLINE_SLOTS` (the paper's Fig. 2 sizes, 32 to 1024): ``brud online
--buffer-sizes 128 256 512 1024`` compiles one trainer, not four, and ``brud online`` and the
paper checks' Fig. 2 runs share it. The runs are bit for bit those of the per-size programs
(same keys, same counters, same float32 operations).

Programs are kept per process by game and trainer structure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from brud_analysis.game import Game
from verify import compiled
from verify.polygames import OnlineConfig, Trajectory, make_online_train

__all__ = ["ONLINE_SLOTS", "chunk_programs", "online_settings", "train_program"]

#: The traced arguments of a program, as :func:`online_settings` returns them.
Settings = dict[str, jax.Array]
#: A chunked trainer's state, one per run (a tuple of arrays; see ``make_online_train``).
ChunkState = tuple[jax.Array, ...]
#: ``run(keys (S,), theta0 (n,), settings) -> (Trajectory, buffers (S, slots, n))``.
TrainProgram = Callable[[jax.Array, jax.Array, Settings], tuple[Trajectory, jax.Array]]
#: ``init(keys (S,), theta0s (S, n)) -> states``.
InitProgram = Callable[[jax.Array, jax.Array], ChunkState]
#: ``advance(states, starts (T,), settings) -> (states, (policy (S, T, n), reward (S, T),
#: distance (S, T)))``.
AdvanceProgram = Callable[[ChunkState, Any, Settings],
                          tuple[ChunkState, tuple[jax.Array, jax.Array, jax.Array]]]
#: ``final_buffer(states, settings) -> buffers (S, slots, n)``.
FinalProgram = Callable[[ChunkState, Settings], jax.Array]

_P = TypeVar("_P")

#: Online runs use a buffer array of at least this many rows.
ONLINE_SLOTS = 1024

_PROGRAMS: dict[tuple, Any] = {}  # values: a TrainProgram or the three chunk programs
_PROGRAMS_KEPT = 64  # (game, structure, kind): past it the programs are compiled afresh


def _structure(config: OnlineConfig) -> tuple[OnlineConfig, int]:
    slots = max(ONLINE_SLOTS, 1 << (config.buffer_size - 1).bit_length())
    return dataclasses.replace(config, buffer_size=slots, lr=1.0, noise_std=0.0), slots


def online_settings(config: OnlineConfig) -> dict[str, jax.Array]:
    """The traced arguments of ``config``'s program: learning rate, noise and buffer size.

    Example:
        >>> s = online_settings(OnlineConfig(buffer_size=128, batch_size=32, steps=100))
        >>> sorted(s), int(s["buffer_size"])
        (['buffer_size', 'lr', 'noise_std'], 128)
    """
    return {"lr": jnp.float32(config.lr), "noise_std": jnp.float32(config.noise_std),
            "buffer_size": jnp.int32(config.buffer_size)}


def _cached(kind: str, game: Game, config: OnlineConfig,
            build: Callable[[OnlineConfig, int], _P]) -> _P:
    structure, slots = _structure(config)
    key = (kind, str(game.reward), game.agent_names, structure)
    if key not in _PROGRAMS:
        if len(_PROGRAMS) >= _PROGRAMS_KEPT:  # bounded, as pjap_field's memo
            _PROGRAMS.clear()
        _PROGRAMS[key] = build(structure, slots)
    return _PROGRAMS[key]


def train_program(game: Game, config: OnlineConfig) -> TrainProgram:
    """``run(keys (S,), theta0 (n,), online_settings(config)) -> (Trajectory, buffers)``:
    :func:`~verify.polygames.make_online_train` vmapped over the keys, jitted; ``buffers`` has
    ``slots >= K`` rows per run (NaN past ``K``).

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> cfg = OnlineConfig(buffer_size=32, batch_size=16, steps=300, lr=0.05)
        >>> run = train_program(sign_agreement(), cfg)
        >>> traj, buf = run(jax.random.split(jax.random.key(0), 2), jnp.array([-0.5, 0.6]),
        ...                 online_settings(cfg))
        >>> traj.policy.shape, buf.shape
        ((2, 301, 2), (2, 1024, 2))
    """
    def build(structure: OnlineConfig, slots: int) -> TrainProgram:
        def one(key: jax.Array, theta0: jax.Array,
                settings: Settings) -> tuple[Trajectory, jax.Array]:
            traced = compiled.with_settings(structure, settings)
            return make_online_train(game, traced, slots=slots)(key, theta0)

        return jax.jit(jax.vmap(one, in_axes=(0, None, None)))

    return _cached("train", game, config, build)


def chunk_programs(game: Game, config: OnlineConfig
                   ) -> tuple[InitProgram, AdvanceProgram, FinalProgram]:
    """The trainer in pieces for chunked training (:func:`verify.polygames.run_in_chunks`),
    each vmapped over runs and jitted: ``init(keys, theta0s)``, ``advance(states, starts,
    settings)`` and ``final_buffer(states, settings)`` (``slots`` rows, NaN past ``K``).

    Example:
        >>> import numpy as np
        >>> from brud_analysis.catalogue import sign_agreement
        >>> cfg = OnlineConfig(buffer_size=32, batch_size=16, steps=300, lr=0.05, log_every=3)
        >>> init, advance, final = chunk_programs(sign_agreement(), cfg)
        >>> s = init(jax.random.split(jax.random.key(0), 2), jnp.array([[-0.5, 0.6]] * 2))
        >>> starts = np.arange(100, dtype=np.uint32) * np.uint32(3)
        >>> s, (policy, reward, distance) = advance(s, starts, online_settings(cfg))
        >>> policy.shape, final(s, online_settings(cfg)).shape
        ((2, 100, 2), (2, 1024, 2))
    """
    def build(structure: OnlineConfig,
              slots: int) -> tuple[InitProgram, AdvanceProgram, FinalProgram]:
        def pieces(settings: Settings | None) -> tuple[Callable[..., Any], ...]:
            traced = structure if settings is None else compiled.with_settings(structure,
                                                                                settings)
            return make_online_train(game, traced, slots=slots).chunks  # type: ignore[attr-defined]

        def init(key: jax.Array, theta0: jax.Array) -> ChunkState:
            return pieces(None)[0](key, theta0)

        def advance(state: ChunkState, starts: Any, settings: Settings
                    ) -> tuple[ChunkState, tuple[jax.Array, jax.Array, jax.Array]]:
            return pieces(settings)[1](state, starts)

        def final_buffer(state: ChunkState, settings: Settings) -> jax.Array:
            return pieces(settings)[2](state)

        return (jax.jit(jax.vmap(init)), jax.jit(jax.vmap(advance, in_axes=(0, None, None))),
                jax.jit(jax.vmap(final_buffer, in_axes=(0, None))))

    return _cached("chunks", game, config, build)
