"""Train a fitted critic and actors offline in JAX and check them against the derivation.

Beyond the paper (docs/critics.md#verification). One finite dataset is drawn from the data model;
the prediction is for that dataset (its empirical moments): the critic's weights ``w*`` and the
chosen rule's stable fixed points ``theta*`` from :func:`brud_analysis.critic.analyse_critic`.

Training (``lax.scan``, ``vmap`` over seeds): each step draws a minibatch of ``B`` data rows
(with replacement) and ``B`` OOD actions from rho (uniform on the box, or theta + N(0, std^2));
the critic takes an SGD step on ``1/2 mean (Q_w(a) - R(a))^2 + alpha (mean Q_w(u) - mean Q_w(a))``
and the actors an ascent step on Q_w under the rule (``brud``: each agent's action at theta_i, the
others' from the rows; ``joint``: at theta; ``sequential``: agents in order, each seeing the
already-updated earlier policies and the later agents' rows). Gradients in ``a`` and ``w`` are
JAX autodiff of Q_w; the prediction never sees them.

Tolerance, derived from the linearised stochastic map ``z <- z + L F(z) + noise`` at the
predicted ``z* = (w*, theta*)`` (``L`` the two learning rates, ``F`` the exact mean field of the
critic's gradient flow and the actors' field, from SymPy): with ``A = I + L J_F(z*)`` (spectral
radius ``r < 1`` required) and per-step noise covariance ``S`` (the per-sample covariance of the
update, exact over the dataset rows and from rho's moments, divided by ``B``), the mean of the
last ``T`` iterates has covariance ``(I - A)^-1 S (I - A)^-T / T`` (``T (1 - r) >= 10`` required).
Deterministic allowances: the O(lr) curvature bias ``-J_F^-1 1/2 sum_jk d2F/dz_j dz_k P_jk``
(``P`` the stationary covariance, discrete Lyapunov), float32 rounding ``4 eps |z*| / (1 - r)``
and the linear transient from the start. Each seed's tail mean must lie within ``z = 4``
standard errors plus these, and so must the mean over the seeds at each point (the tighter
test). A run that is still moving (the two halves of its tail differ by more than their
allowance), a map that is not a contraction, or a rule field with no stable fixed point makes
the verdict ``inconclusive``, never ``passed``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from brud_analysis.critic import CriticSpec, analyse_critic, mean_field
from brud_analysis.data import DataModel, Empirical
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from verify.datasets import empirical_model, sample_dataset
from verify.polygames import reward_function

Z_SCORE = 4.0
FLOAT32_EPS = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class CriticTrainConfig:
    """Settings of :func:`verify_critic`; learning rates default to derived values.

    Attributes:
        steps: updates per run; default: enough for a tail of ``40 / (1 - r)`` steps, ``r``
            the SGD map's spectral radius at the predicted points, at most ``max_steps``.
        seeds: independent runs (one ``vmap``).
        batch_size: data rows and OOD actions per step. dataset_size: rows drawn from the model.
        critic_lr: default ``1 / (2 lambda_max)`` of the Gram matrix E_D[phi phi^T].
        actor_lr: default the critic's slowest rate over the actor field's fastest
            (the critic is the fast timescale, as the derivation assumes).
        tail: fraction of the steps averaged. seed: PRNG seed of the dataset and runs.

    Example:
        >>> CriticTrainConfig().batch_size
        64
    """

    steps: int | None = None
    max_steps: int = 40_000
    seeds: int = 8
    batch_size: int = 64
    dataset_size: int = 2000
    critic_lr: float | None = None
    actor_lr: float | None = None
    tail: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        too_few = self.steps is not None and self.steps < 10
        if too_few or self.seeds < 1 or self.batch_size < 1 or self.dataset_size < 2:
            raise BrudError("steps >= 10, seeds >= 1, batch size >= 1 and dataset size >= 2")
        if not 0 < self.tail < 1:
            raise BrudError(f"tail must be in (0, 1), got {self.tail}")
        for lr in (self.critic_lr, self.actor_lr):
            if lr is not None and not lr > 0:
                raise BrudError(f"learning rates must be > 0, got {lr}")


@dataclass
class PointCheck:
    """One predicted stable point: its runs, their error and the derived tolerance."""

    theta: list[float]
    weights: list[float]
    runs: int
    theta_error: float  # largest |seed tail mean - theta*| over its runs, in tolerance units
    weight_error: float  # the same for the critic's weights
    mean_error: float  # the seeds' mean, in units of its own (tighter) tolerance
    tolerance_theta: list[float]
    tolerance_weights: list[float]
    bias: list[float]


@dataclass
class CriticVerification:
    """The verdict of :func:`verify_critic` (``status`` in passed/failed/inconclusive)."""

    status: str
    reasons: list[str]
    spec: str
    config: dict[str, Any]
    critic_lr: float
    actor_lr: float
    spectral_radius: float | None
    steps: int | None = None
    points: list[PointCheck] = field(default_factory=list)
    unassigned: int = 0  # runs not judged: near a basin boundary, no basin, or diverged
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line per point: errors in units of the derived tolerance (<= 1 passes)."""
        rows = [f"{self.status}: {self.spec}"]
        for p in self.points:
            rows.append(f"  theta* {np.round(p.theta, 4).tolist()}: {p.runs} runs, max error "
                        f"{p.theta_error:.2f} (policy) {p.weight_error:.2f} (critic) x tolerance;"
                        f" seed mean {p.mean_error:.2f}")
        rows += [f"  {r}" for r in self.reasons]
        rows += [f"  note: {r}" for r in self.notes]
        return "\n".join(rows)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


