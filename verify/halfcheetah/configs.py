"""Named configurations of the HalfCheetah experiment: ``paper`` (GPU scale) and ``cpu``.

Both run the same code; ``cpu`` is a complete, smaller system sized so that two datasets x two
systems x 3 seeds finish in about half an hour on a shared 2-core machine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from verify.halfcheetah.learner import LearnerConfig
from verify.sampling import PJAPConfig

SYSTEMS = ("maddpg-cql", "maddpg-cql-pjap")


@dataclass(frozen=True)
class ExperimentConfig:
    """A learner plus its schedule. All counts are in updates; ``eval_every`` and
    ``checkpoint_every`` are multiples of ``chunk`` (updates per jitted call).

    Example:
        >>> make_config("cpu", "maddpg-cql").learner.pjap is None
        True
    """

    name: str
    learner: LearnerConfig
    updates: int
    chunk: int
    eval_every: int
    eval_episodes: int
    final_episodes: int
    checkpoint_every: int


# The authors' PJAP: clip(exp(-(4 d)^2), 1e-4, 1) with target-policy d, exponent 0.99, 1024
# windows re-prioritised after each update (plus the batch just trained on).
PAPER_PJAP = PJAPConfig(alpha=16.0, eps=1e-4, distance="l1", exponent=0.99, refresh=1024)

_BASE = {
    "paper": ExperimentConfig(
        name="paper",
        learner=LearnerConfig(),  # GRU 64 policy, 128-128 twin critics, 64 x 20, 10 OOD/kind
        updates=500_000,
        chunk=1000,
        eval_every=5000,
        eval_episodes=4,
        final_episodes=40,
        checkpoint_every=5000,
    ),
    "cpu": ExperimentConfig(
        name="cpu",
        learner=LearnerConfig(
            recurrent=False,
            policy_hidden=64,
            critic_hidden=(64, 64),
            batch_sequences=32,
            sequence_length=8,
            ood_per_kind=3,
        ),
        updates=20_000,
        chunk=500,
        eval_every=5000,
        eval_episodes=2,
        final_episodes=10,
        checkpoint_every=2500,
    ),
}

_PJAP_REFRESH = {"paper": 1024, "cpu": 256}


def make_config(name: str, system: str, updates: int | None = None) -> ExperimentConfig:
    """The named configuration for ``system`` (``maddpg-cql`` or ``maddpg-cql-pjap``),
    optionally with a different number of updates (the schedule is clipped to fit).

    Example:
        >>> c = make_config("paper", "maddpg-cql-pjap", updates=300)
        >>> c.updates, c.chunk, c.eval_every, c.learner.pjap.alpha
        (300, 300, 300, 16.0)
    """
    from brud_analysis.errors import BrudError

    if name not in _BASE:
        raise BrudError(f"unknown config {name!r}; choose one of {sorted(_BASE)}")
    if system not in SYSTEMS:
        raise BrudError(f"unknown system {system!r}; choose one of {list(SYSTEMS)}")
    config = _BASE[name]
    if system == "maddpg-cql-pjap":
        pjap = replace(PAPER_PJAP, refresh=_PJAP_REFRESH[name])
        config = replace(config, learner=replace(config.learner, pjap=pjap))
    if updates is not None:
        if updates < 1:
            raise BrudError(f"--updates must be a positive integer, got {updates}")
        chunk = min(config.chunk, updates)
        config = replace(
            config,
            updates=updates,
            chunk=chunk,
            eval_every=min(config.eval_every, updates),
            checkpoint_every=min(config.checkpoint_every, updates),
        )
    return config
