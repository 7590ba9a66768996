"""Data models: the distribution of the dataset's joint actions, seen through its moments.

BRUD depends on the data only through moments of the other agents' actions
(docs/theory.md#the-brud-field), so every model here answers
``moment(exponents) = E[prod_j a_j**k_j]`` exactly. Normal, Uniform and PointMass are
independent across agents; Empirical and Mixture need not be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from brud_analysis.errors import BrudError
from brud_analysis.exact import to_exact as _to_exact
from brud_analysis.parsing import parse_text


def _real_symbols(expr: sympy.Expr) -> sympy.Expr:
    """Plain symbols as the real symbol of the same name (the toolkit's one convention).

    Symbols that carry assumptions of their own (``positive=True``) are the caller's and stay.
    """
    plain = [s for s in expr.free_symbols
             if isinstance(s, sympy.Symbol) and set(s.assumptions0) <= {"commutative"}]
    return expr.xreplace({s: sympy.Symbol(s.name, real=True) for s in plain})


def _exact_vector(values: Any, what: str) -> tuple[sympy.Expr, ...]:
    """Numbers, SymPy expressions or text (``"m"``, ``"sqrt(2)*s"``) as exact SymPy values.

    Text is parsed safely (no ``eval``) and every symbol becomes a real symbol of that name, the
    convention :class:`~brud_analysis.game.Game` uses, so that ``m`` in the data and ``m`` in an
    assumption are one symbol.
    """
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        values = [values]
    out = []
    for v in list(values):
        if isinstance(v, str):
            v = parse_text(v)
        value = _to_exact(v)
        if not isinstance(value, sympy.Expr):
            raise BrudError(f"{what} entries must be numbers or expressions, got {v!r}")
        value = _real_symbols(value)
        if value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            raise BrudError(f"{what} must be finite, got {v!r}")
        if value.is_number and value.is_real is False:
            raise BrudError(f"{what} must be real, got {v!r}")
        out.append(value)
    if not out:
        raise BrudError(f"{what} is empty")
    return tuple(out)


def _float_array(values: tuple[sympy.Expr, ...], what: str) -> np.ndarray:
    try:
        return np.array([float(v) for v in values], dtype=float)
    except TypeError:
        raise BrudError(f"{what} is symbolic; give numbers to sample or use arrays") from None


class DataModel:
    """Base class: a distribution over joint actions of ``n_agents`` agents.

    Subclasses implement :meth:`moment` and :meth:`sample`; ``means`` and ``stds`` follow.
    """

    n_agents: int

    def moment(self, exponents: Sequence[int]) -> sympy.Expr:
        """E[prod_j a_j**k_j] (exact)."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` joint actions, shape ``(size, n_agents)``."""
        raise NotImplementedError

    def _check_exponents(self, exponents: Sequence[int]) -> tuple[int, ...]:
        ks = tuple(int(k) for k in exponents)
        if len(ks) != self.n_agents or any(k < 0 for k in ks):
            raise BrudError(
                f"moment exponents {list(exponents)} do not fit a {self.n_agents}-agent data model"
            )
        return ks

    def _unit(self, j: int, k: int) -> list[int]:
        e = [0] * self.n_agents
        e[j] = k
        return e

    @property
    def means(self) -> tuple[sympy.Expr, ...]:
        """Per-agent means E[a_j]."""
        return tuple(self.moment(self._unit(j, 1)) for j in range(self.n_agents))

    @property
    def stds(self) -> tuple[sympy.Expr, ...]:
        """Per-agent standard deviations (divisor-N for empirical data)."""
        return tuple(
            sympy.sqrt(sympy.expand(self.moment(self._unit(j, 2)) - self.moment(self._unit(j, 1))
                                    ** 2))
            for j in range(self.n_agents)
        )

    def is_numeric(self) -> bool:
        """Whether every parameter is a number (needed for sampling)."""
        return not self.free_symbols

    @property
    def free_symbols(self) -> set[sympy.Symbol]:
        """The symbols the model's parameters contain (empty for numeric data).

        Example:
            >>> sorted(s.name for s in Normal(["m", 0], ["s", 1]).free_symbols)
            ['m', 's']
        """
        found: set[sympy.Symbol] = set()
        for value in self._parameters():
            found |= value.free_symbols
        return found

    def _parameters(self) -> tuple[sympy.Expr, ...]:
        """Every exact parameter of the model (means, bounds, weights ...)."""
        return ()

    def subs(self, values: dict) -> DataModel:
        """The model with symbols replaced by values (``{m: 1}`` or ``{"m": 1}``).

        Example:
            >>> Normal(["m", "m"], ["s", 1]).subs({"m": 0.5, "s": 2})
            Normal(mean=[1/2, 1/2], std=[2, 1])
        """
        by_name = {s.name: s for s in self.free_symbols}
        mapping = {}
        for key, value in values.items():
            name = key if isinstance(key, str) else key.name
            if name in by_name:
                mapping[by_name[name]] = _to_exact(value)
        return self._substituted(mapping) if mapping else self

    def _substituted(self, mapping: dict) -> DataModel:
        return self


class _Independent(DataModel):
    """Product of per-agent marginals; subclasses give ``marginal_moment(j, k)``."""

    def marginal_moment(self, j: int, k: int) -> sympy.Expr:
        raise NotImplementedError

    def moment(self, exponents: Sequence[int]) -> sympy.Expr:
        ks = self._check_exponents(exponents)
        return sympy.expand(sympy.Mul(*[self.marginal_moment(j, k) for j, k in enumerate(ks)]))


def _same_length(a: tuple, b: tuple, names: str) -> None:
    if len(a) != len(b):
        raise BrudError(f"mismatched data lengths: {names} have {len(a)} and {len(b)} entries")


class Normal(_Independent):
    """Independent normal actions, agent j ~ N(mean_j, std_j**2); entries may be symbols.

    Example:
        >>> d = Normal([1, 0], [2, 1])
        >>> d.moment([2, 0]), d.moment([0, 4])
        (5, 3)
    """

    def __init__(self, mean: Sequence[Any], std: Sequence[Any]) -> None:
        self.mean = _exact_vector(mean, "mean")
        self.std = _exact_vector(std, "std")
        _same_length(self.mean, self.std, "mean and std")
        for s in self.std:
            if s.is_number and s < 0:
                raise BrudError(f"std must be >= 0, got {s}")
        self.n_agents = len(self.mean)

    def _parameters(self) -> tuple[sympy.Expr, ...]:
        return self.mean + self.std

    def _substituted(self, mapping: dict) -> Normal:
        return Normal([m.xreplace(mapping) for m in self.mean],
                      [s.xreplace(mapping) for s in self.std])

    def marginal_moment(self, j: int, k: int) -> sympy.Expr:
        m, s = self.mean[j], self.std[j]
        # E[(m + sZ)^k] = sum_{even i} C(k, i) m^(k-i) s^i (i-1)!!
        return sympy.expand(sum(
            sympy.binomial(k, i) * m ** (k - i) * s**i * sympy.factorial2(i - 1)
            for i in range(0, k + 1, 2)
        ))

    @property
    def stds(self) -> tuple[sympy.Expr, ...]:
        return self.std

    @property
    def mean_array(self) -> np.ndarray:
        """Means as a float array, shape ``(n,)``."""
        return _float_array(self.mean, "mean")

    @property
    def std_array(self) -> np.ndarray:
        """Standard deviations as a float array, shape ``(n,)``."""
        return _float_array(self.std, "std")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.normal(self.mean_array, self.std_array, size=(size, self.n_agents))

    def __repr__(self) -> str:
        return f"Normal(mean={list(self.mean)}, std={list(self.std)})"


class Uniform(_Independent):
    """Independent uniform actions on [low_j, high_j].

    Example:
        >>> Uniform([0, -1], [1, 1]).moment([1, 2])
        1/6
    """

    def __init__(self, low: Sequence[Any], high: Sequence[Any]) -> None:
        self.low = _exact_vector(low, "low")
        self.high = _exact_vector(high, "high")
        _same_length(self.low, self.high, "low and high")
        for lo, hi in zip(self.low, self.high, strict=True):
            if (hi - lo).is_number and hi < lo:
                raise BrudError(f"uniform low must be <= high, got low={lo} > high={hi}")
        self.n_agents = len(self.low)

    def _parameters(self) -> tuple[sympy.Expr, ...]:
        return self.low + self.high

    def _substituted(self, mapping: dict) -> Uniform:
        return Uniform([v.xreplace(mapping) for v in self.low],
                       [v.xreplace(mapping) for v in self.high])

    def marginal_moment(self, j: int, k: int) -> sympy.Expr:
        lo, hi = self.low[j], self.high[j]
        if (hi - lo).is_number and hi == lo:
            return lo**k
        return sympy.factor(sympy.cancel((hi ** (k + 1) - lo ** (k + 1)) / ((k + 1) * (hi - lo))))

    @property
    def low_array(self) -> np.ndarray:
        """Lower bounds, shape ``(n,)``."""
        return _float_array(self.low, "low")

    @property
    def high_array(self) -> np.ndarray:
        """Upper bounds, shape ``(n,)``."""
        return _float_array(self.high, "high")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low_array, self.high_array, size=(size, self.n_agents))

    def __repr__(self) -> str:
        return f"Uniform(low={list(self.low)}, high={list(self.high)})"


