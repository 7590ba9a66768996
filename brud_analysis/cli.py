"""The ``brud`` command: a thin dispatcher over subcommand modules.

Each area of the toolkit registers its own subcommands through a ``register(subparsers)``
function in a ``commands`` module, so that this file never grows with the toolkit and heavy
imports (JAX, MuJoCo) happen only inside the handler of the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
