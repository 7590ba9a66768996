"""Writing results: JSON conversion, atomic files, early path checks and provenance.

Every command that writes a result goes through this module so that (1) a bad output path is
refused before any long work, (2) a result file is never half-written, (3) files get the usual
permissions (the umask decides, 0644 by default), and (4) every result records what produced it
(:func:`provenance`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from brud_analysis.errors import BrudError

#: Distributions whose versions change numbers in results (recorded in every provenance block).
RECORDED_PACKAGES: tuple[str, ...] = (
    "brud-analysis", "sympy", "numpy", "scipy", "jax", "jaxlib", "optax", "mujoco",
    "gymnasium-robotics", "flashbax",
)


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
    except (TypeError, ValueError, OverflowError):
        return str(obj)
    if isinstance(obj, float) or not float(value).is_integer() or "." in str(obj):
        return value if math.isfinite(value) else None
    return int(value)


def eigenvalue_pairs(values: Any) -> list[list[float]]:
    """Eigenvalues as ``[real, imag]`` pairs, as every command writes them (docs/json.md).

    Example:
        >>> eigenvalue_pairs([-1, 2j])
        [[-1.0, 0.0], [0.0, 2.0]]
    """
    return [[float(complex(v).real), float(complex(v).imag)] for v in values]


def exact_strings(values: Any) -> list[str] | None:
    """Exact coordinates as strings (``None`` where only a numeric value is known).

    Example:
        >>> exact_strings(None), exact_strings([1, 2])
        (None, ['1', '2'])
    """
    return None if values is None else [str(v) for v in values]


def fixed_point_records(fp: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The points and sets of a ``FixedPointAnalysis`` as JSON records (docs/json.md).

    Example:
        >>> from brud_analysis import Game, Normal, brud_fixed_points
        >>> fp = brud_fixed_points(Game("x*y - x**2 - y**2"), Normal([0, 0], [1, 1]))
        >>> points, sets = fixed_point_records(fp)
        >>> [(p["exact"], p["stable"]) for p in points], sets
        ([(['0', '0'], True)], [])
    """
    points = [{"point": list(p.point), "stable": p.stable, "exact": exact_strings(p.exact),
               "eigenvalues": eigenvalue_pairs(p.eigenvalues), "reason": p.reason}
              for p in fp.points]
    sets = [{"equations": [str(e) for e in s.equations], "dimension": s.dimension,
             "kind": s.kind} for s in fp.sets]
    return points, sets


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout.

    Example:
        >>> print_json({"passed": True})
        {
          "passed": true
        }
    """
    print(json.dumps(to_jsonable(obj), indent=2))


def _umask() -> int:
    # os.umask can only be read by setting it; set it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + rename), mode 0666 & ~umask.

    A crash or Ctrl-C never leaves a half-written file under the final name, and the file is
    readable by colleagues as any ordinary file would be (``mkstemp`` alone gives 0600).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.json"
        >>> write_atomic(p, "{}").read_text()
        '{}'
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BrudError(f"cannot create directory {path.parent}: {err.strerror}") from None
    payload = data.encode() if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise BrudError(f"cannot write {path}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise BrudError(f"cannot write {path}: {err.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_output_path(path: str | os.PathLike[str], *, directory: bool = False) -> Path:
    """Refuse, before any long work, an output path that could not be written later.

    ``path`` is a file to be written (``directory=False``) or a directory to be filled. The
    nearest existing ancestor must be a writable directory; an existing ``path`` must be of the
    expected kind. Nothing is created. Raises :class:`BrudError` with one line.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> check_output_path(d / "new" / "out.json") == d / "new" / "out.json"
        True
        >>> _ = (d / "file").write_text("")
        >>> check_output_path(d / "file" / "out.json")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        brud_analysis.errors.BrudError: cannot write .../file/out.json: ...file is not a directory
    """
    path = Path(path).expanduser()
    if path.exists():
        if directory and not path.is_dir():
            raise BrudError(f"cannot write into {path}: it is not a directory")
        if not directory and path.is_dir():
            raise BrudError(f"cannot write {path}: it is a directory")
        target = path if directory else path.parent
        if not os.access(target, os.W_OK | os.X_OK):
            raise BrudError(f"cannot write {path}: {target} is not writable")
        return path
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise BrudError(f"cannot write {path}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise BrudError(f"cannot write {path}: {ancestor} is not writable")
    return path


@functools.cache
def _git_state() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
            timeout=10, check=True).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def provenance(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What produced a result: package versions, git commit (+ dirty flag), Python, command line.

    ``config`` (the full configuration and seeds of the run) is stored under ``"config"``.
    Every result file the toolkit writes carries this block under the key ``"provenance"``.

    Example:
        >>> p = provenance({"seed": 0})
        >>> sorted(p) == ["argv", "commit", "config", "dirty", "platform", "python", "versions"]
        True
        >>> p["config"]
        {'seed': 0}
    """
    return {
        **_git_state(),
        "versions": {name: _version(name) for name in RECORDED_PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "argv": list(sys.argv),
        "config": to_jsonable(dict(config or {})),
    }