# ------------------------------------------------------------------------------ the trainer
def _settings(spec: CriticSpec, critic_lr: float, actor_lr: float) -> dict[str, float]:
    """The trainer's numeric settings: arguments of its compiled program, not constants."""
    low, high = (float(v) for v in spec.box)
    return {"critic_lr": critic_lr, "actor_lr": actor_lr, "alpha": float(spec.alpha),
            "low": low, "high": high, "std": float(spec.std)}


def _critic_step(game: Game, spec: CriticSpec, features: list[sympy.Expr],
                 batch_size: int) -> Any:
    """One update ``step(settings, (theta, w, dataset), key) -> (carry, (theta, w))`` for
    ``lax.scan``; ``settings`` as :func:`_settings` gives them (floats or traced values).
    What it depends on beyond them (the game, the features, the rule, the OOD kind, the
    batch) is the structure of its program."""
    n, k = game.n_agents, len(features)
    phi_raw = sympy.lambdify(game.agents, list(features), modules="jax")
    reward = reward_function(game)
    rule = spec.rule

    def phi(a: jax.Array) -> jax.Array:  # (n,) -> (K,)
        return jnp.stack([jnp.asarray(v, jnp.float32) + 0 * a[0]
                          for v in phi_raw(*[a[i] for i in range(n)])])

    def q(w: jax.Array, a: jax.Array) -> jax.Array:
        return phi(a) @ w

    dq = jax.grad(q, argnums=1)  # dQ/da at one joint action

    def step(settings, carry, key):
        alpha, critic_lr, actor_lr = (settings[s] for s in ("alpha", "critic_lr", "actor_lr"))

        def critic_loss(w, rows, ood):
            td = jax.vmap(lambda a: q(w, a))(rows) - reward(rows)
            cql = jnp.mean(jax.vmap(lambda u: q(w, u))(ood)) - jnp.mean(jax.vmap(
                lambda a: q(w, a))(rows))
            return 0.5 * jnp.mean(td**2) + alpha * cql

        def actor_direction(w, theta, rows, i):
            if rule == "joint":
                points = theta[None, :]
            elif rule == "brud":
                points = rows.at[:, i].set(theta[i])
            else:  # sequential: agents 0..i at their (already updated) policies
                points = jnp.where(jnp.arange(n) <= i, theta, rows)
            return jnp.mean(jax.vmap(lambda a: dq(w, a)[i])(points))

        theta, w, dataset = carry
        k_rows, k_ood = jax.random.split(key)
        rows = dataset[jax.random.randint(k_rows, (batch_size,), 0, dataset.shape[0])]
        if spec.ood == "uniform":
            ood = jax.random.uniform(k_ood, (batch_size, n), minval=settings["low"],
                                     maxval=settings["high"])
        else:
            ood = theta + settings["std"] * jax.random.normal(k_ood, (batch_size, n))
        w_new = w - critic_lr * jax.grad(critic_loss)(w, rows, ood)
        if rule == "sequential":
            for i in range(n):
                theta = theta.at[i].add(actor_lr * actor_direction(w, theta, rows, i))
        else:
            theta = theta + actor_lr * jnp.stack([actor_direction(w, theta, rows, i)
                                                  for i in range(n)])
        return (theta, w_new, dataset), (theta, w_new)

    step.n_weights = k  # type: ignore[attr-defined]
    return step


