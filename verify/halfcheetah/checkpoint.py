"""Checkpoints of a multi-seed learner state: one atomic ``.npz`` with the pytree's leaves stored
under their pytree paths (``jax.tree_util.keystr``, e.g. ``.policy['w0']``) and a JSON document
(run description and history), restored bit-for-bit into a template pytree *by name*.

Restoring by path rather than by leaf order means a changed learner (a renamed, added or removed
field) fails with the name of the first leaf that differs, instead of silently loading arrays
into the wrong places. Hand-written rather than orbax: one ``.npz`` written with
``brud_analysis.output.write_atomic`` keeps the run directory a single atomic file and adds no
dependency (orbax is not in the locked environment).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import jax
import numpy as np

from brud_analysis.errors import BrudError

_DOCUMENT = "__document__"
# What np.load / the zip reader raise on a truncated or corrupt file.
_UNREADABLE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, UnicodeDecodeError,
               json.JSONDecodeError)


def _named_leaves(tree: Any) -> list[tuple[str, Any]]:
    """``(path, leaf)`` pairs, the path as ``jax.tree_util.keystr`` writes it.

    Example:
        >>> _named_leaves({"a": [1, 2]})
        [("['a'][0]", 1), ("['a'][1]", 2)]
    """
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(path), leaf) for path, leaf in leaves]


def save_checkpoint(path: str | Path, state: Any, document: dict) -> Path:
    """Write ``state`` (any pytree of arrays) and ``document`` (JSON-able) atomically.

    Example:
        >>> import tempfile, jax.numpy as jnp
        >>> p = Path(tempfile.mkdtemp()) / "ckpt.npz"
        >>> _ = save_checkpoint(p, {"w": jnp.ones(2)}, {"step": 3})
        >>> state, doc = load_checkpoint(p, {"w": jnp.zeros(2)})
        >>> state["w"].tolist(), doc["step"]
        ([1.0, 1.0], 3)
    """
    from brud_analysis.output import to_jsonable, write_atomic

    # dict[str, Any]: numpy's stubs read a ** of arrays as possibly its allow_pickle flag
    arrays: dict[str, Any] = {name: np.asarray(leaf) for name, leaf in _named_leaves(state)}
    arrays[_DOCUMENT] = np.frombuffer(json.dumps(to_jsonable(document)).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_atomic(path, buffer.getvalue())


def load_document(path: str | Path) -> dict:
    """The JSON document of a checkpoint, without loading its arrays.

    Raises:
        BrudError: the file is truncated, corrupt or not a checkpoint.

    Example:
        >>> import tempfile, jax.numpy as jnp
        >>> p = save_checkpoint(Path(tempfile.mkdtemp()) / "c.npz", [jnp.ones(1)], {"step": 7})
        >>> load_document(p)["step"]
        7
        >>> _ = p.write_bytes(p.read_bytes()[:40])
        >>> load_document(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        brud_analysis.errors.BrudError: checkpoint ... is unreadable (truncated or corrupt: ...)...
    """
    try:
        with np.load(path) as archive:
            return json.loads(archive[_DOCUMENT].tobytes().decode())
    except _UNREADABLE as err:
        raise BrudError(f"checkpoint {path} is unreadable (truncated or corrupt: "
                        f"{type(err).__name__}); remove it to start again") from None


def load_checkpoint(path: str | Path, template: Any) -> tuple[Any, dict]:
    """Restore a pytree shaped like ``template`` and the document from ``path``, by leaf path.

    Raises:
        BrudError: the file is unreadable, or does not hold ``template``'s leaves (another
            learner or another version of it), naming the first leaf that differs.

    Example:
        >>> import tempfile, jax.numpy as jnp
        >>> p = save_checkpoint(Path(tempfile.mkdtemp()) / "c.npz", {"w": jnp.ones(2)}, {})
        >>> load_checkpoint(p, {"w": jnp.zeros(3)})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        brud_analysis.errors.BrudError: checkpoint ... holds another learner (['w']: (2,) ...)
        >>> load_checkpoint(p, {"v": jnp.zeros(2)})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        brud_analysis.errors.BrudError: checkpoint ... holds another learner (no leaf ['v']...
    """
    named = _named_leaves(template)
    _, treedef = jax.tree_util.tree_flatten(template)
    document = load_document(path)
    try:
        with np.load(path) as archive:
            stored = set(archive.files) - {_DOCUMENT}
            restored = []
            for name, leaf in named:
                if name not in stored:
                    raise BrudError(
                        f"checkpoint {path} holds another learner (no leaf {name}; it has "
                        f"{len(stored)} leaves, e.g. {sorted(stored)[:2]})")
                value = archive[name]
                if value.shape != np.shape(leaf) or value.dtype != np.asarray(leaf).dtype:
                    raise BrudError(
                        f"checkpoint {path} holds another learner ({name}: {value.shape} "
                        f"{value.dtype}, expected {np.shape(leaf)} {np.asarray(leaf).dtype})")
                restored.append(jax.numpy.asarray(value))
            extra = stored - {name for name, _ in named}
    except BrudError:
        raise
    except _UNREADABLE as err:
        raise BrudError(f"checkpoint {path} is unreadable (truncated or corrupt: "
                        f"{type(err).__name__}); remove it to start again") from None
    if extra:
        raise BrudError(f"checkpoint {path} holds another learner (extra leaves, e.g. "
                        f"{sorted(extra)[0]})")
    return jax.tree_util.tree_unflatten(treedef, restored), document
