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
from typing import TYPE_CHECKING

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


_NOT_FINITE = frozenset({"inf", "infinity", "nan", "oo", "zoo"})


def parse_value(text: str, flag: str, game: Game | None = None):
    """One exact value of a numeric option: a number or an expression in parameter symbols.

    Example:
        >>> parse_value("0.5", "--mean"), parse_value("2*m", "--mean")
        (1/2, 2*m)
    """
    from brud_analysis.game import parse_text

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
    return [parse_value(t, flag, game) for t in tokens]


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

    return Assumptions(list(getattr(args, "assume", None) or []))


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
