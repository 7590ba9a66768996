"""Reading a reward safely: text to a SymPy expression, within hard size limits.

:func:`parse_text` reads reward text without ``eval`` of arbitrary Python: a token whitelist
(numbers, names, ``+ - * / ** ^ ( ) ,``, the functions in ``_KNOWN_FUNCTIONS``), then SymPy's
parser on the checked text. :class:`Limits` (``LIMITS``) bounds what a reward may be (degree,
terms, digits, agents, nesting) and is checked *before* anything is expanded or evaluated:
on the text (:func:`parse_text`) and on a SymPy expression (:func:`check_reward_size`).
:func:`parse_catalogue_call` reads a catalogue name such as ``"twin_peaks(A=1, B=4, C=5)"``.
:class:`~brud_analysis.game.Game` builds on these.
"""

from __future__ import annotations

import ast
import difflib
import io
import keyword
import math
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import sympy
from sympy.parsing.sympy_parser import auto_number, convert_xor, parse_expr, rationalize

from brud_analysis.errors import BrudError
from brud_analysis.paper_rewards import REWARDS

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
# Names SymPy or a user may mean as infinity / not-a-number: a reward's coefficients are finite.
_NON_FINITE_NAMES = frozenset({"inf", "infinity", "nan", "oo", "zoo"})
_ALLOWED_OPS = frozenset("+ - * / ** ^ ( ) ,".split())
_OPERATORS = frozenset("+ - * / ** ^".split())
_MAX_TEXT = 10_000
_PARSE_GLOBALS = {
    "Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational,
    "Symbol": sympy.Symbol, "__builtins__": {},
}
_CATALOGUE_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


@dataclass(frozen=True)
class Limits:
    """Hard limits on a reward, checked *before* anything is expanded or evaluated.

    Each bound is an upper estimate computed from the expression tree alone (no expansion), so a
    reward such as ``(x + y)**10**10`` or ``10**10**10 * x*y`` is refused in microseconds with a
    one-line error naming the limit, instead of exhausting time or memory.

    Example:
        >>> LIMITS.max_degree, LIMITS.max_agents
        (64, 12)
    """

    max_degree: int = 64  # total degree in all symbols (agents and parameters)
    max_terms: int = 2_000  # monomials after expansion (SymPy expands ~400 terms/s here)
    max_digits: int = 1_000  # decimal digits of any exact number, in the input or expanded
    max_agents: int = 12  # agents of a game
    max_symbols: int = 32  # distinct names in the text (agents, parameters, functions)
    max_operations: int = 1_000  # operators in the text (+ - * / ** ^)
    max_coefficient: float = 1e300  # |coefficient|: eigenvalues etc. are computed in floats
    max_nesting: int = 100  # parentheses deep (Python's own parser stops at 200, silently)


#: The limits every :class:`Game` and :func:`parse_text` enforce.
LIMITS = Limits()
_LOG10_2 = math.log10(2.0)


@dataclass(frozen=True)
class _Size:
    """Upper bounds for a subexpression once expanded: degree, monomials, decimal digits."""

    degree: float
    terms: float
    digits: float


def _number_size(value: Fraction) -> _Size:
    digits = max(abs(value.numerator).bit_length(), value.denominator.bit_length()) * _LOG10_2
    return _Size(0, 1, digits)


def _add_sizes(sizes: Sequence[_Size]) -> _Size:
    return _Size(max(s.degree for s in sizes), sum(s.terms for s in sizes),
                 max(s.digits for s in sizes) + math.log10(len(sizes)))


def _mul_sizes(sizes: Sequence[_Size]) -> _Size:
    # the product of k sums: at most prod(terms) monomials with coefficient digits adding up
    terms = math.prod(s.terms for s in sizes)
    return _Size(sum(s.degree for s in sizes), terms,
                 sum(s.digits for s in sizes) + math.log10(max(min(terms, 1e300), 1.0)))


