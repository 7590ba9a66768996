"""Phase diagrams (brud_analysis.phase_diagrams; docs/theory.md#data-conditions, #the-pjap-field).

The pictures are only as good as the numbers under them, so these tests check the numbers
against closed forms the theory page derives, and the CLI wiring (PNG written, bad path refused
before any work).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from brud_analysis.catalogue import action_agreement, twin_peaks
from brud_analysis.cli import main
from brud_analysis.game import Game
from brud_analysis.phase_diagrams import (
    brud_limit,
    brud_plane,
    condition_phase_diagram,
    pjap_plane,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_twin_peaks_limit_is_the_closed_form():
    # theta_x* = C m / (2A + 2B(m^2 + s^2)) (docs/theory.md#the-brud-field); unique and globally
    # stable, so it is the limit from any start. np.roots of a linear polynomial is one
    # division: 1e-12 relative is float64 round-off with room.
    m, s = np.meshgrid(np.linspace(-1, 1, 9), np.linspace(0, 1, 7))
    for start in (-2.0, 0.0, 0.6124):
        got = brud_limit(twin_peaks(), 0, start, m, s)
        want = 5 * m / (2 + 8 * (m**2 + s**2))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_limit_picks_the_first_root_in_the_direction_of_the_flow():
    # g_x = -x^3 + 2 E[y] x: with mean_y = 1/2 (std 0) the roots are -1, 0, 1, and 0 is unstable
    game = Game("-x**4/4 + x**2*y")
    m, s = np.array([0.5]), np.array([0.0])
    assert brud_limit(game, 0, 0.5, m, s)[0] == pytest.approx(1.0, abs=1e-12)
    assert brud_limit(game, 0, -0.5, m, s)[0] == pytest.approx(-1.0, abs=1e-12)
    assert brud_limit(game, 0, 0.0, m, s)[0] == 0.0  # a root: nothing moves
    assert brud_limit(game, 0, 3.0, m, s)[0] == pytest.approx(1.0, abs=1e-12)


def test_constant_field_never_stops():
    # sign agreement: g_x = mean_y, a constant: BRUD drifts for ever unless mean_y = 0
    lim = brud_limit(Game("x*y"), 0, 0.3, np.array([-1.0, 0.0, 2.0]), np.zeros(3))
    assert lim[0] == -np.inf and lim[1] == 0.3 and lim[2] == np.inf


def test_target_is_reached_exactly_on_the_condition_curve():
    # Eq. 5 for A=1, B=4, C=5 and +a_dag: std^2 = -m^2 + 5 sqrt(6) m / 12 - 1/4
    a = float(sympy.sqrt(sympy.Rational(3, 8)))
    m = np.array([0.45, 0.5, 0.6])
    std = np.sqrt(-m**2 + 5 * np.sqrt(6) * m / 12 - 0.25)
    np.testing.assert_allclose(brud_limit(twin_peaks(), 0, a, m, std), a, rtol=1e-12)
    off = brud_limit(twin_peaks(), 0, a, m, std + 0.1)  # wider data: BRUD falls short
    assert np.all(off < a - 1e-3)


def test_reward_loss_plane():
    # action agreement: limits (m_y, m_x) = (m, m) for symmetric data, reward 0 = R(target)
    # wherever both data means are equal, so the loss is 0 on the whole plane here; the target
    # (0.5, 0.5) is itself a maximum.
    plane = brud_plane(action_agreement(), [0.5, 0.5], resolution=9)
    np.testing.assert_allclose(plane.loss, 0.0, atol=1e-12)
    np.testing.assert_allclose(plane.limits[0], np.meshgrid(plane.means, plane.stds)[0],
                               atol=1e-12)
    tp = brud_plane(twin_peaks(), [0.6124, 0.6124], resolution=11)
    assert np.all(tp.loss >= -1e-9)  # the target is (to 4 digits) the maximum: never beaten
    assert np.nanmax(tp.loss) == pytest.approx(0.5625, abs=1e-3)  # mean 0: the saddle, R = 0


def test_pjap_plane_switches_at_the_escape_threshold():
    # Twin Peaks, origin-centred data with std 1: alpha* = (A + B s^2) / (s^2 (C - 2A)) = 5/3
    # (docs/theory.md#the-pjap-field). At half the threshold the flow returns to the origin, at
    # twice it leaves for the positive peak (started at +0.05).
    plane = pjap_plane(twin_peaks(), [0, 0], alpha_range=(5 / 6, 10 / 3), std_range=(1.0, 1.5),
                       resolution=3, steps=4000)
    np.testing.assert_allclose(plane.threshold, (1 + 4 * plane.stds**2) / (3 * plane.stds**2),
                               rtol=1e-12)
    below, above = plane.end[0, 0], plane.end[0, 2]
    assert np.all(np.abs(below) < 1e-6) and plane.converged[0, 0]
    assert np.all(above > 0.1) and plane.converged[0, 2]
    assert plane.best == pytest.approx(0.5625, rel=1e-12)


def test_condition_plot_cli(tmp_path, capsys):
    out = tmp_path / "phase.png"
    code = main(["condition", "twin_peaks(A=1, B=4, C=5)", "--target=sqrt(3/8),sqrt(3/8)",
                 "--plot", str(out), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["plot"] == str(out)
    assert out.read_bytes().startswith(PNG)


def test_condition_plot_bad_path_is_refused_first(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = main(["condition", "x*y", "--target", "1", "1", "--plot", str(blocker / "x.png")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("brud: error:") and len(err.strip().splitlines()) == 1


def test_small_diagram_file(tmp_path):
    a = sympy.sqrt(sympy.Rational(3, 8))
    out = condition_phase_diagram(twin_peaks(), [a, a], tmp_path / "d" / "p.png", resolution=15)
    assert out.read_bytes().startswith(PNG)


def test_pjap_plot_cli(tmp_path, capsys):
    out = tmp_path / "pjap.png"
    assert main(["pjap-field", "sign_agreement", "--data", "normal", "--mean", "0", "0",
                 "--std", "1", "1", "--alpha", "1", "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(PNG)
    assert main(["pjap-field", "sign_agreement", "--data", "normal", "--mean", "0", "0",
                 "--std", "1", "1", "--alpha", "1", "--eps", "0.1", "--plot", str(out)]) == 2
    assert "closed-form" in capsys.readouterr().err
    # Non-normal data never reach the normal-only closed form (its std / mean).
    assert main(["pjap-field", "sign_agreement", "--data", "uniform", "--low", "-1", "-1",
                 "--high", "1", "1", "--alpha", "1", "--plot", str(out)]) == 2
    assert "closed-form" in capsys.readouterr().err


def test_single_stable_mean_is_labelled_stable_and_visible():
    """Issue 26 item 4: R = -x^4 - y^4 + 4xy, target (1, 1) needs mean 1 exactly (any std),
    a stable interval [1, 1] that no grid point hits: the curve was labelled 'target
    unstable', and the zero-length 'admissible means' bar was invisible."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brud_analysis.conditions import data_conditions
    from brud_analysis.phase_diagrams import _draw_admissible_means, _draw_condition

    cond = data_conditions(Game("-x^4 - y^4 + 4*x*y"), [1, 1])
    a = cond.per_agent[0]
    assert a.stable_mean_intervals == [(1.0, 1.0)]
    mg, sg = np.meshgrid(np.linspace(-1.5, 1.5, 41), np.linspace(0, 1.5, 41))  # 1 is off-grid
    fig, ax = plt.subplots()
    try:
        assert _draw_condition(ax, a, mg, sg, label=True)
        _draw_admissible_means(ax, a.mean_intervals, -1.5, 1.5)
        handles, labels = ax.get_legend_handles_labels()
        assert "condition (target stable)" in labels
        assert "condition (target unstable)" not in labels
        bar = handles[labels.index("admissible means")]
        xs = bar.get_xdata()
        assert bar.get_marker() not in ("None", None, "") or max(xs) > min(xs)
        assert list(xs) == [1.0]
    finally:
        plt.close(fig)
