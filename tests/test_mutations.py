"""Mutation tests: the verifier must never say "passed" for a broken trainer.

Each mutation replaces the trainer's gradient estimator (the ``gradient`` seam of
:class:`verify.polygames.OfflineConfig`) by a classic bug. The prediction and the reference map
are built from SymPy and never see the estimator, so a wrong estimator shows up as runs that
disagree with them. Each setting is first run with the honest estimator, which must pass: a
mutant that "fails" in a setting where the honest trainer fails too would prove nothing.

Settings are chosen so that each bug *can* be seen: asymmetric data (so swapping the agents'
moments matters), a small dataset (so population and finite-data moments differ by more than
the tolerance) and a horizon short enough that the transient is still visible in the averaged
tail (so a half step, which has the same fixed point, is caught by its slower approach).

``python -m tests.test_mutations`` prints the full bug x mode table.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import jax
import jax.numpy as jnp
import pytest
import sympy

import verify.harness as harness
from brud_analysis.catalogue import twin_peaks
from brud_analysis.data import Normal
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from verify import polygames
from verify.harness import verify_game
from verify.polygames import brud_gradient
from verify.sampling import PJAPConfig, joint_action_distance, pjap_priority

PJAP = PJAPConfig(alpha=4.0, eps=1e-3, distance="l1")
PJAP_IS = PJAPConfig(alpha=4.0, eps=1e-3, distance="l1", importance_weights=True)
# Fixed-point mode: Twin Peaks has one stable BRUD point per dataset. Drift mode: the BRUD field
# of x*y + (x^2 + y^2)/4 is g_i = theta_i / 2 + E[a_-i], repelling, so no stable point.
SETTINGS = {
    "fixed_point": dict(game=twin_peaks(), data=Normal([0.6, 0.1], [0.3, 0.6]), lr=0.005,
                        steps=300, dataset_size=40),
    "drift": dict(game=Game("x*y + (x**2 + y**2)/4"), data=Normal([0.6, -0.3], [0.3, 0.6]),
                  lr=0.01, steps=300, dataset_size=40),
}
# Three agents, for a bug that reads the wrong agent's column (with two agents "the other
# column" is the only one, and swapping both is already "another agent's moments").
SETTINGS_3 = {
    "fixed_point": dict(game=Game("-x**2 - y**2 - z**2 + x*y + y*z"),
                        data=Normal([0.6, -0.4, 0.2], [0.3, 0.4, 0.3]), lr=0.01, steps=300,
                        dataset_size=60),
    "drift": dict(game=Game("x*y + y*z + (x**2 + y**2 + z**2)/4"),
                  data=Normal([0.6, -0.4, 0.2], [0.3, 0.4, 0.3]), lr=0.01, steps=300,
                  dataset_size=60),
}
# An active wall: Twin Peaks' BRUD point (~0.6) lies beyond a [-0.4, 0.4] box. A repelling field
# with a clip box ends on the walls, which are predicted fixed points: no drift mode with a box.
CLIP_SETTING = dict(game=twin_peaks(), data=Normal([0.6, 0.5], [0.3, 0.3]), lr=0.01, steps=300,
                    dataset_size=40, clip=0.4)


def _ignores_theta(reward, theta, rows, weights):
    return brud_gradient(reward, jnp.zeros_like(theta), rows, weights)


def _true_gradient(reward, theta, rows, weights):
    return jax.grad(reward)(theta)


def _half_step(reward, theta, rows, weights):
    return 0.5 * brud_gradient(reward, theta, rows, weights)


def _lr_low(reward, theta, rows, weights):  # SGD: a 10 % smaller gradient is lr - 10 %
    return 0.9 * brud_gradient(reward, theta, rows, weights)


def _lr_high(reward, theta, rows, weights):
    return 1.1 * brud_gradient(reward, theta, rows, weights)


def _wrong_sign(reward, theta, rows, weights):
    return -brud_gradient(reward, theta, rows, weights)


def _other_agents_moments(reward, theta, rows, weights):
    return brud_gradient(reward, theta, rows[:, ::-1], weights)


def _wrong_column_3(reward, theta, rows, weights):
    # agent x reads z's column and z reads x's: BRUD with the data's columns 0 and 2 swapped
    return brud_gradient(reward, theta, rows[:, jnp.array([2, 1, 0])], weights)


def _unnormalised_is_weights(reward, theta, rows, weights):
    # sum_b w_b g_b / B instead of the self-normalised sum_b w_b g_b / sum_b w_b
    return brud_gradient(reward, theta, rows, weights) * jnp.sum(weights) / rows.shape[0]


@functools.cache
def _population_field(mode: str):
    """The population BRUD field of the setting's data model, as a JAX function."""
    game, data = SETTINGS[mode]["game"], SETTINGS[mode]["data"]
    f = sympy.lambdify(game.agents, list(brud_field(game, data)), modules="jax")

    def population(reward, theta, rows, weights):
        return jnp.stack([jnp.asarray(v, jnp.float32) + 0 * theta[0]
                          for v in f(*[theta[i] for i in range(len(game.agents))])])

    return population


