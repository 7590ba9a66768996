"""The ``brud`` command: one parser that wires the toolkit's subcommand modules together.

This package is the command line of the whole toolkit, and the one place where the layers meet:
every command's argument parsing and printing lives here, one module per group, each with a
``register(subparsers)`` function that :func:`build_parser` imports explicitly (a broken module
fails loudly instead of making its subcommands vanish):

- :mod:`~brud_analysis.cli.symbolic`: ``brud analyse``, ``brud condition`` (symbolic core), with
  :mod:`~brud_analysis.cli.parametric` (games with symbols) and :mod:`~brud_analysis.cli.critic`
  (``--critic``);
- :mod:`~brud_analysis.cli.verify`: ``brud verify``, ``brud online`` (JAX training, :mod:`verify`),
  with :mod:`~brud_analysis.cli.verify_critic`;
- :mod:`~brud_analysis.cli.paper`: ``brud paper-checks``, ``brud pjap-field`` (:mod:`paper_checks`);
- :mod:`~brud_analysis.cli.halfcheetah` and :mod:`~brud_analysis.cli.halfcheetah_experiment`:
  ``brud halfcheetah ...`` (:mod:`verify.halfcheetah`);
- :mod:`~brud_analysis.cli.options`: the options several commands share (``--data``, ...).

These modules import only ``argparse`` and the light core at module level; JAX, MuJoCo and SymPy
are imported inside the handler of the subcommand that needs them, which keeps ``brud --help``
fast and the symbolic commands free of JAX. Nothing below this package imports it
(``tests/test_import_graph.py``).

Errors: a user error (:class:`~brud_analysis.errors.BrudError`, a bad option, an input beyond
the limits, an exhausted ``--time-budget``) is one line on stderr and exit code 2. Any other
exception is a bug in ``brud``: one line naming it and a file holding the full traceback, exit
code 1 (so it stays visible, and distinguishable from a user error, without a wall of text).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from brud_analysis.errors import BrudError

# One BLAS thread in the `brud` process and its workers, set before NumPy loads OpenBLAS (a
# caller's own setting is kept). The toolkit's matrices are small, so OpenBLAS's extra threads
# never speed them up, but they spin waiting for each other: CPU time that --time-budget counts
# and that grows with the machine's load (an 80x70 complex SVD: 140 ms of CPU with the default
# threads at load 3 on 2 cores, 1.3 ms with one). JAX does not use OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# A word starting with '-' that looks like a value: an expression such as '-x**4*y' or
# '-sqrt(3/8)', or a number argparse does not recognise as one ('-1e3', '-.5e-2'). It is an
# option only if it names one ('--target=-sqrt(3/8)').
_EXPRESSION = re.compile(r"^-+(?:[\d.]|.*[*^()+/,\s])")


class BrudArgumentParser(argparse.ArgumentParser):
    """``argparse`` with one-line errors and expressions that start with ``-``.

    Example:
        >>> p = BrudArgumentParser(prog="demo")
        >>> _ = p.add_argument("expr")
        >>> p.parse_args(["-x**4*y"]).expr
        '-x**4*y'
    """

    def _parse_optional(self, arg_string: str) -> Any:  # the private return type differs by version
        if _EXPRESSION.match(arg_string):
            name = arg_string.split("=", 1)[0]
            named = name in self._option_string_actions or (
                "=" in arg_string and name.startswith("--")
                and any(option.startswith(name) for option in self._option_string_actions))
            if not named:
                return None  # a positional value (an expression, a number), not an option
        return super()._parse_optional(arg_string)

    def error(self, message: str) -> NoReturn:
        """Print one line (not the usage block) and exit with code 2."""
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the ``brud`` argument parser with every subcommand.

    Example:
        >>> parser = build_parser()
        >>> parser.prog
        'brud'
    """
    # Explicit, in `brud --help` order. These modules are light (argparse only at import time).
    from brud_analysis import __version__
    from brud_analysis.cli import halfcheetah, paper, symbolic
    from brud_analysis.cli import verify as verification

    parser = BrudArgumentParser(
        prog="brud",
        description="Derive and verify Best-Response-Under-Data (BRUD) learning dynamics.",
    )
    parser.add_argument("--version", action="version", version=f"brud {__version__}",
                        help="print the installed brud-analysis version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (symbolic, verification, paper, halfcheetah):
        module.register(subparsers)
    return parser


def _one_line(text: str, width: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _report_bug(summary: str, traceback_text: str) -> int:
    """One line naming an unexpected exception; the traceback goes to a file (exit code 1)."""
    try:
        fd, path = tempfile.mkstemp(prefix="brud-traceback-", suffix=".txt")
        with os.fdopen(fd, "w") as handle:
            handle.write(f"brud {' '.join(sys.argv[1:])}\n\n{traceback_text}")
        where = f"traceback in {path}"
    except OSError:
        where = "no traceback file could be written"
    print(f"brud: internal error (a bug in brud, please report it): {_one_line(summary, 200)} "
          f"({where})", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``brud`` with ``argv``; return the exit code (2 on a user error, 1 on a bug).

    Example:
        >>> main(["--help"])  # doctest: +SKIP
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a one-line usage error (2)
        return stop.code if isinstance(stop.code, int) else 2
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        if getattr(args, "time_budget", None) is not None and getattr(args, "bounded", False):
            from brud_analysis.bounded import run_bounded

            code = run_bounded(args.handler, args, args.time_budget, f"brud {args.command}")
        else:
            code = args.handler(args)
    except BrudError as err:
        print(f"brud: error: {_one_line(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("brud: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `brud ... | head` closed the pipe: not an error; silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except MemoryError:
        print("brud: error: out of memory (the input is too large for this machine)",
              file=sys.stderr)
        return 2
    except RecursionError:
        print("brud: error: input nested too deeply (Python's recursion limit)", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 (a bug: reported in one line + traceback file)
        from brud_analysis.bounded import WorkerCrash

        if isinstance(err, WorkerCrash):
            return _report_bug(str(err), err.traceback_text)
        return _report_bug(f"{type(err).__name__}: {err}", traceback.format_exc())
    return int(code or 0)