class PointMass(_Independent):
    """All data at one joint action (e.g. the current policy: BRUD then equals grad R).

    Example:
        >>> PointMass([2, 3]).moment([1, 2])
        18
    """

    def __init__(self, point: Sequence[Any]) -> None:
        self.point = _exact_vector(point, "point")
        self.n_agents = len(self.point)

    def _parameters(self) -> tuple[sympy.Expr, ...]:
        return self.point

    def _substituted(self, mapping: dict) -> PointMass:
        return PointMass([v.xreplace(mapping) for v in self.point])

    def marginal_moment(self, j: int, k: int) -> sympy.Expr:
        return self.point[j] ** k

    @property
    def point_array(self) -> np.ndarray:
        """The point, shape ``(n,)``."""
        return _float_array(self.point, "point")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.tile(self.point_array, (size, 1))

    def __repr__(self) -> str:
        return f"PointMass({list(self.point)})"


class Empirical(DataModel):
    """A finite dataset of joint actions; divisor-N moments (what uniform minibatches see).

    Moments are SymPy Floats of the correctly rounded mean (``math.fsum``).

    Example:
        >>> d = Empirical([[0.0, 1.0], [2.0, 3.0]])
        >>> float(d.moment([1, 0])), float(d.stds[0])
        (1.0, 1.0)
    """

    def __init__(self, samples: Any) -> None:
        try:
            array = np.asarray(samples, dtype=float)
        except (TypeError, ValueError):
            raise BrudError("empirical data must be a numeric array of shape (N, n)") from None
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise BrudError(f"empirical data must have shape (N, n), got {array.shape}")
        if array.shape[0] == 0 or array.shape[1] == 0:
            raise BrudError("empirical data is empty")
        if not np.all(np.isfinite(array)):
            raise BrudError("empirical data contains NaN or infinite values")
        self.samples: np.ndarray = array
        self.n_agents = array.shape[1]
        self._cache: dict[tuple[int, ...], sympy.Expr] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> Empirical:
        """Load ``(N, n)`` joint actions from ``.npy``, ``.csv`` or whitespace ``.txt``.

        A CSV header line is skipped.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
            >>> _ = p.write_text("x,y\\n1,2\\n3,4\\n")
            >>> Empirical.from_file(p).samples.shape
            (2, 2)
        """
        path = Path(path)
        if not path.is_file():
            raise BrudError(f"data file not found: {path}")
        suffix = path.suffix.lower()
        try:
            if suffix == ".npy":
                array = np.load(path, allow_pickle=False)
            elif suffix in (".csv", ".txt", ".dat", ".tsv"):
                delimiter = "," if suffix == ".csv" else None
                array = _load_text(path, delimiter)
            else:
                raise BrudError(f"unsupported data file type {suffix!r} (use .npy, .csv or .txt)")
        except BrudError:
            raise
        except Exception as err:  # corrupt npy, unreadable text: one clear line
            raise BrudError(f"cannot read data file {path}: {type(err).__name__}") from None
        if array.size == 0:
            raise BrudError(f"data file {path} is empty")
        try:
            return cls(array)
        except BrudError as err:
            raise BrudError(f"data file {path}: {err}") from None

    def moment(self, exponents: Sequence[int]) -> sympy.Expr:
        ks = self._check_exponents(exponents)
        if ks not in self._cache:
            values = np.prod(self.samples ** np.array(ks, dtype=float), axis=1)
            self._cache[ks] = sympy.Float(math.fsum(values) / len(values))
        return self._cache[ks]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.samples[rng.integers(0, len(self.samples), size=size)]

    def __repr__(self) -> str:
        return f"Empirical(N={len(self.samples)}, n={self.n_agents})"


