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

import jax
import jax.numpy as jnp
import pytest
import sympy

from brud_analysis.catalogue import twin_peaks
from brud_analysis.data import Normal
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from verify.harness import verify_game
from verify.polygames import brud_gradient
from verify.sampling import PJAPConfig, joint_action_distance, pjap_priority

PJAP = PJAPConfig(alpha=4.0, eps=1e-3, distance="l1")
# Fixed-point mode: Twin Peaks has one stable BRUD point per dataset. Drift mode: the BRUD field
# of x*y + (x^2 + y^2)/4 is g_i = theta_i / 2 + E[a_-i], repelling, so no stable point.
SETTINGS = {
    "fixed_point": dict(game=twin_peaks(), data=Normal([0.6, 0.1], [0.3, 0.6]), lr=0.005,
                        steps=300, dataset_size=40),
    "drift": dict(game=Game("x*y + (x**2 + y**2)/4"), data=Normal([0.6, -0.3], [0.3, 0.6]),
                  lr=0.01, steps=300, dataset_size=40),
}


def _ignores_theta(reward, theta, rows, weights):
    return brud_gradient(reward, jnp.zeros_like(theta), rows, weights)


def _true_gradient(reward, theta, rows, weights):
    return jax.grad(reward)(theta)


def _half_step(reward, theta, rows, weights):
    return 0.5 * brud_gradient(reward, theta, rows, weights)


def _wrong_sign(reward, theta, rows, weights):
    return -brud_gradient(reward, theta, rows, weights)


def _other_agents_moments(reward, theta, rows, weights):
    return brud_gradient(reward, theta, rows[:, ::-1], weights)


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


MUTATIONS = {
    "gradient ignores theta": _ignores_theta,
    "true gradient instead of BRUD": _true_gradient,
    "half step": _half_step,
    "wrong sign": _wrong_sign,
    "another agent's moments": _other_agents_moments,
    "population moments": "population",
    "unnormalised PJAP priorities": _unnormalised_priorities,
}


def run(mode: str, mutation: str | None, seeds: int = 16):
    """Verify the setting ``mode`` with the named mutation (``None``: the honest trainer)."""
    setting = dict(SETTINGS[mode])
    game, data = setting.pop("game"), setting.pop("data")
    gradient = MUTATIONS.get(mutation) if mutation else None
    if gradient == "population":
        gradient = _population_field(mode)
    pjap = PJAP if mutation == "unnormalised PJAP priorities" or mutation == "honest PJAP" else None
    if mutation == "honest PJAP":
        gradient = None
    return verify_game(game, data, seeds=seeds, seed=1, pjap=pjap, gradient=gradient, **setting)


@pytest.mark.parametrize("mode", sorted(SETTINGS))
@pytest.mark.parametrize("honest", [None, "honest PJAP"])
def test_the_honest_trainer_passes_in_every_setting(mode, honest):
    r = run(mode, honest)
    assert r.status == "passed", r.summary()
    assert r.mode == mode


@pytest.mark.parametrize("mode", sorted(SETTINGS))
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_broken_trainer_never_passes(mode, mutation):
    r = run(mode, mutation)
    assert r.status != "passed", (mutation, mode, r.summary())
    assert r.passed is False


if __name__ == "__main__":
    print("| bug | " + " | ".join(SETTINGS) + " |")
    print("|---|" + "---|" * len(SETTINGS))
    for name in [None, "honest PJAP", *MUTATIONS]:
        cells = []
        for mode in SETTINGS:
            r = run(mode, name, seeds=32)
            why = r.reasons[-1][:70] if r.reasons else ""
            cells.append(f"{r.status} ({why})" if r.status != "passed" else "passed")
        print(f"| {name or 'honest (none)'} | " + " | ".join(cells) + " |")
