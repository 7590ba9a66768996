"""Polynomial common-reward games with scalar actions (THEORY.md section 1).

A :class:`Game` holds a shared reward ``R(a_1, .., a_n)`` that is a polynomial in the agents'
actions, with exact rational or symbolic-parameter coefficients. It is built from text (parsed
safely: no ``eval`` of arbitrary Python), a SymPy expression, a coefficient array or a catalogue
name such as ``"twin_peaks(A=1, B=4, C=5)"``.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
import sympy
from sympy.parsing.sympy_parser import auto_number, convert_xor, parse_expr, rationalize

from brud_analysis.errors import BrudError

# Lower-case names that are parameters, not agents (Greek letters as SymPy spells them).
GREEK_NAMES = frozenset(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lamda lambda_ mu nu xi omicron "
    "rho sigma tau upsilon phi chi psi omega".split()
)
# Functions a user may write; they parse, so that a non-polynomial reward gets a clear message
# ("not a polynomial ... sin(x)") instead of a parse error.
_KNOWN_FUNCTIONS: dict[str, Any] = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "exp": sympy.exp, "log": sympy.log,
    "sqrt": sympy.sqrt, "Abs": sympy.Abs, "abs": sympy.Abs, "tanh": sympy.tanh,
}
_CONSTANTS: dict[str, Any] = {"pi": sympy.pi}
_ALLOWED_OPS = frozenset("+ - * / ** ^ ( ) ,".split())
_MAX_TEXT = 10_000
_PARSE_GLOBALS = {
    "Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational,
    "Symbol": sympy.Symbol, "__builtins__": {},
}
_CATALOGUE_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def natural_key(name: str) -> tuple:
    """Sort key that orders ``x < y < z`` and ``a1 < a2 < a10``.

    Example:
        >>> sorted(["a10", "a2", "a1"], key=natural_key)
        ['a1', 'a2', 'a10']
    """
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name) if p)


def is_agent_name(name: str) -> bool:
    """Whether a free symbol's name denotes an agent (lower-case start, not a Greek letter).

    Example:
        >>> is_agent_name("x"), is_agent_name("A"), is_agent_name("alpha")
        (True, False, False)
    """
    return bool(name) and name[0].islower() and name not in GREEK_NAMES


def _to_exact(value: Any) -> sympy.Expr:
    """A Python/numpy number as an exact SymPy number (floats via their shortest decimal)."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, bool | np.bool_):
        raise BrudError(f"expected a number, got {value!r}")
    if isinstance(value, int | np.integer):
        return sympy.Integer(int(value))
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise BrudError(f"expected a number, got {value!r}") from None
    if not np.isfinite(f):
        raise BrudError(f"expected a finite number, got {value!r}")
    return sympy.Rational(repr(f))


def parse_text(text: str) -> sympy.Expr:
    """Parse reward text safely; ``^`` is a power and decimals become exact rationals.

    Only numbers, names, ``+ - * / ** ^ ( ) ,`` are accepted, so no Python code can run.

    Example:
        >>> parse_text("x^2 + 0.5*x*y")
        x**2 + x*y/2
    """
    if not isinstance(text, str) or not text.strip():
        raise BrudError("empty reward: give a polynomial such as 'x*y'")
    if len(text) > _MAX_TEXT:
        raise BrudError(f"reward text too long ({len(text)} characters, at most {_MAX_TEXT})")
    names: dict[str, Any] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text.strip()).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        raise BrudError(f"cannot parse reward: {text.strip()!r}") from None
    for tok in tokens:
        if tok.type == tokenize.NAME:
            if tok.string.startswith("_") or keyword.iskeyword(tok.string):
                raise BrudError(f"cannot parse reward: name {tok.string!r} is not allowed")
            if tok.string in _KNOWN_FUNCTIONS:
                names[tok.string] = _KNOWN_FUNCTIONS[tok.string]
            elif tok.string in _CONSTANTS:
                names[tok.string] = _CONSTANTS[tok.string]
            else:
                names[tok.string] = sympy.Symbol(tok.string, real=True)
        elif tok.type == tokenize.OP:
            if tok.string not in _ALLOWED_OPS:
                raise BrudError(
                    f"cannot parse reward: {tok.string!r} is not allowed "
                    "(use numbers, names and + - * / ** ^ ( ))"
                )
        elif tok.type == tokenize.NUMBER:
            if tok.string[-1] in "jJ":
                raise BrudError(f"cannot parse reward: complex number {tok.string!r}")
        elif tok.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            raise BrudError(f"cannot parse reward: unexpected {tok.string!r}")
    try:
        expr = parse_expr(
            text.strip(), local_dict=names, global_dict=dict(_PARSE_GLOBALS),
            transformations=(auto_number, rationalize, convert_xor),
        )
    except Exception:  # SyntaxError, TypeError (e.g. calling a symbol), ...: all bad input
        raise BrudError(f"cannot parse reward: {text.strip()!r}") from None
    if not isinstance(expr, sympy.Expr):
        raise BrudError(f"cannot parse reward: {text.strip()!r} is not an expression")
    return expr


