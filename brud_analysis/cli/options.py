"""Command-line options shared by every subcommand that takes a data model.

``brud analyse``, ``brud verify`` and ``brud pjap-field`` all accept::

    --data normal --mean M1 M2 --std S1 S2
    --data uniform --low L1 L2 --high H1 H2
    --data PATH            (.npy / .csv / .txt of joint actions, shape (N, n))

Means, stds and bounds may be symbols or expressions (``--mean m m --std s s``,
``--mean=-m,m``); ``brud analyse`` then derives formulas in them (``--assume "s > 0"``).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brud_analysis.errors import BrudError

if TYPE_CHECKING:  # SymPy is imported only when a command runs: `brud --help` stays fast
    from brud_analysis.data import DataModel
    from brud_analysis.game import Game


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--data/--mean/--std/--low/--high`` to ``parser``.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_data_options(p)
        >>> p.parse_args(["--data", "normal", "--mean", "0.3", "-0.2", "--std", "s", "s"]).std
        ['s', 's']
    """
    group = parser.add_argument_group("data model (the dataset's joint actions)")
    group.add_argument(
        "--data", metavar="normal|uniform|PATH", default=None,
        help="independent normal, independent uniform, or a .npy/.csv/.txt file of (N, n) actions",
    )
    symbolic = " (numbers or symbols, e.g. m; for a leading minus: --mean=-m,m)"
    group.add_argument("--mean", nargs="+", metavar="M", help="per-agent means" + symbolic)
    group.add_argument("--std", nargs="+", metavar="S", help="per-agent stds (>= 0)")
    group.add_argument("--low", nargs="+", metavar="L", help="per-agent lower bounds")
    group.add_argument("--high", nargs="+", metavar="H", help="per-agent upper bounds")


#: Largest magnitude of a data mean/std/bound: moments of a degree-64 reward stay exact numbers
#: of a few thousand digits at most (Game's own limits bound the degree).
MAX_DATA_MAGNITUDE = 1e12