def _load_text(path: Path, delimiter: str | None) -> np.ndarray:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "empty input file" -> reported as our own error
        try:
            return np.loadtxt(path, delimiter=delimiter, ndmin=2)
        except ValueError:
            return np.loadtxt(path, delimiter=delimiter, ndmin=2, skiprows=1)


class Mixture(DataModel):
    """A weighted mixture of data models (e.g. two behaviour policies).

    Example:
        >>> m = Mixture([PointMass([1, 1]), PointMass([-1, -1])], [0.5, 0.5])
        >>> m.moment([1, 0]), m.moment([1, 1])
        (0, 1)
    """

    def __init__(self, components: Sequence[DataModel], weights: Sequence[Any]) -> None:
        if not components:
            raise BrudError("a mixture needs at least one component")
        self.components = tuple(components)
        self.weights = _exact_vector(weights, "weights")
        _same_length(self.components, self.weights, "components and weights")
        ns = {c.n_agents for c in self.components}
        if len(ns) != 1:
            raise BrudError(f"mixture components have different numbers of agents: {sorted(ns)}")
        if any(w.is_number and w < 0 for w in self.weights):
            raise BrudError("mixture weights must be >= 0")
        total = sum(self.weights)
        if total.is_number and total <= 0:
            raise BrudError("mixture weights must not all be zero")
        # nsimplify only inexact numbers: on symbols it would guess, and on some rationals it
        # returns a wrong surd product (nsimplify(9423/10) != 9423/10); cancel is exact
        self.weights = tuple(
            (w / total) if (w / total).is_Rational
            else sympy.nsimplify(w / total) if (w / total).is_number
            else sympy.cancel(w / total) for w in self.weights)
        self.n_agents = ns.pop()

    def _parameters(self) -> tuple[sympy.Expr, ...]:
        return self.weights + tuple(v for c in self.components for v in c._parameters())

    def _substituted(self, mapping: dict) -> Mixture:
        names = {k.name: v for k, v in mapping.items()}
        return Mixture([c.subs(names) for c in self.components],
                       [w.xreplace(mapping) for w in self.weights])

    def moment(self, exponents: Sequence[int]) -> sympy.Expr:
        ks = self._check_exponents(exponents)
        return sympy.expand(sum(w * c.moment(ks) for w, c in zip(self.weights, self.components,
                                                                   strict=True)))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        weights = _float_array(self.weights, "weights")
        which = rng.choice(len(self.components), size=size, p=weights / weights.sum())
        out = np.empty((size, self.n_agents))
        for c, comp in enumerate(self.components):
            idx = np.flatnonzero(which == c)
            if idx.size:
                out[idx] = comp.sample(rng, idx.size)
        return out

    def __repr__(self) -> str:
        return f"Mixture({list(self.components)}, weights={list(self.weights)})"


class SymbolicMoments(DataModel):
    """Unknown data: every moment is a symbol such as ``E[y]``, ``E[y**2]``, ``E[y*z]``.

    Example:
        >>> SymbolicMoments(["x", "y"]).moment([0, 2])
        E[y**2]
    """

    def __init__(self, agent_names: Sequence[str]) -> None:
        self.agent_names = tuple(agent_names)
        self.n_agents = len(self.agent_names)

    def moment(self, exponents: Sequence[int]) -> sympy.Expr:
        ks = self._check_exponents(exponents)
        if not any(ks):
            return sympy.Integer(1)
        factors = [n if k == 1 else f"{n}**{k}" for n, k in zip(self.agent_names, ks,
                                                                 strict=True) if k]
        return sympy.Symbol(f"E[{'*'.join(factors)}]", real=True)

    def is_numeric(self) -> bool:
        """Never: every moment is a symbol."""
        return False

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        raise BrudError("symbolic moments cannot be sampled: give a data model")