def _pow_size(base: _Size, exponent: float) -> _Size:
    k = math.ceil(abs(exponent))
    if k == 0:
        return _Size(0, 1, 1)
    if base.terms <= 1:
        terms = 1.0
    else:  # monomials of a k-th power of a sum of t terms: at most C(t + k - 1, k)
        log_terms = (math.lgamma(base.terms + k) - math.lgamma(k + 1)
                     - math.lgamma(base.terms)) / math.log(10)
        terms = 10 ** min(log_terms, 300)
    # multinomial coefficients are at most t**k
    digits = k * (base.digits + math.log10(max(base.terms, 1.0)))
    return _Size(base.degree * k, terms, digits)


def _count(value: float) -> str:
    return f"{math.ceil(value)}" if value < 1e6 else f"{value:.2g}"


def _check_size(size: _Size, what: str) -> None:
    lim = LIMITS
    if size.degree > lim.max_degree:
        raise BrudError(f"{what} is too large: its degree can reach {_count(size.degree)} "
                        f"(limit {lim.max_degree})")
    if size.terms > lim.max_terms:
        raise BrudError(f"{what} is too large: expanded it can have {_count(size.terms)} terms "
                        f"(limit {lim.max_terms})")
    if size.digits > lim.max_digits:
        raise BrudError(f"{what} is too large: it involves numbers of up to {_count(size.digits)} "
                        f"digits (limit {lim.max_digits})")


def _literal_value(text: str) -> Fraction:
    """The exact value of a number token, refusing huge ones before they are built."""
    clean = text.replace("_", "")
    try:
        dec = Decimal(clean)
    except InvalidOperation:  # 0x.., 0o.., 0b..: size from the digit count, then exact
        digits = len(clean) * math.log10(16)
        if digits > LIMITS.max_digits:
            raise BrudError(f"number {text[:20]}... is too large (limit {LIMITS.max_digits} "
                            "digits)") from None
        return Fraction(int(clean, 0))
    _, mantissa, exponent = dec.as_tuple()
    size = len(mantissa) + abs(int(exponent))
    if size > LIMITS.max_digits:
        shown = text if len(text) <= 20 else text[:20] + "..."
        raise BrudError(f"number {shown} is too large or too precise: ~{size} digits "
                        f"(limit {LIMITS.max_digits})")
    return Fraction(dec)


def _text_size(text: str) -> _Size:
    """Upper bounds of ``text`` (Python syntax, ``^`` = power) without evaluating it."""
    try:  # '^' is a power, as convert_xor makes it (and so binds tighter than '*')
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except RecursionError:
        raise BrudError("cannot parse reward: nested too deeply") from None
    except (SyntaxError, ValueError, MemoryError):
        raise BrudError(f"cannot parse reward: {short_text(text)!r}") from None
    source = text.replace("^", "**")
    sizes: dict[int, _Size] = {}
    values: dict[int, Fraction | None] = {}  # exact value of constant rational subtrees
    # Post-order walk with an explicit stack: long sums are left-deep trees.
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    while stack:
        node, done = stack.pop()
        children = _ast_children(node)
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children)
            continue
        size, value = _node_size(node, source, [sizes[id(c)] for c in children],
                                 [values[id(c)] for c in children])
        sizes[id(node)], values[id(node)] = size, value
        _check_size(size, "reward")
    return sizes[id(tree.body)]


def _ast_children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        if node.keywords or not isinstance(node.func, ast.Name):
            raise BrudError("cannot parse reward: only calls like sqrt(2) are allowed")
        return list(node.args)
    if isinstance(node, ast.Tuple):
        return list(node.elts)
    if isinstance(node, ast.Constant | ast.Name):
        return []
    raise BrudError(f"cannot parse reward: {type(node).__name__.lower()} is not allowed")