def make_critic_train(game: Game, spec: CriticSpec, features: list[sympy.Expr], steps: int,
                      batch_size: int, critic_lr: float, actor_lr: float) -> Any:
    """A pure ``train(key, dataset, theta0) -> (theta (T, n), w (T, K))``; ``jit``/``vmap`` it.
    The settings are constants of its program (:func:`verify_critic` trains with
    :func:`_critic_chunk`'s program instead, the same runs, compiled once for all settings).

    Example:
        >>> from brud_analysis.critic import CriticSpec, monomial
        >>> g = Game("x*y")
        >>> train = make_critic_train(g, CriticSpec("1,x*y"), [monomial(g, (0, 0)),
        ...                           monomial(g, (1, 1))], 5, 4, 0.1, 0.01)
        >>> th, w = train(jax.random.key(0), jnp.ones((3, 2)), jnp.zeros(2))
        >>> th.shape, w.shape
        ((5, 2), (5, 2))
    """
    step = _critic_step(game, spec, features, batch_size)
    settings = _settings(spec, critic_lr, actor_lr)

    def train(key: jax.Array, dataset: jax.Array, theta0: jax.Array):
        w0 = jnp.zeros(step.n_weights, jnp.float32)
        _, (thetas, ws) = jax.lax.scan(lambda c, k: step(settings, c, k),
                                       (theta0.astype(jnp.float32), w0, dataset),
                                       jax.random.split(key, steps))
        return thetas, ws

    return train


# Updates per compiled chunk of training: the chunk's length, not the run's, is a shape of the
# program, so runs of any length share one compiled training program (the keys' split, a small
# one, per length); a run's last chunk is padded with updates whose results are dropped.
CHUNK_STEPS = 1000
_CHUNKS: OrderedDict = OrderedDict()  # compiled chunk programs by structure (a few kept)


def _critic_chunk(game: Game, spec: CriticSpec, features: list[sympy.Expr],
                  batch_size: int) -> Any:
    """``chunk(settings, theta (S, n), w (S, K), dataset, keys (S, CHUNK_STEPS, 2) uint32) ->
    (theta, w, thetas (S, C, n), ws (S, C, K))``, jitted and vmapped over the runs, one per
    trainer structure in a process; the settings (learning rates, alpha, the OOD box and
    std) are its arguments."""
    memo = (str(game.reward), game.agent_names, tuple(str(f) for f in features), spec.rule,
            spec.ood, batch_size)
    if memo not in _CHUNKS:
        step = _critic_step(game, spec, features, batch_size)

        def chunk(settings, theta, w, dataset, key_data):
            (theta, w, _), (thetas, ws) = jax.lax.scan(
                lambda c, k: step(settings, c, k), (theta, w, dataset),
                jax.random.wrap_key_data(key_data))
            return theta, w, thetas, ws

        _CHUNKS[memo] = jax.jit(jax.vmap(chunk, in_axes=(None, 0, 0, None, 0)))
        while len(_CHUNKS) > 8:
            _CHUNKS.popitem(last=False)
    return _CHUNKS[memo]


