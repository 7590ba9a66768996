"""Command-line options shared by every subcommand that takes a data model.

``brud analyse``, ``brud verify`` and ``brud pjap-field`` all accept::

    --data normal --mean M1 M2 --std S1 S2
    --data uniform --low L1 L2 --high H1 H2
    --data PATH            (.npy / .csv / .txt of joint actions, shape (N, n))
"""

from __future__ import annotations

import argparse
import math
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
        >>> p.parse_args(["--data", "normal", "--mean", "0.3", "-0.2", "--std", "1", "1"]).mean
        [0.3, -0.2]
    """
    group = parser.add_argument_group("data model (the dataset's joint actions)")
    group.add_argument(
        "--data", metavar="normal|uniform|PATH", default=None,
        help="independent normal, independent uniform, or a .npy/.csv/.txt file of (N, n) actions",
    )
    group.add_argument("--mean", type=float, nargs="+", metavar="M", help="per-agent means")
    group.add_argument("--std", type=float, nargs="+", metavar="S", help="per-agent stds (>= 0)")
    group.add_argument("--low", type=float, nargs="+", metavar="L", help="per-agent lower bounds")
    group.add_argument("--high", type=float, nargs="+", metavar="H", help="per-agent upper bounds")


def _per_agent(values: list[float] | None, flag: str, family: str, game: Game) -> list[float]:
    if values is None:
        raise BrudError(f"--data {family} needs {flag} with one value per agent")
    if len(values) != game.n_agents:
        raise BrudError(
            f"mismatched data lengths: {flag} has {len(values)} values, the game has "
            f"{game.n_agents} agents ({', '.join(game.agent_names)})"
        )
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise BrudError(f"{flag} values must be finite numbers, got {bad[0]}")
    return values


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
