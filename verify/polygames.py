"""Offline BRUD and online replay-buffer MADDPG trainers for polynomial games, in pure JAX.

PureJaxRL style: ``make_offline_train(game, config)`` returns a pure ``train(key, ...)`` built on
``lax.scan`` that can be ``jit``-ed and ``vmap``-ed over seeds, initialisations and datasets.

Policies are linear and deterministic, ``mu_i(theta_i) = theta_i``
(docs/theory.md#polynomial-games), and the critic is the reward itself. Agent ``i``'s BRUD
update (section 3, paper Eq. 2-4) is the gradient
of ``R`` in its own action at ``(theta_i, a_-i)`` with the *other* agents' actions ``a_-i`` taken
from sampled data rows. It is obtained by autodiff of the reward (never hand-written): the
gradient in ``theta`` of the MADDPG actor objective
``sum_i mean_b R(a^b with a_i replaced by theta_i)`` is exactly the BRUD gradient, because
``theta_i`` appears only in the ``i``-th term.

Shapes: ``n`` agents, ``N`` data rows, batch ``B``, ``T`` steps, ``L = T // log_every`` log points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
import sympy

from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from verify import sampling
from verify.sampling import PJAPConfig, uniform_indices

RewardFn = Callable[[jax.Array], jax.Array]
# (reward, theta (n,), rows (B, n), weights (B,) or None) -> ascent direction (n,).
GradientEstimator = Callable[[RewardFn, jax.Array, jax.Array, "jax.Array | None"], jax.Array]


class Trajectory(NamedTuple):
    """What a training run records at each log point.

    Attributes:
        policy: ``(L + 1, n)`` joint policy ``theta``, starting with the initial one.
        reward: ``(L + 1,)`` reward ``R(theta)`` of the joint policy.
        distance: ``(L,)`` mean distance between the minibatch's joint actions and the policy in
            the last update before each log point (L1 unless PJAP uses L2).
    """

    policy: jax.Array
    reward: jax.Array
    distance: jax.Array


@dataclass(frozen=True)
class OfflineConfig:
    """Offline BRUD training on a fixed dataset.

    Attributes:
        steps: number of updates ``T``.
        batch_size: minibatch size ``B`` (rows drawn with replacement).
        lr: learning rate (gradient *ascent* on the reward).
        optimizer: ``"sgd"`` or ``"adam"`` (optax).
        clip: if set, the policy is projected onto ``[-clip, clip]^n`` after each update.
        pjap: PJAP prioritised sampling (docs/theory.md#pjap) instead of uniform.
        log_every: record the trajectory every this many steps (must divide ``steps``).
        gradient: the minibatch gradient estimator, ``(reward, theta, rows, weights) ->
            (n,)``; ``None`` is :func:`brud_gradient`. A seam for variants of the update (and
            for the verifier's mutation tests, which inject known bugs here); it must be a
            hashable, JAX-traceable function.
        regulariser: a :class:`brud_analysis.regularisers.Regulariser` (beyond the paper): each
            agent's objective loses ``mean_b P(theta_i, a_i^b)`` over the sampled batch (BC:
            ``lambda (theta_i - a_i)^2``, TD3+BC style); ``None``: the paper's objective.

    Example:
        >>> OfflineConfig(steps=100).batch_size
        64
    """

    steps: int
    batch_size: int = 64
    lr: float = 0.01
    optimizer: str = "sgd"
    clip: float | None = None
    pjap: PJAPConfig | None = None
    log_every: int = 1
    gradient: GradientEstimator | None = None
    regulariser: Any = None

    def __post_init__(self) -> None:
        _check_common(self.steps, self.batch_size, self.lr, self.optimizer, self.clip,
                      self.log_every)
        if self.regulariser is not None and not self.regulariser.is_numeric():
            raise BrudError("the regulariser has a symbolic weight: give a number to train")


@dataclass(frozen=True)
class OnlineConfig:
    """Online MADDPG with a FIFO replay buffer (docs/theory.md#online-learning, paper Fig. 2).

    Attributes:
        buffer_size: FIFO capacity ``K``.
        batch_size: minibatch size ``B``; updates start once the buffer holds ``B`` transitions.
        steps: environment steps ``T``; each adds one noisy joint action to the buffer.
        noise_std: Gaussian exploration noise around ``theta``.
        updates_per_step: BRUD updates after each environment step.
        lr: learning rate.
        clip: actions and policy are kept in ``[-clip, clip]^n`` (the paper's action box).
        log_every: record every this many environment steps (must divide ``steps``).
        optimizer: ``"sgd"`` or ``"adam"``.

    Example:
        >>> OnlineConfig(buffer_size=128, batch_size=32, steps=10).noise_std
        0.1
    """

    buffer_size: int
    batch_size: int
    steps: int
    noise_std: float = 0.1
    updates_per_step: int = 1
    lr: float = 0.01
    clip: float | None = 1.0
    log_every: int = 1
    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        _check_common(self.steps, self.batch_size, self.lr, self.optimizer, self.clip,
                      self.log_every)
        if self.buffer_size < 1:
            raise BrudError(f"buffer size must be >= 1, got {self.buffer_size}")
        if self.updates_per_step < 1:
            raise BrudError(f"updates per step must be >= 1, got {self.updates_per_step}")
        if not self.noise_std >= 0:
            raise BrudError(f"exploration noise must be >= 0, got {self.noise_std}")


def _check_common(steps: int, batch_size: int, lr: float, optimizer: str, clip: float | None,
                  log_every: int) -> None:
    if steps < 1:
        raise BrudError(f"steps must be >= 1, got {steps}")
    if batch_size < 1:
        raise BrudError(f"batch size must be >= 1, got {batch_size}")
    if not lr > 0:
        raise BrudError(f"learning rate must be > 0, got {lr}")
    if optimizer not in ("sgd", "adam"):
        raise BrudError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    if clip is not None and not clip > 0:
        raise BrudError(f"clip must be > 0, got {clip}")
    if log_every < 1 or steps % log_every:
        raise BrudError(f"log_every ({log_every}) must be a positive divisor of steps ({steps})")


def reward_function(game: Game) -> RewardFn:
    """The game's reward as a JAX function ``(..., n) -> (...)`` (via ``sympy.lambdify``).

    Example:
        >>> import jax.numpy as jnp
        >>> from brud_analysis.catalogue import sign_agreement
        >>> float(reward_function(sign_agreement())(jnp.array([2.0, 3.0])))
        6.0
    """
    game.require_numeric()
    # Exact rationals become Python floats in the generated code: weak-typed, so float32 stays.
    scalar_reward = sympy.lambdify(game.agents, game.reward, modules="jax")
    n = game.n_agents

    def reward(actions: jax.Array) -> jax.Array:
        columns = [actions[..., i] for i in range(n)]
        # A constant term alone would not broadcast to the batch shape.
        return scalar_reward(*columns) + jnp.zeros_like(columns[0])

    return reward


def brud_gradient(reward: RewardFn, theta: jax.Array, rows: jax.Array,
                  weights: jax.Array | None = None) -> jax.Array:
    """BRUD gradient ``g_i = mean_b dR/da_i(theta_i, a^b_-i)`` for every agent, by autodiff.

    Args:
        reward: ``(..., n) -> (...)`` JAX reward.
        theta: ``(n,)`` joint policy.
        rows: ``(B, n)`` sampled data joint actions.
        weights: optional ``(B,)`` per-sample weights (importance sampling); mean otherwise.

    Returns:
        ``(n,)`` the ascent direction of each agent.

    Example:
        >>> import jax.numpy as jnp
        >>> from brud_analysis.catalogue import sign_agreement
        >>> r = reward_function(sign_agreement())
        >>> brud_gradient(r, jnp.array([5.0, 5.0]), jnp.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [3.0, 2.0]
    """
    n = theta.shape[-1]
    batch = rows.shape[0]

    def actor_objective(th: jax.Array) -> jax.Array:
        total = jnp.float32(0.0)
        for i in range(n):
            # Copy i of the batch with agent i's action replaced by its policy theta_i. Built by
            # stacking columns (not a masked select) so XLA fuses it into one elementwise kernel.
            columns = [jnp.broadcast_to(th[i], (batch,)) if j == i else rows[:, j]
                       for j in range(n)]
            values = reward(jnp.stack(columns, axis=-1))  # (B,)
            if weights is None:
                total = total + jnp.mean(values)
            else:
                total = total + jnp.sum(values * weights) / jnp.sum(weights)
        return total

    return jax.grad(actor_objective)(theta)


class Bound(NamedTuple):
    """A regulariser's penalty whose parameters are given values that may be traced arrays
    (:func:`verify.compiled.with_settings`): ``penalty`` in ``THETA``, ``ACTION`` and the symbols of
    ``values``.

    Example:
        >>> from brud_analysis.regularisers import LAMBDA, bc
        >>> g = regulariser_gradient(Bound(bc(LAMBDA).penalty, {LAMBDA: 0.5}))
        >>> g(jnp.array([1.0, 0.0]), jnp.array([[0.0, 1.0], [2.0, 3.0]])).tolist()
        [0.0, 2.0]
    """

    penalty: sympy.Expr
    values: dict[sympy.Symbol, Any]


def regulariser_gradient(regulariser: Any) -> Callable[..., jax.Array]:
    """``grad(theta, rows, weights=None) -> (n,)``: the ascent direction the penalty adds,
    ``-d/dtheta_i mean_b P(theta_i, a_i^b)`` (weighted mean with ``weights``), by autodiff of
    the lambdified penalty (beyond the paper; :mod:`brud_analysis.regularisers`). A
    :class:`Bound` penalty takes its parameters' (possibly traced) values as arguments.

    Example:
        >>> import jax.numpy as jnp
        >>> from brud_analysis.regularisers import bc
        >>> g = regulariser_gradient(bc(0.5))   # -2 * 0.5 * (theta_i - mean_b a_i)
        >>> g(jnp.array([1.0, 0.0]), jnp.array([[0.0, 1.0], [2.0, 3.0]])).tolist()
        [0.0, 2.0]
    """
    from brud_analysis.regularisers import ACTION, THETA

    bound = regulariser.values if isinstance(regulariser, Bound) else {}
    penalty = sympy.lambdify((THETA, ACTION, *bound), regulariser.penalty, modules="jax")
    parameters = tuple(bound.values())

    def objective(theta: jax.Array, rows: jax.Array, weights: jax.Array | None) -> jax.Array:
        values = penalty(theta[None, :], rows, *parameters) + jnp.zeros_like(rows)  # (B, n)
        if weights is None:
            return -jnp.sum(jnp.mean(values, axis=0))
        return -jnp.sum(weights @ values) / jnp.sum(weights)

    def grad(theta: jax.Array, rows: jax.Array, weights: jax.Array | None = None) -> jax.Array:
        return jax.grad(objective)(theta, rows, weights)

    return grad


def expected_brud_field(reward: RewardFn, theta: jax.Array, dataset: jax.Array) -> jax.Array:
    """The BRUD field of a finite dataset (full-batch gradient), ``(n,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> from brud_analysis.catalogue import sign_agreement
        >>> r = reward_function(sign_agreement())
        >>> expected_brud_field(r, jnp.zeros(2), jnp.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [3.0, 2.0]
    """
    return brud_gradient(reward, theta, dataset)


def _optimizer(name: str, lr: float) -> optax.GradientTransformation:
    return optax.sgd(lr) if name == "sgd" else optax.adam(lr)


def _apply(opt: optax.GradientTransformation, theta: jax.Array, opt_state: optax.OptState,
           grad: jax.Array, clip: float | None) -> tuple[jax.Array, optax.OptState]:
    # optax minimises: ascend the reward by descending its negative.
    updates, opt_state = opt.update(-grad, opt_state, theta)
    theta = optax.apply_updates(theta, updates)
    if clip is not None:
        theta = jnp.clip(theta, -clip, clip)
    return theta, opt_state


def _mean_distance(rows: jax.Array, theta: jax.Array, distance: sampling.Distance) -> jax.Array:
    return jnp.mean(sampling.joint_action_distance(rows, theta, distance))


def _pjap_priorities(dataset: jax.Array, theta: jax.Array, pjap: PJAPConfig) -> jax.Array:
    """Every row's priority at ``theta``, relative to the largest (a full refresh: the same
    sampling probabilities, and never all zero in float32)."""
    d = sampling.joint_action_distance(dataset, theta, pjap.distance)
    return sampling.relative_pjap_priority(d, pjap.alpha, pjap.eps)


def _row_priorities(rows: jax.Array, theta: jax.Array, pjap: PJAPConfig) -> jax.Array:
    """Absolute priorities of some rows (a bootstrapped refresh mixes them with older ones)."""
    d = sampling.joint_action_distance(rows, theta, pjap.distance)
    return sampling.pjap_priority(d, pjap.alpha, pjap.eps)


def make_offline_train(
    game: Game, config: OfflineConfig
) -> Callable[[jax.Array, jax.Array, jax.Array], Trajectory]:
    """Build the pure offline BRUD trainer ``train(key, dataset, theta0) -> Trajectory``.

    ``dataset`` is ``(N, n)``, ``theta0`` ``(n,)``; everything is float32. ``train`` is pure, so
    ``jax.jit(jax.vmap(train, in_axes=(0, None, 0)))`` runs many seeds and initialisations on one
    dataset (``in_axes=(0, 0, 0)`` for one dataset per run).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from brud_analysis.catalogue import twin_peaks
        >>> train = make_offline_train(twin_peaks(), OfflineConfig(steps=500, lr=0.05))
        >>> data = jnp.full((10, 2), 0.6)  # a point-mass dataset
        >>> t = train(jax.random.key(0), data, jnp.zeros(2))
        >>> t.policy.shape, round(float(t.policy[-1, 0]), 3)  # 5*0.6 / (2 + 8*0.36)
        ((501, 2), 0.615)
    """
    reward = reward_function(game)
    opt = _optimizer(config.optimizer, config.lr)
    pjap = config.pjap
    batch = config.batch_size
    distance_kind: sampling.Distance = pjap.distance if pjap is not None else "l1"
    estimate = config.gradient or brud_gradient
    penalty_grad = (regulariser_gradient(config.regulariser)
                    if config.regulariser is not None else None)

    def init(key: jax.Array, dataset: jax.Array, theta0: jax.Array) -> tuple:
        """The training state before the first update (a pytree)."""
        dataset = jnp.asarray(dataset, jnp.float32)
        theta0 = jnp.asarray(theta0, jnp.float32)
        seed_key, pjap_key = jax.random.split(key)
        seed = jax.random.bits(seed_key, (), jnp.uint32)
        priorities = (jnp.ones((0,), jnp.float32) if pjap is None
                      else _pjap_priorities(dataset, theta0, pjap) if pjap.refresh is None
                      else _row_priorities(dataset, theta0, pjap))
        return (theta0, opt.init(theta0), priorities, pjap_key, seed)

    def draw(state: tuple, dataset: jax.Array, starts: jax.Array) -> sampling.PJAPDraws | None:
        """PJAP's random draws for the log intervals beginning at ``starts`` from ``state``
        (``None`` without PJAP), for ``advance``: made apart, the update loop compiles without
        the random number generator (the draws' program depends on shapes alone)."""
        if pjap is None:
            return None
        return sampling.pjap_draws(state[3], len(starts), config.log_every, batch,
                                   pjap.refresh, jnp.shape(dataset)[0])

    def advance(state: tuple, dataset: jax.Array, starts: jax.Array,
                draws: sampling.PJAPDraws | None = None
                ) -> tuple[tuple, tuple[jax.Array, jax.Array, jax.Array]]:
        """Run the log intervals beginning at update ``starts`` (``(C,)`` uint32) from
        ``state``, with PJAP's ``draws`` for them (``draw``; ``None``: drawn update by update,
        the same numbers); returns the new state and ``(policy, reward, distance)`` at the C
        logs."""
        dataset = jnp.asarray(dataset, jnp.float32)
        n_items = dataset.shape[0]
        *carry, seed = state
        if draws is not None:  # the key after the draws, as the update loop would leave it
            carry[3] = draws.key

        def update(carry, t, with_distance: bool, drawn: tuple | None):
            theta, opt_state, priorities, pkey = carry
            weights = None
            if pjap is None:
                rows = dataset[uniform_indices(seed, t, batch, n_items)]
            else:
                if drawn is None:
                    pkey, uniforms, extra = sampling.step_draws(pkey, batch, pjap.refresh,
                                                                n_items)
                else:
                    uniforms, extra = drawn
                if pjap.refresh is None:  # every priority recomputed at the current policy
                    priorities = _pjap_priorities(dataset, theta, pjap)
                state = sampling.SamplerState(priorities)
                idx, probs = sampling.sample(pkey, state, batch, pjap.exponent,
                                             uniforms=uniforms)
                rows = dataset[idx]
                if pjap.importance_weights:  # from the priorities: probs may flush to zero
                    weights = sampling.importance_weights(
                        state.priorities[idx] if pjap.exponent == 1.0
                        else state.priorities[idx] ** pjap.exponent, n_items)
            grad = estimate(reward, theta, rows, weights)
            if penalty_grad is not None:  # the same sampled batch: PJAP reweights a_i too
                grad = grad + penalty_grad(theta, rows, weights)
            dist = _mean_distance(rows, theta, distance_kind) if with_distance else None
            theta, opt_state = _apply(opt, theta, opt_state, grad, config.clip)
            if pjap is not None and pjap.refresh is not None:  # bootstrapped refresh
                fresh = sampling.refresh_indices(pkey, n_items, idx, pjap.refresh, extra)
                new = _row_priorities(dataset[fresh], theta, pjap)
                priorities = sampling.update_priorities(
                    sampling.SamplerState(priorities), fresh, new).priorities
            return (theta, opt_state, priorities, pkey), dist

        def log_interval(carry, xs):
            start, drawn = xs  # drawn: this interval's (uniforms, extra), or None

            def plain(c, step):
                return update(c, step[0], False, step[1])[0], None

            steps = start + jnp.arange(config.log_every - 1, dtype=jnp.uint32)
            head = None if drawn is None else jax.tree.map(lambda a: a[:-1], drawn)
            last = None if drawn is None else jax.tree.map(lambda a: a[-1], drawn)
            carry, _ = jax.lax.scan(plain, carry, (steps, head))
            carry, dist = update(carry, start + jnp.uint32(config.log_every - 1), True, last)
            return carry, (carry[0], reward(carry[0]), dist)

        out, logs = jax.lax.scan(log_interval, tuple(carry), (
            starts, None if draws is None else (draws.uniforms, draws.extra)))
        return (*out, seed), logs

    def train(key: jax.Array, dataset: jax.Array, theta0: jax.Array) -> Trajectory:
        theta0 = jnp.asarray(theta0, jnp.float32)
        _, (policy, rew, dist) = advance(init(key, dataset, theta0), dataset,
                                         log_starts(config))
        return Trajectory(
            policy=jnp.concatenate([theta0[None], policy]),
            reward=jnp.concatenate([reward(theta0)[None], rew]),
            distance=dist,
        )

    # The same trainer in pieces, for callers that train in chunks (Ctrl-C lands between two,
    # progress can be shown): init, then advance over consecutive slices of log_starts(config),
    # each with its draw(...) (or None). train(...) is exactly init + one advance over all of
    # them.
    train.chunks = (init, advance, draw)  # type: ignore[attr-defined]
    return train


def log_starts(config: OfflineConfig) -> jax.Array:
    """The update index at which each log interval of ``config`` begins, ``(L,)`` uint32.

    Example:
        >>> log_starts(OfflineConfig(steps=6, log_every=2)).tolist()
        [0, 2, 4]
    """
    return jnp.arange(config.steps // config.log_every, dtype=jnp.uint32) * jnp.uint32(
        config.log_every)


def make_online_train(
    game: Game, config: OnlineConfig, slots: int | None = None
) -> Callable[[jax.Array, jax.Array], tuple[Trajectory, jax.Array]]:
    """Build the online MADDPG trainer ``train(key, theta0) -> (Trajectory, final_buffer)``.

    Each environment step the agents act ``theta + noise`` (clipped to the action box), the joint
    action enters a FIFO buffer of size ``K``, then ``updates_per_step`` BRUD updates use uniform
    minibatches from the filled part of the buffer. ``final_buffer`` is ``(K, n)`` with never-filled
    slots set to NaN. Pure and ``vmap``-able over keys and ``theta0`` ``(n,)``.

    ``slots`` (``>= K``): rows of the buffer array, the ones past ``K`` never used (NaN in
    ``final_buffer``, which is then ``(slots, n)``). With it ``config.buffer_size`` may be a
    traced value, so one compiled program serves several buffer sizes.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from brud_analysis.catalogue import sign_agreement
        >>> cfg = OnlineConfig(buffer_size=32, batch_size=16, steps=300, lr=0.05)
        >>> traj, buf = make_online_train(sign_agreement(), cfg)(jax.random.key(0),
        ...                                                      jnp.array([-0.5, 0.6]))
        >>> buf.shape, bool(traj.reward[-1] > traj.reward[0])
        ((32, 2), True)
    """
    reward = reward_function(game)
    opt = _optimizer(config.optimizer, config.lr)
    capacity, batch, k_updates = config.buffer_size, config.batch_size, config.updates_per_step
    rows = capacity if slots is None else slots

    def init(key: jax.Array, theta0: jax.Array) -> tuple:
        """The state before the first environment step (a pytree)."""
        theta0 = jnp.asarray(theta0, jnp.float32)
        seed_key, noise_key = jax.random.split(key)
        seed = jax.random.bits(seed_key, (), jnp.uint32)
        return (theta0, opt.init(theta0), jnp.zeros((rows, theta0.shape[0]), jnp.float32),
                jnp.int32(0), jnp.float32(jnp.nan), seed, noise_key)

    def advance(state: tuple, starts: jax.Array
                ) -> tuple[tuple, tuple[jax.Array, jax.Array, jax.Array]]:
        """Run the log intervals beginning at environment step ``starts`` from ``state``."""
        *carry, seed, noise_key = state
        n = carry[0].shape[0]

        def env_step(carry, t):
            theta, opt_state, buffer, count, dist = carry
            noise = jax.random.normal(jax.random.fold_in(noise_key, t), (n,), jnp.float32)
            action = theta + config.noise_std * noise
            if config.clip is not None:
                action = jnp.clip(action, -config.clip, config.clip)
            buffer = jax.lax.dynamic_update_slice(
                buffer, action[None], (count % capacity, jnp.int32(0)))
            count = count + 1
            filled = jnp.minimum(count, capacity)

            def one_update(c, u):
                theta, opt_state, _ = c
                rows = buffer[uniform_indices(seed, t * k_updates + u, batch, filled)]
                grad = brud_gradient(reward, theta, rows)
                dist = _mean_distance(rows, theta, "l1")
                new_theta, new_state = _apply(opt, theta, opt_state, grad, config.clip)
                ready = count >= batch  # no update until a full minibatch is available
                theta = jnp.where(ready, new_theta, theta)
                opt_state = jax.tree.map(lambda a, b: jnp.where(ready, a, b), new_state,
                                         opt_state)
                return (theta, opt_state, dist), None

            (theta, opt_state, dist), _ = jax.lax.scan(
                one_update, (theta, opt_state, dist), jnp.arange(k_updates, dtype=jnp.uint32))
            return (theta, opt_state, buffer, count, dist), None

        def log_interval(carry, start):
            carry, _ = jax.lax.scan(env_step, carry, start + jnp.arange(config.log_every,
                                                                        dtype=jnp.uint32))
            theta = carry[0]
            return carry, (theta, reward(theta), carry[4])

        out, logs = jax.lax.scan(log_interval, tuple(carry), starts)
        return (*out, seed, noise_key), logs

    def final_buffer(state: tuple) -> jax.Array:
        """The FIFO buffer of ``state``, unfilled slots NaN."""
        buffer, count = state[2], state[3]
        used = (jnp.arange(rows) < count) & (jnp.arange(rows) < capacity)
        return jnp.where(used[:, None], buffer, jnp.nan)

    def train(key: jax.Array, theta0: jax.Array) -> tuple[Trajectory, jax.Array]:
        theta0 = jnp.asarray(theta0, jnp.float32)
        state, (policy, rew, dist) = advance(init(key, theta0), jnp.arange(
            config.steps // config.log_every, dtype=jnp.uint32) * jnp.uint32(config.log_every))
        trajectory = Trajectory(
            policy=jnp.concatenate([theta0[None], policy]),
            reward=jnp.concatenate([reward(theta0)[None], rew]),
            distance=dist,
        )
        return trajectory, final_buffer(state)

    # In pieces, for chunked callers (see make_offline_train): init, advance over consecutive
    # slices of the log starts, final_buffer.
    train.chunks = (init, advance, final_buffer)  # type: ignore[attr-defined]
    return train


def run_in_chunks(advance: Callable[[Any, jax.Array], tuple[Any, Any]], state: Any,
                  starts: Any, size: int, log_every: int,
                  progress: Callable[[int, int], None] | None = None) -> tuple[Any, tuple]:
    """Drive a (jitted, vmapped) ``advance(state, starts_slice)`` over ``starts`` in slices of
    ``size`` log intervals: returns the final state and the logs as NumPy arrays, concatenated
    along the log axis (axis 1: runs first). Between slices Python runs, so a Ctrl-C lands
    there; ``progress(steps_done, steps_total)`` is called after each.

    Example:
        >>> import jax.numpy as jnp
        >>> adv = lambda s, st: (s + len(st), (jnp.stack([st]),))   # one run, logs = starts
        >>> state, (logs,) = run_in_chunks(adv, 0, jnp.arange(6), 2, 1)
        >>> state, logs.tolist()
        (6, [[0, 1, 2, 3, 4, 5]])
    """
    import numpy as np

    total = len(starts) * log_every
    pieces = []
    for c in range(0, len(starts), size):
        state, logs = advance(state, starts[c:c + size])
        pieces.append(jax.tree.map(np.asarray, logs))  # blocks until the slice is done
        if progress is not None:
            progress(min(c + size, len(starts)) * log_every, total)
    return state, tuple(np.concatenate([p[k] for p in pieces], axis=1)
                        for k in range(len(pieces[0])))
