"""The claim registry: one entry per checkable statement of the paper.

A claim has an id, where it is in the paper, the statement in words and (optionally) the value
the paper states. Its check derives the value with the symbolic core, confirms it numerically with
the JAX verifier where training can show it, and returns an :class:`Outcome` with a verdict:

- ``confirmed``: derivation and training agree with the paper;
- ``refuted``: they contradict it (a result, not an error);
- ``partly``: true with caveats the paper leaves out (``why`` says which);
- ``not run``: the check could not run (``why`` says why, e.g. no HalfCheetah results yet).

A check that raises is recorded as ``error`` with its traceback; only errors make
``brud paper-checks`` exit non-zero. Section modules register claims with :func:`claim`.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# "inconclusive": the check ran, but its evidence is below the minimum it states (refuted_if)
VERDICTS = ("confirmed", "refuted", "partly", "inconclusive", "not run")
STATUSES = (*VERDICTS, "error")


class NotRun(Exception):  # noqa: N818 (a verdict, not a failure)
    """Raised inside a check when it cannot run for want of *results* (e.g. no HalfCheetah run
    yet). Never for a missing module: a broken install is an ``error`` (exit code 1)."""


@dataclass
class Outcome:
    """What a check found.

    Attributes:
        status: one of :data:`VERDICTS`.
        derived: the symbolically derived value(s) (JSON-able: str, number, dict, list).
        numeric: what training showed (JSON-able), or ``None`` when no training applies.
        why: the reason behind the verdict (required for partly / refuted / not run).
        figures: PNG paths produced by the check.
        note: a one-line summary of the key values, for the verdict table.

    Example:
        >>> Outcome("confirmed", derived={"a": "1/2"}).status
        'confirmed'
    """

    status: str
    derived: Any = None
    numeric: Any = None
    why: str = ""
    figures: list[str] = field(default_factory=list)
    note: str = ""

    def __post_init__(self) -> None:
        if self.status not in VERDICTS:
            raise ValueError(f"unknown verdict {self.status!r}; use one of {VERDICTS}")
        if self.status != "confirmed" and not self.why:
            raise ValueError(f"a {self.status!r} verdict needs a reason (why)")


@dataclass
class Context:
    """Settings shared by every check of one run, plus a cache for shared training runs.

    Attributes:
        out_dir: where figures and the report go.
        quick: small numeric runs (CI) instead of the full ones.
        seeds / steps: training seeds and updates per run for this mode.
        halfcheetah_results: a ``brud halfcheetah report`` JSON, if one exists.
    """

    out_dir: Path
    quick: bool = True
    seeds: int = 16
    steps: int = 400
    halfcheetah_results: Path | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_mode(cls, out_dir: Path, quick: bool, halfcheetah_results: Path | None = None
                 ) -> Context:
        """Seeds and steps for quick (CI, < 5 min on 2 cores) or full mode.

        Example:
            >>> Context.for_mode(Path("r"), quick=True).seeds
            16
        """
        if quick:
            return cls(Path(out_dir), True, 16, 400, halfcheetah_results)
        return cls(Path(out_dir), False, 128, 2000, halfcheetah_results)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute once per run (training runs shared by a claim and a figure)."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


@dataclass(frozen=True)
class Claim:
    """A registered paper claim and the function that checks it."""

    id: str
    location: str
    statement: str
    check: Callable[[Context], Outcome]
    paper_value: str | None = None
    section: str = ""
    refuted_if: str = ""


@dataclass
class ClaimResult:
    """A claim with its outcome (or error) and how long the check took (wall and CPU time)."""

    claim: Claim
    status: str
    outcome: Outcome | None
    seconds: float
    error: str | None = None
    cpu_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The JSON record ``brud paper-checks --json`` prints for this claim."""
        out = self.outcome
        return {
            "id": self.claim.id,
            "location": self.claim.location,
            "statement": self.claim.statement,
            "paper_value": self.claim.paper_value,
            "status": self.status,
            "refuted_if": self.claim.refuted_if or "(not stated by this check)",
            "derived": None if out is None else out.derived,
            "numeric": None if out is None else out.numeric,
            "why": self.error if out is None else out.why,
            "figures": [] if out is None else out.figures,
            "note": "" if out is None else out.note,
            "seconds": round(self.seconds, 2),
            "cpu_seconds": round(self.cpu_seconds, 2),
        }


REGISTRY: dict[str, Claim] = {}