def _agent_symbol(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


def _default_agent_names(n: int) -> list[str]:
    return ["x", "y", "z"][:n] if n <= 3 else [f"a{i + 1}" for i in range(n)]


def _from_coefficients(array: Any, agents: Sequence[str] | None) -> tuple[sympy.Expr, list[str]]:
    try:
        coeffs = np.asarray(array, dtype=object)
    except (TypeError, ValueError):
        raise BrudError("coefficient array must be a rectangular array of numbers") from None
    if coeffs.ndim < 2:
        raise BrudError(
            f"coefficient array has {coeffs.ndim} dimension(s): a game needs at least 2 agents "
            "(one array axis per agent)"
        )
    names = list(agents) if agents is not None else _default_agent_names(coeffs.ndim)
    if len(names) != coeffs.ndim:
        raise BrudError(
            f"coefficient array has {coeffs.ndim} axes but {len(names)} agent names were given"
        )
    symbols = [_agent_symbol(n) for n in names]
    expr = sympy.Integer(0)
    for index in np.ndindex(*coeffs.shape):
        c = _to_exact(coeffs[index])
        if c != 0:
            expr += c * sympy.Mul(*[s**k for s, k in zip(symbols, index, strict=True)])
    return expr, names


class Game:
    """A polynomial common-reward game with scalar actions.

    Args:
        reward: text (``"x*y"``, ``"x^2"``, catalogue names like ``"sign_agreement"``), a SymPy
            expression, or a coefficient array ``c[i, j, ..]`` of ``prod_k a_k**i_k``.
        agents: agent names in order; inferred when ``None`` (lower-case free symbols are agents,
            upper-case and Greek ones are parameters, sorted naturally).

    Example:
        >>> g = Game("-A*(x**2 + y**2) + C*x*y")
        >>> g.agent_names, g.parameters
        (('x', 'y'), (A, C))
        >>> g.gradient
        (-2*A*x + C*y, -2*A*y + C*x)
    """

    name: str | None

    def __init__(
        self, reward: str | sympy.Expr | np.ndarray | Sequence, agents: Sequence[str] | None = None
    ) -> None:
        self.name = None
        if agents is not None:
            if isinstance(agents, str):
                agents = [a.strip() for a in agents.split(",")]
            agents = [str(a) for a in agents]
            for a in agents:
                if not a.isidentifier() or keyword.iskeyword(a) or a.startswith("_"):
                    raise BrudError(f"agent name {a!r} is not a valid name")
            if len(set(agents)) != len(agents):
                raise BrudError(f"agent names repeat: {', '.join(agents)}")
        if isinstance(reward, str):
            catalogue_game = _catalogue_game(reward)
            if catalogue_game is not None:
                expr, self.name = catalogue_game.reward, catalogue_game.name
            else:
                expr = parse_text(reward)
            names = None
        elif isinstance(reward, sympy.Basic):
            expr, names = sympy.sympify(reward), None
        elif isinstance(reward, np.ndarray | list | tuple):
            expr, names = _from_coefficients(reward, agents)
        else:
            raise BrudError(f"cannot build a game from {type(reward).__name__}")
        if not isinstance(expr, sympy.Expr):
            raise BrudError("reward must be a scalar expression")
        # One Symbol per name (real=True) so that text and SymPy input agree.
        expr = expr.xreplace(
            {s: _agent_symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
        )
        free = {s.name for s in expr.free_symbols}
        if names is None:
            if agents is None:
                names = sorted((n for n in free if is_agent_name(n)), key=natural_key)
            else:
                unknown = [a for a in agents if a not in free]
                if unknown:
                    raise BrudError(
                        f"unknown agent(s) {', '.join(unknown)}: not in the reward {expr}"
                    )
                missing = sorted(
                    (n for n in free if is_agent_name(n) and n not in agents), key=natural_key
                )
                if missing:
                    raise BrudError(
                        f"symbol(s) {', '.join(missing)} look like agents but are missing from "
                        "the agent list (add them, or use upper-case names for parameters)"
                    )
                names = list(agents)
        if len(names) < 2:
            what = f"only agent {names[0]}" if names else "no agent"
            raise BrudError(
                f"a game needs at least 2 agents, found {what} in {expr} "
                "(agents are lower-case symbols; upper-case ones are parameters)"
            )
        self.agents: tuple[sympy.Symbol, ...] = tuple(_agent_symbol(n) for n in names)
        self.agent_names: tuple[str, ...] = tuple(names)
        self.n_agents: int = len(names)
        self.parameters: tuple[sympy.Symbol, ...] = tuple(
            sorted((s for s in expr.free_symbols if s not in self.agents),
                   key=lambda s: natural_key(s.name))
        )
        _check_polynomial(expr, self.agents)
        self.reward: sympy.Expr = sympy.expand(expr)

    # ----------------------------------------------------------------- derived quantities
    @cached_property
    def gradient(self) -> tuple[sympy.Expr, ...]:
        """dR/da_i for each agent (the true field).

        Example:
            >>> Game("x*y").gradient
            (y, x)
        """
        return tuple(sympy.expand(sympy.diff(self.reward, a)) for a in self.agents)

    @cached_property
    def hessian(self) -> sympy.Matrix:
        """The Hessian matrix of R in the agents' actions.

        Example:
            >>> Game("-(x - y)**2").hessian
            Matrix([
            [-2,  2],
            [ 2, -2]])
        """
        return sympy.hessian(self.reward, self.agents)

    @cached_property
    def poly(self) -> sympy.Poly:
        """R as a Poly in the agents (coefficients may contain parameters).

        Example:
            >>> Game("x*y + 2").poly.total_degree()
            2
        """
        return sympy.Poly(self.reward, *self.agents)

    def with_parameters(self, **values: Any) -> Game:
        """Substitute parameter values, e.g. ``A=1``; unknown names are a :class:`BrudError`.

        Example:
            >>> Game("A*x*y").with_parameters(A=2).reward
            2*x*y
        """
        by_name = {p.name: p for p in self.parameters}
        unknown = [k for k in values if k not in by_name]
        if unknown:
            known = ", ".join(by_name) or "none"
            raise BrudError(f"unknown parameter(s) {', '.join(unknown)} (parameters: {known})")
        subs = {}
        for k, v in values.items():
            subs[by_name[k]] = parse_text(v) if isinstance(v, str) else _to_exact(v)
        game = Game(self.reward.xreplace(subs), agents=self.agent_names) if subs else self
        if subs:
            game.name = self.name
        return game

    def require_numeric(self) -> None:
        """Raise :class:`BrudError` if a parameter is still symbolic.

        Example:
            >>> Game("x*y").require_numeric()
        """
        if self.parameters:
            names = ", ".join(p.name for p in self.parameters)
            raise BrudError(
                f"reward has symbolic parameter(s) {names}: give values, "
                f"e.g. twin_peaks(A=1, B=4, C=5), or derive formulas with "
                f"brud_analysis.parametric (brud analyse does so)"
            )

    def numeric_reward(self) -> Callable[[np.ndarray], np.ndarray]:
        """A numpy function ``(..., n) -> (...)`` evaluating R.

        Example:
            >>> f = Game("x*y").numeric_reward()
            >>> f(np.array([[2.0, 3.0], [1.0, -1.0]]))
            array([ 6., -1.])
        """
        self.require_numeric()
        raw = sympy.lambdify(self.agents, self.reward, modules="numpy")

        def reward(actions: np.ndarray) -> np.ndarray:
            actions = np.asarray(actions, dtype=float)
            if actions.shape[-1] != self.n_agents:
                raise BrudError(
                    f"actions have last axis {actions.shape[-1]}, expected {self.n_agents}"
                )
            value = raw(*np.moveaxis(actions, -1, 0))
            return np.broadcast_to(np.asarray(value, dtype=float), actions.shape[:-1]).copy()

        return reward

    def latex(self) -> str:
        """LaTeX for the reward.

        Example:
            >>> Game("x*y").latex()
            'x y'
        """
        return sympy.latex(self.reward)

    def __repr__(self) -> str:
        return f"Game({str(self.reward)!r}, agents={list(self.agent_names)!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Game)
            and self.agent_names == other.agent_names
            and sympy.expand(self.reward - other.reward) == 0
        )

    def __hash__(self) -> int:
        return hash((self.agent_names, self.reward))


def _check_polynomial(expr: sympy.Expr, agents: tuple[sympy.Symbol, ...]) -> None:
    names = ", ".join(a.name for a in agents)
    if expr.has(sympy.I) or expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        raise BrudError(f"reward must be a finite real polynomial in {names}: {expr}")
    if not expr.is_polynomial(*agents):
        raise BrudError(f"reward is not a polynomial in {names}: {expr}")
    # x**(1/2)*x**(1/2) style cancellations are fine; coefficients must not involve agents.
    try:
        poly = sympy.Poly(sympy.expand(expr), *agents)
    except sympy.PolynomialError:
        raise BrudError(f"reward is not a polynomial in {names}: {expr}") from None
    for coeff in poly.coeffs():
        if coeff.free_symbols & set(agents):
            raise BrudError(f"reward is not a polynomial in {names}: {expr}")


def _catalogue_game(text: str) -> Game | None:
    """The catalogue game ``text`` names (``"twin_peaks(A=1, B=4, C=5)"``), else ``None``."""
    from brud_analysis.catalogue import CATALOGUE

    match = _CATALOGUE_CALL.match(text)
    if not match or match.group(1) not in CATALOGUE:
        return None
    name, arg_text = match.group(1), match.group(2)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if arg_text and arg_text.strip():
        for part in arg_text.split(","):
            if "=" in part:
                key, _, value = part.partition("=")
                key = key.strip()
                if not key.isidentifier():
                    raise BrudError(f"bad argument {part.strip()!r} in {text.strip()!r}")
                kwargs[key] = parse_text(value)
            else:
                args.append(parse_text(part))
    try:
        return CATALOGUE[name](*args, **kwargs)
    except TypeError as err:
        raise BrudError(f"bad arguments for {name}: {err}") from None
