"""Game parsing, agent inference, derived quantities and the user errors of issue 2."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from brud_analysis.errors import BrudError
from brud_analysis.game import Game, natural_key


def test_text_parsing_with_caret_and_exact_decimals():
    g = Game("x^2*y + 0.1*x")
    x, y = g.agents
    assert g.reward == x**2 * y + sympy.Rational(1, 10) * x
    assert g.agent_names == ("x", "y")


def test_parameters_are_uppercase_and_greek_symbols():
    g = Game("-A*x**2 + alpha*x*y - B*y**2")
    assert g.agent_names == ("x", "y")
    assert [p.name for p in g.parameters] == ["A", "B", "alpha"]


def test_agents_sorted_naturally():
    assert Game("a10*a2 + a1").agent_names == ("a1", "a2", "a10")
    assert sorted(["z", "x", "y"], key=natural_key) == ["x", "y", "z"]


def test_explicit_agents_fix_the_order():
    g = Game("x + 2*y", agents=["y", "x"])
    assert g.agent_names == ("y", "x")
    assert g.gradient == (2, 1)


def test_sympy_expression_and_coefficient_array_agree():
    x, y = sympy.symbols("x y")
    from_expr = Game(3 * x**2 * y - y)
    coeffs = np.zeros((3, 2))
    coeffs[2, 1] = 3
    coeffs[0, 1] = -1
    assert Game(coeffs) == from_expr


def test_three_agent_array_names_x_y_z():
    coeffs = np.zeros((2, 2, 2))
    coeffs[1, 1, 1] = 1
    assert Game(coeffs).agent_names == ("x", "y", "z")


def test_gradient_and_hessian():
    g = Game("-(x - y)**2")
    x, y = g.agents
    assert g.gradient == (-2 * x + 2 * y, 2 * x - 2 * y)
    assert g.hessian == sympy.Matrix([[-2, 2], [2, -2]])


def test_with_parameters_and_require_numeric():
    g = Game("A*x*y")
    with pytest.raises(BrudError, match="symbolic parameter"):
        g.require_numeric()
    assert Game("A*x*y").with_parameters(A=0.5).reward == g.agents[0] * g.agents[1] / 2
    with pytest.raises(BrudError, match="unknown parameter"):
        g.with_parameters(Z=1)


def test_numeric_reward_shapes():
    f = Game("x*y + 1").numeric_reward()
    out = f(np.ones((4, 3, 2)))
    assert out.shape == (4, 3)
    assert np.allclose(out, 2.0)
    const = Game("0*x*y + x - x + y - y + x*y").numeric_reward()
    assert const(np.array([2.0, 5.0])).shape == ()


def test_latex():
    assert Game("x**2*y").latex() == "x^{2} y"


def test_catalogue_name_with_arguments():
    g = Game("twin_peaks(A=1, B=4, C=5)")
    assert g.name == "twin_peaks"
    x, y = g.agents
    assert g.reward == sympy.expand(-(x**2 + y**2) - 4 * (x * y) ** 2 + 5 * x * y)


# --- one test per user error named in the issue ------------------------------------------
@pytest.mark.parametrize("text", ["sin(x)*y", "1/x + y", "x**0.5*y", "exp(x*y)", "x**y"])
def test_non_polynomial_reward_is_a_clear_error(text):
    with pytest.raises(BrudError, match="not a polynomial"):
        Game(text)


@pytest.mark.parametrize("text", ["x*y +", "x*(y", "x*y = 2", "", "   ", "x.real*y",
                                  "__import__('os')", "[x, y]", "x*y; 1", "lambda: x"])
def test_unparsable_input_is_a_clear_error(text):
    with pytest.raises(BrudError, match="parse|empty"):
        Game(text)


def test_single_agent_is_an_error():
    with pytest.raises(BrudError, match="at least 2 agents"):
        Game("x**2 + A*x")
    with pytest.raises(BrudError, match="at least 2 agents"):
        Game(np.array([1.0, 2.0]))


def test_unknown_agent_name_is_an_error():
    with pytest.raises(BrudError, match="unknown agent"):
        Game("x*y", agents=["x", "q"])


def test_missing_agent_name_is_an_error():
    with pytest.raises(BrudError, match="missing from the agent list"):
        Game("x*y*z", agents=["x", "y"])


def test_invalid_or_repeated_agent_names_are_errors():
    with pytest.raises(BrudError, match="not a valid name"):
        Game("x*y", agents=["x", "1y"])
    with pytest.raises(BrudError, match="repeat"):
        Game("x*y", agents=["x", "x"])


def test_error_messages_are_one_line():
    for text in ["sin(x)*y", "x*y +", "x"]:
        with pytest.raises(BrudError) as info:
            Game(text)
        assert "\n" not in str(info.value)


# ------------------------------------------------------------------ limits before expansion
@pytest.mark.parametrize("reward, fragment", [
    (lambda x, y: (x + y) ** 1000, "degree can reach 1000"),
    (lambda x, y: (x + y + 1) ** 60 * (x - y + 2) ** 4, "terms"),
    (lambda x, y: sympy.Integer(10) ** 2000 * x * y, "digits"),
    (lambda x, y: sympy.Float("inf") * x * y, "finite"),
])
def test_sympy_input_is_bounded_before_expansion(reward, fragment):
    x, y = sympy.symbols("x y", real=True)
    with pytest.raises(BrudError, match=fragment):
        Game(reward(x, y))


def test_coefficient_arrays_are_bounded():
    with pytest.raises(BrudError, match="limit 12 agents"):
        Game(np.ones((1,) * 13))
    with pytest.raises(BrudError, match="limit 64"):
        Game(np.ones((70, 2)))


def test_limits_leave_ordinary_games_alone():
    g = Game("(x + y)**64")  # at the degree limit: accepted and expanded
    assert g.poly.total_degree() == 64
    assert Game("x**2*y - 0.1*x*y").reward.free_symbols == set(g.agents)
