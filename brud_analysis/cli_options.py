"""Command-line options shared by every subcommand that takes a data model.

``brud analyse``, ``brud verify`` and ``brud pjap-field`` all accept::

    --data normal --mean M1 M2 --std S1 S2
    --data uniform --low L1 L2 --high H1 H2
    --data PATH            (.npy / .csv / .txt of joint actions, shape (N, n))
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
        help=f"seconds for the whole command, {what} included; past it brud stops with "
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
    bad = [v for v in values if v != 0 and not 1 / MAX_DATA_MAGNITUDE <= abs(v)
           <= MAX_DATA_MAGNITUDE]
    if bad:
        raise BrudError(f"{flag} values must be 0 or of magnitude between "
                        f"{1 / MAX_DATA_MAGNITUDE:g} and {MAX_DATA_MAGNITUDE:g}, got {bad[0]:g}")
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