@partial(jax.jit, static_argnums=(1, 2))
def _step_keys(keys: jax.Array, steps: int, padded: int) -> jax.Array:
    """Every run's update keys ``jax.random.split(key, steps)`` (as :func:`make_critic_train`
    splits them), as key data ``(S, padded, 2)``, zero past ``steps``."""
    data = jax.vmap(lambda k: jax.random.key_data(jax.random.split(k, steps)))(keys)
    return jnp.pad(data, ((0, 0), (0, padded - steps), (0, 0)))


# ------------------------------------------------------------------------------ the prediction
def _noise_covariance(game: Game, spec: CriticSpec, features, dataset: np.ndarray,
                      z_star: np.ndarray, rule_exprs, weight_syms) -> np.ndarray:
    """Per-sample covariance of the update direction (critic part and actor part) at z*:
    exact over the dataset rows (the data part) plus rho's exact moments (the OOD part)."""
    from brud_analysis.critic import ood_moments

    n, k = game.n_agents, len(features)
    acts = sympy.symbols(f"_a0:{n}", real=True)
    to_acts = dict(zip(game.agents, acts, strict=True))
    w_val = dict(zip(weight_syms, z_star[:k], strict=True))
    theta_val = dict(zip(game.agents, z_star[k:], strict=True))
    phi_a = [f.xreplace(to_acts) for f in features]
    q_a = sum(w * f for w, f in zip(weight_syms, phi_a, strict=True))
    r_a = game.reward.xreplace(to_acts)
    alpha = spec.alpha
    # data part of -dL/dw (one row): -(phi (Q - R) - alpha phi); actor part: the rule's
    # direction with this row as the data (rule_exprs: per agent, in acts, theta and w)
    data_part = [-(f * (q_a - r_a) - alpha * f) for f in phi_a] + list(rule_exprs)
    values = [sympy.sympify(e).xreplace(w_val).xreplace(theta_val) for e in data_part]
    fn = sympy.lambdify(acts, values, modules="numpy")
    cols = [dataset[:, j].astype(np.float64) for j in range(n)]
    per_row = np.stack([np.broadcast_to(np.asarray(v, float), (len(dataset),))
                        for v in fn(*cols)], axis=1)
    cov = np.cov(per_row, rowvar=False, bias=True)  # rows drawn uniformly: divisor N
    # OOD part -alpha phi(u), independent of the row: alpha^2 Cov_rho(phi)
    exps = [sympy.Poly(f, *game.agents).monoms()[0] for f in features]
    pair = ood_moments(game, spec, [tuple(a + b for a, b in zip(e1, e2, strict=True))
                                    for e1 in exps for e2 in exps])
    single = ood_moments(game, spec, exps)
    second = np.array([[float(pair[i * k + j].xreplace(theta_val)) for j in range(k)]
                       for i in range(k)])
    first = np.array([float(s.xreplace(theta_val)) for s in single])
    cov[:k, :k] += float(alpha) ** 2 * (second - np.outer(first, first))
    return cov


def _rule_directions(game: Game, spec: CriticSpec, features, weight_syms) -> list:
    """Per agent, the rule's direction for one data row (in ``_a`` symbols, theta and w)."""
    from brud_analysis.critic import data_agents

    n = game.n_agents
    acts = sympy.symbols(f"_a0:{n}", real=True)
    q = sum(w * f.xreplace(dict(zip(game.agents, acts, strict=True)))
            for w, f in zip(weight_syms, features, strict=True))
    out = []
    for i in range(n):
        from_data = data_agents(spec.rule, i, n)
        at_policy = {acts[j]: game.agents[j] for j in range(n) if j not in from_data}
        out.append(sympy.diff(q, acts[i]).xreplace(at_policy))
    return out


def _numeric_spec(spec: CriticSpec) -> None:
    values = (spec.alpha, spec.std, *spec.box)
    if any(not sympy.sympify(v).is_number for v in values):
        raise BrudError("training needs numbers for --cql, --ood-std and --ood-box")