def claim(id: str, location: str, statement: str, paper_value: str | None = None, *,
          refuted_if: str = ""
          ) -> Callable[[Callable[[Context], Outcome]], Callable[[Context], Outcome]]:
    """Register ``fn(ctx) -> Outcome`` as the check of a claim (decorator).

    ``refuted_if`` says which observation of the check would make it end *refuted*; every check
    must be able to end so (a check that cannot fail is a defect).

    Example:
        >>> @claim("demo.one", "Sec. 0", "one is one", refuted_if="1 != 1")
        ... def _check(ctx):
        ...     return Outcome("confirmed", derived=1)
        >>> REGISTRY.pop("demo.one").statement
        'one is one'
    """

    def register(fn: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        if id in REGISTRY:
            raise ValueError(f"claim id {id!r} registered twice")
        REGISTRY[id] = Claim(id, location, statement, fn, paper_value,
                             fn.__module__.rsplit(".", 1)[-1], refuted_if)
        return fn

    return register


SECTION_MODULES = (
    "paper_checks.sec3_brud",
    "paper_checks.sec3_games",
    "paper_checks.twin_peaks",
    "paper_checks.online_buffer",
    "paper_checks.pjap_games",
    "paper_checks.statements",
    "paper_checks.halfcheetah",
    "paper_checks.beyond_paper",  # beyond the paper (issue 14): not claims of the paper
    "paper_checks.critic_claims",  # beyond the paper (issue 28): fitted critics and CQL
)


def load_all() -> dict[str, Claim]:
    """Import every section module (registering its claims) and return the registry.

    Example:
        >>> len(load_all()) > 20
        True
    """
    import importlib

    for name in SECTION_MODULES:
        importlib.import_module(name)
    return REGISTRY


def run_claims(ctx: Context, claims: Iterable[Claim], progress: bool = False
               ) -> list[ClaimResult]:
    """Run each claim's check; exceptions become ``error`` results, :class:`NotRun` ``not run``.

    Example:
        >>> @claim("demo.two", "Sec. 0", "fails")
        ... def _bad(ctx):
        ...     raise RuntimeError("boom")
        >>> [r.status for r in run_claims(Context(Path(".")), [REGISTRY.pop("demo.two")])]
        ['error']
    """
    from tqdm import tqdm

    from brud_analysis.bounded import cpu_clock

    results = []
    bar = tqdm(list(claims), desc="paper checks", unit="claim", disable=not progress)
    for c in bar:
        bar.set_postfix_str(c.id)
        start, cpu_start = time.perf_counter(), cpu_clock()
        try:
            outcome: Outcome | None = c.check(ctx)
            if not isinstance(outcome, Outcome):
                raise TypeError(f"check {c.id} returned {type(outcome).__name__}, not Outcome")
            status, error = outcome.status, None
        except NotRun as reason:
            outcome = Outcome("not run", why=str(reason))
            status, error = "not run", None
        except Exception as err:  # a broken check is reported, never hides the others
            outcome, status = None, "error"
            error = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=6)}"
        result = ClaimResult(c, status, outcome, time.perf_counter() - start, error,
                             cpu_clock() - cpu_start)
        results.append(result)
        if progress:  # each verdict as it comes: the first within seconds of the start
            bar.write(f"{status:9s} {c.id} ({result.cpu_seconds:.1f} s CPU, "
                      f"{result.seconds:.1f} s wall)", file=sys.stderr)
    return results


_T = TypeVar("_T")


def must_derive(value: _T | None, what: str) -> _T:
    """``value``, or an error when a derivation the check relies on came back empty (``None``);
    the check is then reported as ``error`` with this message.

    Example:
        >>> must_derive(5, "the escape threshold")
        5
        >>> must_derive(None, "the escape threshold")
        Traceback (most recent call last):
        ...
        ValueError: the escape threshold: the derivation found none
    """
    if value is None:
        raise ValueError(f"{what}: the derivation found none")
    return value


def fmt(value: Any, digits: int = 4) -> Any:
    """A number rounded for the report, SymPy expressions as strings, containers recursively.

    Example:
        >>> fmt({"a": 0.123456, "b": (1, 2.5)})
        {'a': 0.1235, 'b': [1, 2.5]}
    """
    import sympy

    if isinstance(value, dict):
        return {str(k): fmt(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [fmt(v, digits) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, sympy.Basic):
        if value.is_number and not value.free_symbols:
            try:
                if value.is_Integer:
                    return int(value)
                if value.is_real:
                    return round(float(value), digits)
            except TypeError:
                pass
        return str(value)
    if hasattr(value, "tolist"):
        return fmt(value.tolist(), digits)
    try:
        return round(float(value), digits)
    except (TypeError, ValueError):
        return str(value)
