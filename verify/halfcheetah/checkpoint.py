"""Checkpoints of a multi-seed learner state: one atomic ``.npz`` with the pytree's leaves and a
JSON document (run description and history), restored bit-for-bit into a template pytree.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from brud_analysis.errors import BrudError


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

    leaves = jax.tree_util.tree_leaves(state)
    arrays = {f"leaf_{i:04d}": np.asarray(leaf) for i, leaf in enumerate(leaves)}
    arrays["document"] = np.frombuffer(json.dumps(to_jsonable(document)).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_atomic(path, buffer.getvalue())


def load_document(path: str | Path) -> dict:
    """The JSON document of a checkpoint, without loading its arrays.

    Example:
        >>> import tempfile, jax.numpy as jnp
        >>> p = save_checkpoint(Path(tempfile.mkdtemp()) / "c.npz", [jnp.ones(1)], {"step": 7})
        >>> load_document(p)["step"]
        7
    """
    with np.load(path) as archive:
        return json.loads(archive["document"].tobytes().decode())


def load_checkpoint(path: str | Path, template: Any) -> tuple[Any, dict]:
    """Restore a pytree shaped like ``template`` and the document from ``path``.

    Raises:
        BrudError: the checkpoint does not match ``template`` (another configuration).

    Example:
        >>> import tempfile, jax.numpy as jnp
        >>> p = save_checkpoint(Path(tempfile.mkdtemp()) / "c.npz", [jnp.ones(2)], {})
        >>> load_checkpoint(p, [jnp.zeros(3)])
        Traceback (most recent call last):
        brud_analysis.errors.BrudError: checkpoint ... holds another learner (leaf_0000: (2,) ...)
    """
    leaves, treedef = jax.tree_util.tree_flatten(template)
    with np.load(path) as archive:
        stored = sorted(k for k in archive.files if k.startswith("leaf_"))
        if len(stored) != len(leaves):
            raise BrudError(f"checkpoint {path} holds another learner (different structure)")
        restored = []
        for name, leaf in zip(stored, leaves, strict=True):
            value = archive[name]
            if value.shape != np.shape(leaf) or value.dtype != np.asarray(leaf).dtype:
                raise BrudError(
                    f"checkpoint {path} holds another learner ({name}: {value.shape} "
                    f"{value.dtype}, expected {np.shape(leaf)} {np.asarray(leaf).dtype})"
                )
            restored.append(jax.numpy.asarray(value))
        document = json.loads(archive["document"].tobytes().decode())
    return jax.tree_util.tree_unflatten(treedef, restored), document