# Matrix powers per batched SVD in _transient: bounds its memory (4096 small matrices).
_POWERS_PER_SVD = 4096


def _transient(a_mat: np.ndarray, start: int, length: int, d0: float) -> float:
    """Bound on the linear transient's share of a tail mean: mean_t ||A^t|| d0.

    The spectral norms come from one batched SVD per block of powers (7x less CPU than one
    ``np.linalg.norm(., 2)`` call per power: the same LAPACK routine per matrix, so the same
    values) and are summed in the order of t, as one at a time.

    Example:
        >>> round(_transient(np.array([[0.5, 1.0], [0.0, 0.5]]), 2, 3, 1.0), 6)
        0.778999
    """
    power = np.linalg.matrix_power(a_mat, start)
    total = 0.0
    block = np.empty((min(length, _POWERS_PER_SVD), *a_mat.shape))
    for done in range(0, length, _POWERS_PER_SVD):
        size = min(_POWERS_PER_SVD, length - done)
        for j in range(size):
            block[j] = power
            power = power @ a_mat
        for norm in np.linalg.svd(block[:size], compute_uv=False).max(axis=1).tolist():
            total += norm
    return total / length * d0


def _basin_spread(game: Game, spec: CriticSpec, features, dataset: np.ndarray,
                  targets: list[np.ndarray], maps: list[np.ndarray], lr_vec: np.ndarray,
                  directions, weight_syms, batch_size: int) -> np.ndarray:
    """Per agent, Z_SCORE times the largest stationary standard deviation of a run's policy
    about a stable point (discrete Lyapunov equation of the linearised SGD map): how far noise
    moves a run, so how close to a basin boundary a start may lie and still be judged."""
    from scipy.linalg import solve_discrete_lyapunov

    k = len(features)
    spread = np.zeros(game.n_agents)
    for z_star, a_mat in zip(targets, maps, strict=True):
        if float(np.max(np.abs(np.linalg.eigvals(a_mat)))) >= 1:
            continue  # no stationary spread: that point is inconclusive anyway
        cov = _noise_covariance(game, spec, features, dataset, z_star, directions,
                                weight_syms) / batch_size
        stationary = solve_discrete_lyapunov(a_mat, lr_vec[:, None] * cov * lr_vec[None, :])
        spread = np.maximum(spread, Z_SCORE * np.sqrt(np.clip(np.diag(stationary)[k:], 0,
                                                              None)))
    return spread


def _basins(field_fn: Any, starts: np.ndarray, targets: list[np.ndarray], lr_vec: np.ndarray,
            steps: int, k: int, spread: np.ndarray) -> np.ndarray:
    """For each start ``z0 = (w0, theta0)``, the index of the stable point the mean map
    ``z <- z + L F(z)`` reaches in ``steps`` (theta within 1e-3), from ``z0`` and from ``z0``
    with theta moved by +-``spread`` along each agent's axis: -2 when those disagree (near a
    basin boundary), -1 when it reaches none.

    Example:
        >>> f = lambda w, x: (0 * x, x - x**3)   # w idle; x' = x - x^3: stable at -1 and 1
        >>> pts = [np.array([0.0, -1.0]), np.array([0.0, 1.0])]
        >>> starts = np.array([[0.0, -0.5], [0.0, 0.4], [0.0, 0.01]])
        >>> _basins(f, starts, pts, np.array([0.1, 0.1]), 2000, 1, np.array([0.05])).tolist()
        [0, 1, -2]
    """
    n = starts.shape[1] - k
    moves = [np.zeros(n)] + [sign * spread[i] * np.eye(n)[i] for i in range(n)
                             for sign in (1, -1) if spread[i] > 0]
    z = np.concatenate([starts + np.concatenate([np.zeros(k), m]) for m in moves])
    thetas = np.array([t[k:] for t in targets])
    step = np.empty_like(z)
    for it in range(steps):
        with np.errstate(all="ignore"):
            for j, v in zip(range(z.shape[1]), field_fn(*z.T), strict=True):
                step[:, j] = v  # a constant component broadcasts
            z = z + lr_vec * step
        if it % 200 == 199:  # stop once every copy has arrived or left for good
            gaps = np.linalg.norm(z[:, None, k:] - thetas[None], axis=2).min(axis=1)
            if np.all((gaps < 1e-6) | ~np.isfinite(gaps) | (gaps > 1e6)):
                break
    gaps = np.linalg.norm(z[:, None, k:] - thetas[None], axis=2)
    reached = np.where(np.nan_to_num(gaps, nan=np.inf).min(axis=1) < 1e-3,
                       np.argmin(np.nan_to_num(gaps, nan=np.inf), axis=1), -1)
    reached = reached.reshape(len(moves), len(starts))
    agree = np.all(reached == reached[0], axis=0)
    return np.where(agree, reached[0], np.where(reached[0] < 0, -1, -2))