def _node_size(node: ast.AST, source: str, sizes: list[_Size],
               values: list[Fraction | None]) -> tuple[_Size, Fraction | None]:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float) or isinstance(node.value, bool):
            raise BrudError(f"cannot parse reward: {node.value!r} is not a number")
        number = _literal_value(ast.get_source_segment(source, node) or repr(node.value))
        return _number_size(number), number
    if isinstance(node, ast.Name):
        return _Size(0 if node.id in _CONSTANTS else 1, 1, 1), None
    if isinstance(node, ast.UnaryOp):
        value: Fraction | None = values[0]
        if value is not None and isinstance(node.op, ast.USub):
            value = -value
        return sizes[0], value
    if isinstance(node, ast.Call | ast.Tuple):
        if not sizes:
            return _Size(0, 1, 1), None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "sqrt"):
            return _pow_size(sizes[0], 0.5), None
        agg = _add_sizes(sizes)
        return _Size(agg.degree, agg.terms + 1, agg.digits), None
    assert isinstance(node, ast.BinOp)
    (a, b), (va, vb) = sizes, values
    op = node.op
    if isinstance(op, ast.Add | ast.Sub):
        value = None if va is None or vb is None else (va + vb if isinstance(op, ast.Add)
                                                        else va - vb)
        return _add_sizes(sizes), value
    if isinstance(op, ast.Mult | ast.Div):  # a quotient is bounded like a product
        value = None
        if va is not None and vb is not None:
            value = va * vb if isinstance(op, ast.Mult) else (va / vb if vb else None)
        return _mul_sizes(sizes), value
    if isinstance(op, ast.Pow):
        if vb is None:
            # a symbolic exponent (x**A): SymPy still expands its numeric part, bounded by
            # the exponent's own size
            return _pow_size(a, 10 ** min(b.digits, 300) + b.degree), None
        size = _pow_size(a, float(vb) if abs(vb) < 10**300 else 1e300)
        _check_size(size, "reward")
        value = None
        if va is not None and vb.denominator == 1 and (va or vb > 0):
            value = va ** int(vb)
        return size, value
    raise BrudError("cannot parse reward: use numbers, names and + - * / ** ^ ( )")


def _expr_size(expr: sympy.Basic) -> _Size:
    """Upper bounds of a SymPy expression once expanded (iterative: deep trees are fine)."""
    sizes: dict[int, _Size] = {}
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, done = stack.pop()
        if not done:
            stack.append((node, True))
            if not (node.is_Pow or node.is_Atom):
                stack.extend((a, False) for a in node.args)
            elif node.is_Pow:
                stack.append((node.base, False))
            continue
        if node.is_Rational:
            size = _number_size(Fraction(int(node.p), int(node.q)))
        elif node.is_Float:
            _, man, exp, bc = node._mpf_ if node._mpf_[1] else (0, 0, 0, 1)
            size = _Size(0, 1, (bc + abs(exp)) * _LOG10_2)
        elif node.is_Symbol:
            size = _Size(1, 1, 1)
        elif node.is_Atom:
            size = _Size(0, 1, 1)
        elif node.is_Pow:
            exp = node.exp
            k = float(abs(exp)) if exp.is_Rational else (
                10 ** min(_expr_size(exp).digits, 300) + _expr_size(exp).degree)
            size = _pow_size(sizes[id(node.base)], min(k, 1e300))
        elif node.is_Add:
            size = _add_sizes([sizes[id(a)] for a in node.args])
        elif node.is_Mul:
            size = _mul_sizes([sizes[id(a)] for a in node.args])
        else:  # functions and other operators: bounded by their arguments
            args = [sizes[id(a)] for a in node.args] or [_Size(0, 1, 1)]
            agg = _add_sizes(args)
            size = _Size(agg.degree, agg.terms + 1, agg.digits)
        sizes[id(node)] = size
        _check_size(size, "reward")
    return sizes[id(expr)]


def short_text(text: str, width: int = 60) -> str:
    """``text`` on one line, cut to ``width`` characters (for error messages).

    Example:
        >>> short_text("x  *   y", 5), short_text("x" * 9, 6)
        ('x * y', 'xxx...')
    """
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


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


