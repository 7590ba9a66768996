"""The ``brud`` command: a thin dispatcher over subcommand modules.

Each area of the toolkit registers its own subcommands through a ``register(subparsers)``
function in a ``commands`` module, so that this file never grows with the toolkit and heavy
imports (JAX, MuJoCo) happen only inside the handler of the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from brud_analysis.errors import BrudError

# Order = order in `brud --help`. A module that is absent (not yet written) is skipped.
COMMAND_MODULES: tuple[str, ...] = (
    "brud_analysis.commands",
    "verify.commands",
    "paper_checks.commands",
    "verify.halfcheetah.commands",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``brud`` argument parser with every registered subcommand.

    Example:
        >>> parser = build_parser()
        >>> parser.prog
        'brud'
    """
    parser = argparse.ArgumentParser(
        prog="brud",
        description="Derive and verify Best-Response-Under-Data (BRUD) learning dynamics.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name is not None and name.startswith(err.name):
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``brud`` with ``argv``; return the exit code (2 on a user error).

    Example:
        >>> main(["--help"])  # doctest: +SKIP
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        code = args.handler(args)
    except BrudError as err:
        print(f"brud: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("brud: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `brud ... | head` closed the pipe: not an error; silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(code or 0)


# --------------------------------------------------------------------------- helpers shared by
# every subcommand module


def to_jsonable(obj: Any) -> Any:
    """Convert numpy / SymPy scalars and containers into plain JSON values.

    Non-finite floats become ``None`` (JSON has no NaN).

    Example:
        >>> to_jsonable({"a": (1.5, float("nan"))})
        {'a': [1.5, None]}
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return to_jsonable(obj.tolist())
    try:
        value = float(obj)
    except (TypeError, ValueError):
        return str(obj)
    if isinstance(obj, float) or not float(value).is_integer() or "." in str(obj):
        return value if math.isfinite(value) else None
    return int(value)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout.

    Example:
        >>> print_json({"passed": True})
        {
          "passed": true
        }
    """
    print(json.dumps(to_jsonable(obj), indent=2))


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + rename).

    A crash or Ctrl-C never leaves a half-written file under the final name.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.json"
        >>> write_atomic(p, "{}").read_text()
        '{}'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