def _unnormalised_priorities(reward, theta, rows, weights):
    # Each sample's loss multiplied by its raw priority: the mean of rho_b g_b instead of the
    # mean of g_b over rows already drawn in proportion to rho.
    rho = pjap_priority(joint_action_distance(rows, theta, PJAP.distance), PJAP.alpha, PJAP.eps)
    return brud_gradient(reward, theta, rows, rho) * jnp.mean(rho)


# ------------------------------------------------------------------ mutated trainers
# Bugs outside the gradient estimator: a factory standing in for make_offline_train.


def _fewer_steps(game, config):
    """Stops after 90 % of the updates (an off-by-10 % loop bound); the remaining log points
    repeat the last policy."""
    logs = config.steps // config.log_every
    short = replace(config, steps=config.log_every * (logs * 9 // 10))
    inner = polygames.make_offline_train(game, short)

    def train(key, dataset, theta0):
        t = inner(key, dataset, theta0)
        pad = logs + 1 - t.policy.shape[0]
        return polygames.Trajectory(
            jnp.concatenate([t.policy, jnp.repeat(t.policy[-1:], pad, axis=0)]),
            jnp.concatenate([t.reward, jnp.repeat(t.reward[-1:], pad)]),
            jnp.concatenate([t.distance, jnp.repeat(t.distance[-1:], pad)]))

    return train


def _patched(name, make_replacement):
    """A trainer factory whose module function ``name`` is swapped while it is traced."""

    def factory(game, config):
        inner = polygames.make_offline_train(game, config)

        def train(key, dataset, theta0):
            real = getattr(polygames, name)
            setattr(polygames, name, make_replacement(real, theta0))
            try:
                return inner(key, dataset, theta0)
            finally:
                setattr(polygames, name, real)

        return train

    return factory


def _clip_first(real, theta0):
    def apply(opt, theta, opt_state, grad, clip):  # projects, then steps out of the box
        theta = jnp.clip(theta, -clip, clip) if clip is not None else theta
        return real(opt, theta, opt_state, grad, None)

    return apply


def _stale(real, theta0):
    def priorities(dataset, theta, pjap):  # the priorities of the start, never refreshed
        return real(dataset, theta0, pjap)

    return priorities


def _eps_floor(real, theta0):
    def priorities(dataset, theta, pjap):  # floor 10 eps instead of eps
        return real(dataset, theta, replace(pjap, eps=10 * pjap.eps))

    return priorities


def _without_replacement(real, theta0):
    def indices(seed, step, batch_size, n_items):  # one shuffled window: no row twice
        offset = real(seed, step, 1, n_items)[0]
        perm = jnp.argsort(jax.random.uniform(jax.random.key(seed ^ step), (n_items,)))
        return perm[(offset + jnp.arange(batch_size)) % n_items]

    return indices


# name -> (kind, bug, setting): kind "gradient" replaces the estimator, "trainer" the factory.
MUTATIONS = {
    "gradient ignores theta": ("gradient", _ignores_theta, "plain"),
    "true gradient instead of BRUD": ("gradient", _true_gradient, "plain"),
    "half step": ("gradient", _half_step, "plain"),
    "wrong sign": ("gradient", _wrong_sign, "plain"),
    "another agent's moments": ("gradient", _other_agents_moments, "plain"),
    "population moments": ("gradient", "population", "plain"),
    "unnormalised PJAP priorities": ("gradient", _unnormalised_priorities, "pjap"),
    # rate / schedule / weighting bugs (issue 23): the end point barely moves
    "lr 10 % low": ("gradient", _lr_low, "plain"),
    "lr 10 % high": ("gradient", _lr_high, "plain"),
    "10 % fewer steps": ("trainer", _fewer_steps, "plain"),
    "wrong agent's column (3 agents)": ("gradient", _wrong_column_3, "three"),
    "clip before the step": ("trainer", _patched("_apply", _clip_first), "clip"),
    "stale PJAP priority": ("trainer", _patched("_pjap_priorities", _stale), "pjap"),
    "wrong eps floor": ("trainer", _patched("_pjap_priorities", _eps_floor), "pjap"),
    "unnormalised importance weights": ("gradient", _unnormalised_is_weights, "pjap_is"),
    "without replacement": ("trainer", _patched("uniform_indices", _without_replacement),
                            "plain"),
}
# Bugs the verifier cannot see, and why (the test asserts they pass the honest checks, so a
# change that makes them visible shows up here):
UNOBSERVABLE = {
    # Drawing rows without replacement leaves every batch mean's expectation (the mean map,
    # the reference) unchanged and shrinks its variance by (N - B) / (N - 1); the verdicts test
    # means, with variances as upper bounds, so a smaller spread is not a failure.
    "without replacement",
    # E_p[sum w g / B] is the uniform field exactly, the self-normalised estimator's is off by
    # O(1 / B) (the bias the tolerance allows): the means differ by less than that allowance.
    "unnormalised importance weights",
}
NOT_APPLICABLE = {("clip before the step", "drift")}  # a clip box leaves no drift mode


def _setting(mode: str, kind: str) -> tuple[dict, PJAPConfig | None]:
    if kind == "three":
        return dict(SETTINGS_3[mode]), None
    if kind == "clip":
        return dict(CLIP_SETTING), None
    return dict(SETTINGS[mode]), {"pjap": PJAP, "pjap_is": PJAP_IS}.get(kind)


def run(mode: str, mutation: str | None, seeds: int = 16, setting: str = "plain"):
    """Verify the setting ``mode`` with the named mutation (``None``: the honest trainer in
    ``setting``, one of plain, pjap, pjap_is, three, clip)."""
    kind, bug, setting = MUTATIONS[mutation] if mutation else ("honest", None, setting)
    config, pjap = _setting(mode, setting)
    game, data = config.pop("game"), config.pop("data")
    gradient = bug if kind == "gradient" else None
    if gradient == "population":
        gradient = _population_field(mode)
    saved = harness.make_offline_train
    if kind == "trainer":
        harness.make_offline_train = bug
    try:
        return verify_game(game, data, seeds=seeds, seed=1, pjap=pjap, gradient=gradient,
                           **config)
    finally:
        harness.make_offline_train = saved


HONEST = [(m, s) for m in sorted(SETTINGS) for s in ("plain", "pjap", "pjap_is", "three")]
HONEST.append(("fixed_point", "clip"))


@pytest.mark.parametrize("mode, setting", HONEST)
def test_the_honest_trainer_passes_in_every_setting(mode, setting):
    r = run(mode, None, setting=setting)
    assert r.status == "passed", r.summary()
    assert r.mode == mode
    assert r.details["trajectory"]["passed"] is True


@pytest.mark.parametrize("mode", sorted(SETTINGS))
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_broken_trainer_never_passes(mode, mutation):
    if (mutation, mode) in NOT_APPLICABLE:
        return
    r = run(mode, mutation)
    if mutation in UNOBSERVABLE:
        assert r.status == "passed", (mutation, mode, r.summary())
        return
    assert r.status != "passed", (mutation, mode, r.summary())
    assert r.passed is False


if __name__ == "__main__":
    print("| bug | " + " | ".join(SETTINGS) + " |")
    print("|---|" + "---|" * len(SETTINGS))
    for name in [None, *MUTATIONS]:
        cells = []
        for mode in SETTINGS:
            if (name, mode) in NOT_APPLICABLE:
                cells.append("n/a")
                continue
            r = run(mode, name, seeds=16)
            why = r.reasons[-1][:70] if r.reasons else ""
            cells.append(f"{r.status} ({why})" if r.status != "passed" else "passed")
        print(f"| {name or 'honest (none)'} | " + " | ".join(cells) + " |")