def add_time_budget_option(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    """Add ``--time-budget S``: the whole command runs in a worker stopped after S seconds.

    ``brud`` (:func:`brud_analysis.cli.main`) runs the handler through
    :func:`brud_analysis.bounded.run_bounded` when ``args.bounded`` is set.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_time_budget_option(p, 10.0, "the analysis")
        >>> args = p.parse_args(["--time-budget", "2.5"])
        >>> args.time_budget, args.bounded
        (2.5, True)
    """
    parser.add_argument(
        "--time-budget", type=_budget, default=default, metavar="S",
        help=f"CPU seconds for the whole command, {what} included (a busy machine does not "
             f"spend them); past them brud stops with "
             f"an error (default {default:g})")
    parser.set_defaults(bounded=True)


def _budget(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def output_file(text: str) -> str:
    """argparse ``type`` for a file the command will write: refused *before* any work.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> _ = p.add_argument("--plot", type=output_file)
        >>> p.parse_args(["--plot", "/proc/nope/fields.png"])  # doctest: +SKIP
        usage: ... error: argument --plot: cannot write /proc/nope/fields.png: ...
    """
    from brud_analysis.output import check_output_path

    try:
        path = check_output_path(text)
    except BrudError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    _probe_write(path.parent)
    return text


def _probe_write(directory: Path) -> None:
    # Permission bits do not tell the whole story (root, read-only or special file systems
    # such as /proc): create and remove a scratch file in the nearest existing directory.
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as err:
        raise argparse.ArgumentTypeError(
            f"cannot write into {directory}: {err.strerror or err}") from None


def output_directory(text: str) -> str:
    """argparse ``type`` for a directory the command will fill: refused before any work.

    Example:
        >>> import tempfile
        >>> output_directory(tempfile.mkdtemp()) != ""
        True
    """
    from brud_analysis.output import check_output_path

    try:
        path = check_output_path(text, directory=True)
    except BrudError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    _probe_write(path)
    return text


_NOT_FINITE = frozenset({"inf", "infinity", "nan", "oo", "zoo"})


def parse_value(text: str, flag: str, game: Game | None = None):
    """One exact value of a numeric option: a number or an expression in parameter symbols.

    Example:
        >>> parse_value("0.5", "--mean"), parse_value("2*m", "--mean")
        (1/2, 2*m)
    """
    from brud_analysis.parsing import parse_text

    if text.strip().lower().lstrip("+-") in _NOT_FINITE:
        raise BrudError(f"{flag} values must be finite numbers, got {text}")
    try:
        value = parse_text(text)
    except BrudError as err:
        raise BrudError(f"{flag}: {err}") from None
    if value.is_number:
        if not value.is_real or not math.isfinite(float(value)):
            raise BrudError(f"{flag} values must be finite real numbers, got {text}")
    elif game is not None:
        clash = sorted(s.name for s in value.free_symbols if s.name in game.agent_names)
        if clash:
            raise BrudError(f"{flag} uses {', '.join(clash)}, an agent of the game: name data "
                            "parameters differently (e.g. m, s or upper case)")
    return value


def _per_agent(values: list[str] | None, flag: str, family: str, game: Game) -> list:
    if values is None:
        raise BrudError(f"--data {family} needs {flag} with one value per agent")
    # "--mean=-m,m": argparse would read a bare "-m" as an option
    tokens = [part for v in values for part in str(v).split(",") if part.strip()]
    if len(tokens) != game.n_agents:
        raise BrudError(
            f"mismatched data lengths: {flag} has {len(tokens)} values, the game has "
            f"{game.n_agents} agents ({', '.join(game.agent_names)})"
        )
    parsed = [parse_value(t, flag, game) for t in tokens]
    bad = [v for v in parsed if v.is_number and v != 0
           and not 1 / MAX_DATA_MAGNITUDE <= abs(float(v)) <= MAX_DATA_MAGNITUDE]
    if bad:
        raise BrudError(f"{flag} values must be 0 or of magnitude between "
                        f"{1 / MAX_DATA_MAGNITUDE:g} and {MAX_DATA_MAGNITUDE:g}, got {bad[0]}")
    return parsed


def add_assume_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--assume "A>0, B>0, C>2*A"`` (repeatable) to ``parser``.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_assume_option(p)
        >>> p.parse_args(["--assume", "A>0, B>0", "--assume", "s>0"]).assume
        ['A>0, B>0', 's>0']
    """
    parser.add_argument(
        "--assume", action="append", default=None, metavar="FACTS",
        help="what you know about the symbols, e.g. \"A>0, B>0, C>2*A, s>0\" "
             "(relations > >= < <= !=, comma-separated; repeatable)")


def assumptions_from_args(args: argparse.Namespace):
    """The :class:`~brud_analysis.parametric.Assumptions` of ``--assume`` (empty without it).

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_assume_option(p)
        >>> assumptions_from_args(p.parse_args(["--assume", "A>0"])).facts
        (A > 0,)
    """
    from brud_analysis.parametric import Assumptions

    assumptions = Assumptions(list(getattr(args, "assume", None) or []))
    _refuse_contradiction(assumptions)
    return assumptions


# The signs each relation allows for ``lhs - rhs``.
_REQUIRED_SIGNS = {">": {1}, ">=": {0, 1}, "<": {-1}, "<=": {-1, 0}, "!=": {-1, 1}}


def _refuse_contradiction(assumptions: Any) -> None:
    """Refuse ``--assume`` facts of which one cannot hold given the others ("A>0, A<0").

    Each fact's ``lhs - rhs`` gets the signs the *other* facts allow (the same sign calculus
    the formulas are simplified with); none of the fact's own signs among them is a proof of
    contradiction. The test is sound, not complete: facts it cannot relate pass.
    """
    from brud_analysis.parametric import Assumptions

    facts = assumptions.facts
    for k, fact in enumerate(facts):
        others = Assumptions(facts[:k] + facts[k + 1:])
        if not others.signs(fact.lhs - fact.rhs) & _REQUIRED_SIGNS[fact.rel_op]:
            rest = ", ".join(str(f) for f in others.facts)
            raise BrudError(f"--assume is contradictory: {fact} cannot hold"
                            + (f" when {rest}" if rest else " for real values"))


def check_assumed_symbols(args: argparse.Namespace, symbols: set[str]) -> None:
    """Refuse ``--assume`` facts about symbols the problem does not have (else silently
    ignored: a game without parameters, or a misspelt name), and contradictory facts.

    Example:
        >>> check_assumed_symbols(argparse.Namespace(assume=["A>0"]), {"A", "B"})
        >>> check_assumed_symbols(argparse.Namespace(assume=["A>0"]), set())
        Traceback (most recent call last):
        ...
        brud_analysis.errors.BrudError: --assume is about A, but the problem has no symbols ...
    """
    if not getattr(args, "assume", None):
        return
    unknown = sorted({s.name for s in assumptions_from_args(args).symbols} - symbols)
    if unknown:
        have = (f"the problem's symbols are {', '.join(sorted(symbols))}" if symbols else
                "the problem has no symbols (drop --assume, or leave parameters in the game)")
        raise BrudError(f"--assume is about {', '.join(unknown)}, but {have}")


def data_model_from_args(args: argparse.Namespace, game: Game) -> DataModel | None:
    """The data model the options describe (``None`` without ``--data``), checked against game.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_data_options(p)
        >>> args = p.parse_args(["--data", "normal", "--mean", "1", "2", "--std", "0", "1"])
        >>> from brud_analysis.game import Game
        >>> data_model_from_args(args, Game("x*y"))
        Normal(mean=[1, 2], std=[0, 1])
    """
    from brud_analysis.data import Empirical, Normal, Uniform

    data = getattr(args, "data", None)
    given = [f for f in ("mean", "std", "low", "high") if getattr(args, f, None) is not None]
    if data is None:
        if given:
            raise BrudError(f"--{given[0]} needs --data normal or --data uniform")
        return None
    family = data.strip().lower()
    if family == "normal":
        extra = [f for f in given if f in ("low", "high")]
        if extra:
            raise BrudError(f"--{extra[0]} is for --data uniform, not normal")
        mean = _per_agent(args.mean, "--mean", "normal", game)
        std = _per_agent(args.std, "--std", "normal", game)
        return Normal(mean, std)
    if family == "uniform":
        extra = [f for f in given if f in ("mean", "std")]
        if extra:
            raise BrudError(f"--{extra[0]} is for --data normal, not uniform")
        low = _per_agent(args.low, "--low", "uniform", game)
        high = _per_agent(args.high, "--high", "uniform", game)
        return Uniform(low, high)
    if given:
        raise BrudError(f"--{given[0]} is only used with --data normal/uniform, not a data file")
    model = Empirical.from_file(data)
    if model.n_agents != game.n_agents:
        raise BrudError(
            f"mismatched data lengths: {data} has {model.n_agents} columns, the game has "
            f"{game.n_agents} agents ({', '.join(game.agent_names)})"
        )
    return model


def _json_value(value: Any) -> float | str:
    # a number as a float; a symbolic value (a parameter, '2*m') as a SymPy-parseable string
    return float(value) if getattr(value, "is_number", True) else str(value)


def data_json(model: DataModel) -> dict[str, Any]:
    """The data model as a JSON object (docs/json.md, ``data``): its family and parameters.

    Example:
        >>> from brud_analysis.data import Normal
        >>> data_json(Normal([0.5, 0], [1, 2]))
        {'family': 'normal', 'mean': [0.5, 0.0], 'std': [1.0, 2.0]}
    """
    from brud_analysis.data import Empirical, Mixture, Normal, PointMass, Uniform

    if isinstance(model, Normal):
        return {"family": "normal", "mean": [_json_value(v) for v in model.mean],
                "std": [_json_value(v) for v in model.std]}
    if isinstance(model, Uniform):
        return {"family": "uniform", "low": [_json_value(v) for v in model.low],
                "high": [_json_value(v) for v in model.high]}
    if isinstance(model, PointMass):
        return {"family": "point_mass", "point": [_json_value(v) for v in model.point]}
    if isinstance(model, Empirical):
        return {"family": "empirical", "rows": len(model.samples), "n_agents": model.n_agents}
    if isinstance(model, Mixture):
        return {"family": "mixture", "weights": [_json_value(w) for w in model.weights],
                "components": [data_json(c) for c in model.components]}
    return {"family": type(model).__name__.lower(), "n_agents": model.n_agents}


def add_parametric_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--assume``, ``--latex``, ``--at`` and ``--sweep`` (``brud analyse`` with symbols).

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_parametric_options(p)
        >>> p.parse_args(["--sweep", "C=0:10:11", "--at", "A=1,B=4"]).sweep
        'C=0:10:11'
    """
    add_assume_option(parser)
    parser.add_argument("--latex", action="store_true",
                        help="print the formulas as LaTeX (with symbols or exact values)")
    parser.add_argument("--at", default=None, metavar="NAME=V,..",
                        help="give values to some symbols of the game or the data, e.g. A=1,B=4")
    parser.add_argument("--sweep", default=None, metavar="NAME=LO:HI[:N]",
                        help="count stationary points (by kind) and BRUD fixed points (by "
                             "stability) at N values of one symbol (default 21); with --plot, "
                             "plot the counts")


def add_regulariser_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--regulariser bc=LAMBDA | penalty=EXPR`` (beyond the paper: a policy penalty).

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_regulariser_option(p)
        >>> p.parse_args(["--regulariser", "bc=0.5"]).regulariser
        'bc=0.5'
    """
    parser.add_argument(
        "--regulariser", metavar="bc=LAMBDA", default=None,
        help="add a policy penalty to each agent's objective (beyond the paper): bc=LAMBDA is "
             "behaviour cloning, -LAMBDA E[(theta_i - a_i)^2]; penalty=EXPR any polynomial in "
             "theta (own action) and a (own data action)",
    )


def regulariser_from_args(args: argparse.Namespace) -> Any:
    """The :class:`brud_analysis.regularisers.Regulariser` of ``--regulariser`` (or ``None``).

    Example:
        >>> regulariser_from_args(argparse.Namespace(regulariser="bc=2")).describe()
        'bc(lambda=2)'
    """
    text = getattr(args, "regulariser", None)
    if text is None:
        return None
    from brud_analysis.regularisers import parse_regulariser

    return parse_regulariser(text)
