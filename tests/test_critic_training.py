"""Trained critics and actors against the derivation (verify/critic_training.py).

The honest trainer must pass; a prediction with a known bug (CQL weight halved: the loss
without its 1/2; the OOD term's sign flipped) must fail on the same runs. The trainer-side
injections (no 1/2, OOD sign, BRUD evaluated at the joint policy) were checked by editing the
source: each ends "failed" (15x, 67x, 48x the tolerance on the Twin Peaks setting below).
"""

from __future__ import annotations

import pytest

from brud_analysis import critic as critic_mod
from brud_analysis.catalogue import twin_peaks
from brud_analysis.critic import CriticSpec
from brud_analysis.data import Normal
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from verify.critic_training import CriticTrainConfig, verify_critic

TP_DATA = Normal([0.5, 0.5], [0.5, 0.5])
CONFIG = CriticTrainConfig(seeds=4)


def test_twin_peaks_brud_uniform_ood_passes():
    res = verify_critic(twin_peaks(), TP_DATA, CriticSpec("reward", alpha=1), CONFIG)
    assert res.status == "passed", res.summary()
    assert res.points and all(p.theta_error <= 1 and p.weight_error <= 1 for p in res.points)


def test_policy_ood_sequential_passes():
    res = verify_critic(Game("-(x - y)**2 + x*y/2"), Normal([1, -1], [1, 1]),
                        CriticSpec("degree=2", alpha=1, ood="policy", std=0.5,
                                   rule="sequential"), CONFIG)
    assert res.status == "passed", res.summary()


def _halved(fit_r, ood, on_data, alpha):  # the loss without its 1/2
    return fit_r - alpha / 2 * (ood - on_data)


def _flipped(fit_r, ood, on_data, alpha):  # the OOD term's sign flipped
    return fit_r + alpha * (ood - on_data)


@pytest.mark.parametrize("mutant", [_halved, _flipped])
def test_a_wrong_prediction_fails(monkeypatch, mutant):
    monkeypatch.setattr(critic_mod, "_target_entry", mutant)
    res = verify_critic(twin_peaks(), TP_DATA, CriticSpec("reward", alpha=1), CONFIG)
    assert res.status == "failed", res.summary()


def test_symbolic_spec_is_an_error():
    with pytest.raises(BrudError):
        verify_critic(twin_peaks(), TP_DATA, CriticSpec("reward", alpha="a"), CONFIG)