# The last few trainings (z paths per run), by everything they depend on: a check that judges
# the same runs again (e.g. a test that swaps the basin assignment) does not train them again.
_RUNS: OrderedDict = OrderedDict()
_RUNS_KEEP = 2


def _trained_runs(game: Game, spec: CriticSpec, features: list[sympy.Expr], steps: int,
                  batch_size: int, critic_lr: float, actor_lr: float, key: jax.Array,
                  seeds: int, dataset: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``seeds`` runs of :func:`make_critic_train` from ``starts``, with keys split from
    ``key``: ``(S, T, K + n)``, critic weights then policy, float64. Trained in chunks of
    :data:`CHUNK_STEPS` updates by :func:`_critic_chunk`'s program (the same runs bit for bit:
    tests/test_critic_training.py), shared by every step count and setting of a structure.
    Memoised on every input."""
    memo = (str(game.reward), game.agent_names, spec, tuple(str(f) for f in features), steps,
            batch_size, critic_lr, actor_lr, np.asarray(jax.random.key_data(key)).tobytes(),
            seeds, dataset.shape, dataset.tobytes(), starts.tobytes())
    if memo in _RUNS:
        _RUNS.move_to_end(memo)
        return _RUNS[memo]
    chunk = _critic_chunk(game, spec, features, batch_size)
    settings = {k: jnp.float32(v) for k, v in _settings(spec, critic_lr, actor_lr).items()}
    padded = -(-steps // CHUNK_STEPS) * CHUNK_STEPS
    keys = np.asarray(_step_keys(jax.random.split(key, seeds), steps, padded))  # sliced here
    data = jnp.asarray(dataset)
    theta, w = jnp.asarray(starts, jnp.float32), jnp.zeros((seeds, len(features)), jnp.float32)
    thetas, ws = [], []
    for start in range(0, padded, CHUNK_STEPS):
        theta, w, th, wt = chunk(settings, theta, w, data, keys[:, start:start + CHUNK_STEPS])
        thetas.append(np.asarray(th, float))
        ws.append(np.asarray(wt, float))
    z_runs = np.concatenate([np.concatenate(ws, axis=1), np.concatenate(thetas, axis=1)],
                            axis=2)[:, :steps]
    z_runs = np.ascontiguousarray(z_runs)
    z_runs.setflags(write=False)  # shared by later calls
    _RUNS[memo] = z_runs
    while len(_RUNS) > _RUNS_KEEP:
        _RUNS.popitem(last=False)
    return z_runs


def verify_critic(game: Game, data: DataModel, spec: CriticSpec,
                  config: CriticTrainConfig | None = None, time_budget: float = 30.0
                  ) -> CriticVerification:
    """Train critic + actors on one sampled dataset and check them against the derivation.

    Example:
        >>> from brud_analysis.data import Normal
        >>> res = verify_critic(Game("-(x - y)**2"), Normal([1, -1], [1, 1]),
        ...                     CriticSpec("degree=2", alpha=1),
        ...                     CriticTrainConfig(seeds=2, dataset_size=1000))
        >>> res.status
        'passed'
    """
    from scipy.linalg import solve_discrete_lyapunov

    config = config or CriticTrainConfig()
    game.require_numeric()
    _numeric_spec(spec)
    key = jax.random.key(config.seed)
    k_data, k_init, k_runs = jax.random.split(key, 3)
    if isinstance(data, Empirical):  # a data file: train on its rows as they are
        dataset = np.asarray(data.samples, np.float32)
    else:
        dataset = np.asarray(sample_dataset(k_data, data, config.dataset_size))
    model = empirical_model(dataset)
    analysis = analyse_critic(game, model, spec, time_budget)
    critic = analysis.critic
    k = len(critic.features)
    z_syms, field_ = mean_field(game, model, critic)
    jac_expr = sympy.Matrix(field_).jacobian(z_syms)
    jac_fn = sympy.lambdify(z_syms, jac_expr, modules="numpy")
    hess_fns = [sympy.lambdify(z_syms, sympy.hessian(f, z_syms), modules="numpy")
                for f in field_]
    gram = np.array(critic.gram.evalf(), dtype=float)
    lam = np.linalg.eigvalsh(gram)
    critic_lr = config.critic_lr or float(0.5 / lam.max())
    stable = [p for p in analysis.fixed.points if p.stable]
    reasons: list[str] = []
    fast = 0.0
    actor_jac = sympy.lambdify(game.agents, sympy.Matrix(analysis.field).jacobian(game.agents),
                               modules="numpy")
    for p in stable:
        fast = max(fast, float(np.max(np.abs(np.linalg.eigvals(
            np.asarray(actor_jac(*p.point), float))))))
    actor_lr = config.actor_lr or (critic_lr * float(lam.min()) / fast if fast > 0
                                   else critic_lr)
    result = CriticVerification("inconclusive", reasons, spec.describe(), asdict(config),
                                critic_lr, actor_lr, None)
    if not stable:
        reasons.append("the rule's field has no stable fixed point for this dataset: nothing "
                       "to converge to (drift is not checked here)")
        return result
    lr_vec = np.array([critic_lr] * k + [actor_lr] * game.n_agents)
    targets = [np.array([float(w.xreplace(dict(zip(game.agents, p.point, strict=True))))
                         for w in critic.weights] + list(p.point)) for p in stable]
    maps = [np.eye(len(z)) + lr_vec[:, None] * np.asarray(jac_fn(*z), float) for z in targets]
    radii = [float(np.max(np.abs(np.linalg.eigvals(a)))) for a in maps]
    result.spectral_radius = max(radii)
    steps = config.steps
    if steps is None:
        slowest = 1 - max(radii)
        steps = config.max_steps if slowest <= 0 else min(
            config.max_steps, int(math.ceil(40 / slowest / config.tail)))
    result.steps = steps
    starts = dataset[np.asarray(jax.random.randint(k_init, (config.seeds,), 0, len(dataset)))]
    z_runs = _trained_runs(game, spec, critic.features, steps, config.batch_size, critic_lr,
                           actor_lr, k_runs, config.seeds, dataset, starts)
    t_len = int(steps * config.tail)
    tail = z_runs[:, -t_len:]
    means = tail.mean(axis=1)
    halves = tail[:, : t_len // 2].mean(axis=1) - tail[:, t_len // 2:].mean(axis=1)
    finite = np.all(np.isfinite(means), axis=1)
    if not finite.all():
        reasons.append(f"{int((~finite).sum())} of {config.seeds} runs diverged")
    directions = _rule_directions(game, spec, critic.features, z_syms[:k])
    # each run is judged against the stable point whose basin its start lies in (the mean map
    # from its start), not against the point it happened to end nearest: a run that lands in
    # the wrong basin is then a failure, not silently re-assigned
    spread = _basin_spread(game, spec, critic.features, dataset, targets, maps, lr_vec,
                           directions, z_syms[:k], config.batch_size)
    z_starts = np.concatenate([np.zeros((config.seeds, k)), np.asarray(starts, float)], axis=1)
    field_fn = sympy.lambdify(z_syms, list(field_), modules="numpy")
    nearest = _basins(field_fn, z_starts, targets, lr_vec, steps, k, spread)
    nearest[~finite] = -3
    boundary, lost = int((nearest == -2).sum()), int((nearest == -1).sum())
    if boundary:
        result.notes.append(f"{boundary} runs start within {Z_SCORE:g} stationary standard "
                            "deviations of a basin boundary: not judged")
    if lost:
        result.notes.append(f"from {lost} runs' starts the mean map reaches no stable point "
                            f"in {steps} steps: not judged")
    failed = False
    for idx, (z_star, a_mat, radius) in enumerate(zip(targets, maps, radii, strict=True)):
        members = np.flatnonzero(nearest == idx)
        jac = np.asarray(jac_fn(*z_star), float)
        if not members.size:
            continue
        if radius >= 1 or t_len * (1 - radius) < 10:
            reasons.append(f"theta* {np.round(z_star[k:], 4).tolist()}: the SGD map's spectral "
                           f"radius {radius:.6f} leaves no finite tolerance for a {t_len}-step "
                           "tail (needs T (1 - r) >= 10)")
            continue
        cov = _noise_covariance(game, spec, critic.features, dataset, z_star, directions,
                                z_syms[:k]) / config.batch_size
        noise = lr_vec[:, None] * cov * lr_vec[None, :]
        inv = np.linalg.inv(np.eye(len(z_star)) - a_mat)
        var_mean = np.diag(inv @ noise @ inv.T) / t_len
        stationary = solve_discrete_lyapunov(a_mat, noise)
        curvature = np.array([0.5 * np.sum(np.asarray(h(*z_star), float) * stationary)
                              for h in hess_fns])
        bias = np.abs(np.linalg.solve(jac, curvature))
        rounding = 4 * FLOAT32_EPS * (np.abs(z_star) + 1) / (1 - radius)
        d0 = float(np.max(np.linalg.norm(z_runs[members, 0] - z_star, axis=1)))
        transient = _transient(a_mat, steps - t_len, t_len, d0)
        fixed_part = bias + rounding + transient
        tol_seed = Z_SCORE * np.sqrt(var_mean) + fixed_part
        tol_mean = Z_SCORE * np.sqrt(var_mean / members.size) + fixed_part
        err = np.abs(means[members] - z_star) / tol_seed
        moving = np.abs(halves[members]) > 2 * Z_SCORE * np.sqrt(var_mean) + 2 * fixed_part
        if moving.any():
            reasons.append(f"theta* {np.round(z_star[k:], 4).tolist()}: "
                           f"{int(moving.any(axis=1).sum())} runs still moving in the tail")
        mean_err = float(np.max(np.abs(means[members].mean(axis=0) - z_star) / tol_mean))
        # a settled run away from z* contradicts the prediction; a moving one is undecided
        settled = ~moving.any(axis=1)
        wrong = int((err.max(axis=1)[settled] > 1).sum())
        if wrong or (mean_err > 1 and settled.all()):
            failed = True
            reasons.append(f"theta* {np.round(z_star[k:], 4).tolist()}: {wrong} settled runs "
                           f"beyond tolerance (max {err.max():.2f} x), seed mean "
                           f"{mean_err:.2f} x its tolerance")
        result.points.append(PointCheck(
            z_star[k:].tolist(), z_star[:k].tolist(), int(members.size),
            float(err[:, k:].max()), float(err[:, :k].max()), mean_err,
            tol_seed[k:].tolist(), tol_seed[:k].tolist(), bias.tolist()))
    result.unassigned = int((nearest < 0).sum())
    judged = sum(p.runs for p in result.points)
    if not failed and judged == 0:
        reasons.append("no run could be judged against its basin's point")
    result.status = "failed" if failed else ("inconclusive" if reasons else "passed")
    return result