def _check_tokens(tokens: Sequence[tokenize.TokenInfo]) -> None:
    """Refuse, with the limit named, what Python's parser would refuse without a reason:
    deep nesting ("too many nested parentheses") and long integers (4300 digits)."""
    depth = deepest = 0
    for tok in tokens:
        if tok.type == tokenize.NUMBER:
            _literal_value(tok.string)  # raises with the digit count and the limit
        elif tok.string == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif tok.string == ")":
            depth -= 1
    if deepest > LIMITS.max_nesting:
        raise BrudError(f"expression nested {deepest} parentheses deep (limit "
                        f"{LIMITS.max_nesting})")


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
    text = " ".join(text.split())  # one line: newlines and tabs are plain spaces
    names: dict[str, Any] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        raise BrudError(f"cannot parse reward: {short_text(text)!r}") from None
    operations = sum(tok.type == tokenize.OP and tok.string in _OPERATORS for tok in tokens)
    if operations > LIMITS.max_operations:
        raise BrudError(f"reward too long: {operations} operators (limit "
                        f"{LIMITS.max_operations})")
    for tok in tokens:
        if tok.type == tokenize.NAME:
            if tok.string.startswith("_") or keyword.iskeyword(tok.string):
                raise BrudError(f"cannot parse reward: name {tok.string!r} is not allowed")
            if tok.string.lower() in _NON_FINITE_NAMES:
                raise BrudError(f"cannot use {tok.string!r} in a reward: coefficients must be "
                                "finite numbers")
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
    if len(names) > LIMITS.max_symbols:
        raise BrudError(f"reward uses {len(names)} names (limit {LIMITS.max_symbols})")
    _check_tokens(tokens)
    # Bound degree, terms and number sizes on the syntax tree before SymPy evaluates anything:
    # '10**10**10' or '(x + y)**10**6' must fail here, not after minutes or gigabytes.
    _text_size(text)
    try:
        expr = parse_expr(
            text, local_dict=names, global_dict=dict(_PARSE_GLOBALS),
            transformations=(auto_number, rationalize, convert_xor),
        )
    except Exception:  # SyntaxError, TypeError (e.g. calling a symbol), ...: all bad input
        raise BrudError(f"cannot parse reward: {short_text(text)!r}") from None
    if not isinstance(expr, sympy.Expr):
        raise BrudError(f"cannot parse reward: {short_text(text)!r} is not an expression")
    return expr


def check_reward_size(expr: sympy.Basic) -> None:
    """Refuse (:class:`~brud_analysis.errors.BrudError`) a reward whose expansion would exceed
    :data:`LIMITS`, before anything is expanded.

    Example:
        >>> check_reward_size(sympy.sympify("x*y + (x + y)**4"))
        >>> check_reward_size(sympy.sympify("(x + y)**1000"))
        Traceback (most recent call last):
        ...
        brud_analysis.errors.BrudError: reward is too large: its degree can reach 1000 (limit 64)
    """
    _expr_size(expr)



def parse_catalogue_call(text: str) -> tuple[sympy.Expr, str] | None:
    """The reward and name of the paper game ``text`` names (``"twin_peaks(C=5)"``), else None.

    A lone name or call that is not in the catalogue but close to a catalogue name
    (``twinpeaks``, ``Twin_Peaks(C=5)``), or any call of an unknown name, is refused with the
    catalogue's names: read as a reward it would only fail with a less helpful message.

    Example:
        >>> parse_catalogue_call("twin_peaks(C=5)")[1], parse_catalogue_call("x*y")
        ('twin_peaks', None)
    """
    match = _CATALOGUE_CALL.match(text)
    name = match.group(1) if match else ""
    if match and name not in REWARDS and name not in _KNOWN_FUNCTIONS and name[0] != "_":
        close = difflib.get_close_matches(name.lower(), list(REWARDS), n=1, cutoff=0.7)
        if close:
            raise BrudError(f"unknown game {name!r}: did you mean {close[0]}? (the catalogue: "
                            f"{', '.join(REWARDS)})")
        if match.group(2) is not None:
            raise BrudError(f"cannot parse reward: {short_text(text)!r} calls {name}, which is "
                            f"neither a catalogue game ({', '.join(REWARDS)}) nor a function "
                            "(write products with '*')")
    if not match or match.group(1) not in REWARDS:
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
                    raise BrudError(f"bad argument {part.strip()!r} in {short_text(text)!r}")
                if key in kwargs:  # Python refuses it too; the later value would win here
                    raise BrudError(f"{name} gives {key} twice in {short_text(text)!r}")
                kwargs[key] = parse_text(value)
            else:
                args.append(parse_text(part))
    try:
        return REWARDS[name](*args, **kwargs), name
    except TypeError as err:
        raise BrudError(f"bad arguments for {name}: {err}") from None
