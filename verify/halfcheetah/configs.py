"""Named configurations of the HalfCheetah experiment: ``paper`` (GPU scale) and ``cpu``, and
the four systems.

Both configurations run the same code; ``cpu`` is a complete, smaller system sized so that two
datasets x two systems x 3 seeds finish in about half an hour on a shared 2-core machine.

Systems: ``maddpg-cql`` and ``maddpg-cql-pjap`` are the paper's pair. ``maddpg-cql-bc`` and
``maddpg-cql-bc-pjap`` are a **deviation from the paper's algorithm**: the same critic with a
TD3+BC-style actor term (``bc_weight``, default :data:`DEFAULT_BC_WEIGHT`), identical in both
arms except the sampler, so that PJAP can be compared on a CPU budget where the pure actor does
not yet run (README, "Why the paper's algorithm needs GPU-scale updates").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from verify.halfcheetah.learner import LearnerConfig
from verify.sampling import PJAPConfig

SYSTEMS = ("maddpg-cql", "maddpg-cql-pjap", "maddpg-cql-bc", "maddpg-cql-bc-pjap")
#: Systems that deviate from the paper's algorithm (TD3+BC-style actor term).
BC_SYSTEMS = ("maddpg-cql-bc", "maddpg-cql-bc-pjap")
#: TD3+BC's alpha (Fujimoto & Gu 2021): the actor term is -w/mean|Q| * mean(Q) + BC MSE.
DEFAULT_BC_WEIGHT = 2.5


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


def is_pjap(system: str) -> bool:
    """Whether ``system`` samples by PJAP.

    Example:
        >>> is_pjap("maddpg-cql-bc-pjap"), is_pjap("maddpg-cql-bc")
        (True, False)
    """
    return system.endswith("-pjap")


def make_config(
    name: str,
    system: str,
    updates: int | None = None,
    *,
    bc_weight: float | None = None,
    pjap_refresh: str = "uniform",
    eval_every: int | None = None,
) -> ExperimentConfig:
    """The named configuration for ``system`` (one of :data:`SYSTEMS`), optionally with a
    different number of updates (the schedule is clipped to fit).

    ``bc_weight`` (only for the ``-bc`` systems; default :data:`DEFAULT_BC_WEIGHT`) is the
    TD3+BC weight; ``pjap_refresh`` is ``"uniform"`` or ``"priority"`` (the authors') for the
    PJAP systems; ``eval_every`` is rounded up to a multiple of the chunk.

    Example:
        >>> c = make_config("paper", "maddpg-cql-pjap", updates=300)
        >>> c.updates, c.chunk, c.eval_every, c.learner.pjap.alpha
        (300, 300, 300, 16.0)
        >>> make_config("cpu", "maddpg-cql-bc-pjap").learner.bc_weight
        2.5
    """
    from brud_analysis.errors import BrudError

    if name not in _BASE:
        raise BrudError(f"unknown config {name!r}; choose one of {sorted(_BASE)}")
    if system not in SYSTEMS:
        raise BrudError(f"unknown system {system!r}; choose one of {list(SYSTEMS)}")
    config = _BASE[name]
    if is_pjap(system):
        pjap = replace(PAPER_PJAP, refresh=_PJAP_REFRESH[name])
        config = replace(config, learner=replace(config.learner, pjap=pjap,
                                                 pjap_refresh=pjap_refresh))
    elif pjap_refresh != "uniform":
        raise BrudError(f"--pjap-refresh applies to the PJAP systems, not {system}")
    if system in BC_SYSTEMS:
        weight = DEFAULT_BC_WEIGHT if bc_weight is None else bc_weight
        config = replace(config, learner=replace(config.learner, bc_weight=weight))
    elif bc_weight is not None:
        raise BrudError(f"--bc-weight applies to {list(BC_SYSTEMS)}, not {system}")
    if eval_every is not None:
        if eval_every < 1:
            raise BrudError(f"--eval-every must be a positive integer, got {eval_every}")
        chunk = min(config.chunk, eval_every)
        config = replace(config, chunk=chunk, eval_every=-(-eval_every // chunk) * chunk)
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
