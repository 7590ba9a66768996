"""Offline datasets as flashbax Vaults in OG-MARL's layout, and a loader for any such Vault.

On disk a dataset is ``<rel_dir>/<vault_name>/<uid>/`` (e.g. ``data/2halfcheetah.vlt/Good``): a
flashbax Vault (TensorStore zarr arrays + ``metadata.json``) whose experience leaves are, per
timestep and with a leading add-batch axis of size 1 and the time axis second::

    observations (1, T, N, O)    actions (1, T, N, A)    rewards (1, T, N)
    terminals (1, T, N)          truncations (1, T, N)   infos/state (1, T, S)
    infos/legals (1, T, N, A)    (all ones: every continuous action is legal)

exactly as OG-MARL's ``mamujoco/2halfcheetah`` vaults, so OG-MARL code reads ours and
:func:`load_vault` reads theirs (``legals`` is written for OG-MARL's buffers, which copy
``infos`` wholesale; nothing here reads it). Besides flashbax's own keys, ``metadata.json`` holds
``environment`` and ``provenance`` (:func:`brud_analysis.output.provenance`: versions, git commit,
the full recording configuration); :func:`vault_metadata` returns them. :func:`combine_vaults`
concatenates datasets (Good + Medium -> GoodMedium) leaf by leaf, as OG-MARL's
``combine_vaults`` does. Episodes are concatenated in recording order; step ``t`` holds
the observation and state *before* the action, and ``terminals | truncations`` marks the last
step of an episode (the following observation is not stored). OG-MARL's HalfCheetah data came from
the older environment (HalfCheetah-v2, 13-d agent observations); :func:`vault_info` reports which
one a vault holds.

Writes are atomic: the Vault is built under a hidden temporary ``uid`` and renamed into place at
the end, so an interrupted write never leaves a complete-looking dataset.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from brud_analysis.errors import BrudError

LEAVES = ("observations", "actions", "rewards", "terminals", "truncations", "infos")
STATE_KEYS = ("state", "states")  # OG-MARL uses "state"; a few of its older vaults "states"
METADATA_FILE = "metadata.json"
# Keys flashbax itself writes into metadata.json; everything else is the writer's metadata.
FLASHBAX_KEYS = ("version", "structure_shape", "structure_dtype")


class Transitions(NamedTuple):
    """A dataset as time-major arrays (episodes concatenated in recording order).

    Attributes:
        observations: ``(T, N, obs_dim)`` float32 per-agent observations.
        actions: ``(T, N, act_dim)`` float32 joint actions.
        rewards: ``(T, N)`` float32; the shared team reward repeated for each agent.
        terminals: ``(T, N)`` bool; the episode ended in a terminal state after step ``t``.
        truncations: ``(T, N)`` bool; the episode was cut (time limit) after step ``t``.
        states: ``(T, state_dim)`` float32 global states (the ``infos/state`` leaf).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    truncations: np.ndarray
    states: np.ndarray


class VaultInfo(NamedTuple):
    """What a Vault holds, without loading its arrays."""

    path: Path
    transitions: int
    n_agents: int
    obs_dim: int
    act_dim: int
    state_dim: int
    environment: str


def environment_name(obs_dim: int, act_dim: int, n_agents: int) -> str:
    """Which 2x3 HalfCheetah version produced observations of this size.

    Example:
        >>> environment_name(12, 3, 2)
        'HalfCheetah-v5 2x3 (gymnasium_robotics.mamujoco_v1, 12-d observations)'
        >>> environment_name(13, 3, 2)
        'HalfCheetah-v2 2x3 (multiagent_mujoco, as in OG-MARL; 13-d observations)'
    """
    if (n_agents, act_dim) == (2, 3):
        if obs_dim == 12:
            return "HalfCheetah-v5 2x3 (gymnasium_robotics.mamujoco_v1, 12-d observations)"
        if obs_dim == 13:
            return "HalfCheetah-v2 2x3 (multiagent_mujoco, as in OG-MARL; 13-d observations)"
    return f"unknown ({n_agents} agents, {obs_dim}-d observations, {act_dim}-d actions)"


def _split_path(path: str | os.PathLike[str]) -> tuple[Path, str, str]:
    """``<rel_dir>/<vault_name>/<uid>`` -> (rel_dir, vault_name, uid); ``~`` expanded."""
    full = Path(path).expanduser().absolute()
    if len(full.parts) < 3:
        raise BrudError(f"a vault path must look like <dir>/<name>.vlt/<uid>, got {path}")
    return full.parent.parent, full.parent.name, full.name


@contextlib.contextmanager
def _quiet():
    """flashbax prints progress lines on stdout; keep stdout clean for ``--json`` output."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _open_vault(path: str | os.PathLike[str]):
    from flashbax.vault import Vault

    rel_dir, name, uid = _split_path(path)
    full = rel_dir / name / uid
    if not full.exists():
        hint = ""
        if full.parent.is_dir():
            uids = sorted(p.name for p in full.parent.iterdir() if (p / METADATA_FILE).is_file())
            hint = f" (datasets in {full.parent}: {', '.join(uids)})" if uids else ""
        raise BrudError(f"no vault at {full}{hint}")
    if not (full / METADATA_FILE).is_file():
        uids = sorted(p.name for p in full.iterdir() if (p / METADATA_FILE).is_file())
        if uids:
            raise BrudError(f"{full} is a vault name, not a dataset; add one of: {', '.join(uids)}")
        raise BrudError(f"{full} is not a flashbax vault (no {METADATA_FILE})")
    try:
        metadata = json.loads((full / METADATA_FILE).read_text())
        structure = metadata["structure_shape"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BrudError(f"{full}: unreadable vault metadata ({err})") from err
    _check_leaf_names(full, structure)
    try:
        with _quiet():
            vault = Vault(vault_name=name, rel_dir=str(rel_dir), vault_uid=uid)
    except Exception as err:  # tensorstore raises ValueError/RuntimeError on damaged stores
        raise BrudError(f"{full}: cannot open vault ({type(err).__name__}: {err})") from err
    return vault, full


def _check_leaf_names(full: Path, structure: dict) -> None:
    missing = [leaf for leaf in LEAVES if leaf not in structure]
    if missing:
        raise BrudError(
            f"{full}: missing leaves {missing} (found {sorted(structure)}); expected OG-MARL's "
            f"{list(LEAVES)} with infos/state"
        )
    infos = structure["infos"]
    if not isinstance(infos, dict) or not any(k in infos for k in STATE_KEYS):
        found = sorted(infos) if isinstance(infos, dict) else infos
        raise BrudError(f"{full}: the infos leaf has no 'state' (found {found})")


def _check_shapes(full: Path, exp: dict) -> None:
    obs = exp["observations"]
    if obs.ndim != 4 or obs.shape[0] != 1:
        raise BrudError(f"{full}: observations must have shape (1, T, N, obs), got {obs.shape}")
    _, t, n, _ = obs.shape
    expected = {
        "actions": (1, t, n),
        "rewards": (1, t, n),
        "terminals": (1, t, n),
        "truncations": (1, t, n),
        "state": (1, t),
    }
    for leaf, prefix in expected.items():
        arr = exp[leaf]
        ndim = {"actions": 4, "state": 3}.get(leaf, 3)
        if arr.shape[: len(prefix)] != prefix or arr.ndim != ndim:
            want = {"actions": "(1, T, N, act)", "state": "(1, T, state)"}.get(leaf, "(1, T, N)")
            raise BrudError(
                f"{full}: leaf {leaf} has shape {arr.shape}, expected {want} with T={t}, N={n}"
            )


def vault_info(path: str | os.PathLike[str]) -> VaultInfo:
    """Sizes and environment version of a Vault, reading only its metadata.

    Example:
        >>> vault_info("~/og-marl/vaults/mamujoco/2halfcheetah.vlt/Good")  # doctest: +SKIP
        VaultInfo(..., obs_dim=13, ..., environment='HalfCheetah-v2 2x3 (multiagent_mujoco, ...')
    """
    vault, full = _open_vault(path)
    if vault.vault_index == 0:
        raise BrudError(f"{full}: the vault is empty")
    try:
        with _quiet():  # the last timestep alone: its shapes are the dataset's per-step shapes
            last = vault.read(timesteps=1).experience
    except Exception as err:  # a missing or damaged chunk file surfaces as a tensorstore error
        raise BrudError(f"{full}: cannot read vault data ({type(err).__name__}: {err})") from err
    infos = last["infos"]
    n, o = np.shape(last["observations"])[2:4]
    a = np.shape(last["actions"])[3]
    state_dim = np.shape(infos["state" if "state" in infos else "states"])[2]
    return VaultInfo(full, int(vault.vault_index), int(n), int(o), int(a), int(state_dim),
                     environment_name(int(o), int(a), int(n)))


def vault_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The writer's metadata of a Vault (``environment``, ``provenance``, ...), without
    flashbax's own structure keys; ``{}`` for a vault written without any (e.g. OG-MARL's).

    Example:
        >>> vault_metadata("data/2halfcheetah.vlt/Good")["provenance"]["config"]  # doctest: +SKIP
        {'dataset': 'Good', 'episodes': 1000, 'noise': 0.2, ...}
    """
    _, full = _open_vault(path)
    metadata = json.loads((full / METADATA_FILE).read_text())
    return {k: v for k, v in metadata.items() if k not in FLASHBAX_KEYS}


def _read_experience(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """Every leaf of a Vault as numpy arrays, after the layout and episode-boundary checks."""
    vault, full = _open_vault(path)
    if vault.vault_index == 0:
        raise BrudError(f"{full}: the vault is empty")
    try:
        with _quiet():
            experience = vault.read().experience
        import jax

        experience = jax.tree_util.tree_map(np.asarray, experience)
    except Exception as err:  # a missing or damaged chunk file surfaces as a tensorstore error
        raise BrudError(f"{full}: cannot read vault data ({type(err).__name__}: {err})") from err
    infos = experience["infos"]
    leaves = {k: v for k, v in experience.items() if k != "infos"}
    leaves["state"] = infos["state"] if "state" in infos else infos["states"]
    _check_shapes(full, leaves)
    last = leaves["terminals"][0, -1] > 0
    if not (last.any() or (leaves["truncations"][0, -1] > 0).any()):
        raise BrudError(
            f"{full}: data stops in the middle of an episode (last of {leaves['rewards'].shape[1]} "
            "steps is neither terminal nor truncated): truncated or incomplete vault"
        )
    return full, experience


def load_vault(path: str | os.PathLike[str]) -> Transitions:
    """Read a whole Vault (ours or OG-MARL's) into :class:`Transitions`.

    ``path`` is the dataset directory ``<dir>/<name>.vlt/<uid>``; ``~`` is expanded. Raises
    :class:`BrudError` for a missing path, wrong leaf names or shapes, an unreadable store, or
    data that stops in the middle of an episode (a truncated copy). ``infos`` other than the
    state (OG-MARL's ``legals``) are not loaded.

    Example:
        >>> t = load_vault("data/2halfcheetah.vlt/Good")  # doctest: +SKIP
        >>> t.observations.shape  # doctest: +SKIP
        (1000000, 2, 12)
    """
    _, exp = _read_experience(path)
    infos = exp["infos"]
    return Transitions(
        observations=exp["observations"][0].astype(np.float32, copy=False),
        actions=exp["actions"][0].astype(np.float32, copy=False),
        rewards=exp["rewards"][0].astype(np.float32, copy=False),
        terminals=exp["terminals"][0] > 0,
        truncations=exp["truncations"][0] > 0,
        states=(infos["state"] if "state" in infos else infos["states"])[0].astype(
            np.float32, copy=False),
    )


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of named arrays (names, dtypes, shapes and bytes, in name order): a content hash
    independent of the container (zip, zarr chunks) the arrays were stored in.

    Example:
        >>> arrays_sha256({"w": np.zeros(2, np.float32)})[:12]
        '5768890864c0'
    """
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.data)
    return digest.hexdigest()


def dataset_sha256(t: Transitions) -> str:
    """Content hash of a dataset in its loaded form (float32 arrays, bool flags), the same for
    a Vault however it was written or combined; recorded as ``dataset_sha256`` in the Vault's
    metadata and in every training result, so that runs on different data are never pooled.

    Example:
        >>> t = Transitions(np.zeros((1, 2, 1)), np.zeros((1, 2, 1)), np.zeros((1, 2)),
        ...                 np.zeros((1, 2), bool), np.ones((1, 2), bool), np.zeros((1, 3)))
        >>> len(dataset_sha256(t))
        64
    """
    kinds = {"terminals": np.bool_, "truncations": np.bool_}
    return arrays_sha256({name: np.asarray(getattr(t, name)).astype(
        kinds.get(name, np.float32), copy=False) for name in Transitions._fields})


def recorded_dataset_sha256(path: str | os.PathLike[str]) -> str | None:
    """The ``dataset_sha256`` a Vault's metadata records (None for vaults written without it,
    e.g. OG-MARL's own)."""
    value = vault_metadata(path).get("dataset_sha256")
    return str(value) if value is not None else None


def stamp_dataset_sha256(path: str | os.PathLike[str], transitions: Transitions | None = None
                         ) -> str:
    """Compute a Vault's content hash (loading it unless ``transitions`` are given) and record
    it in its ``metadata.json`` (atomically); return it."""
    from brud_analysis.output import write_atomic

    rel_dir, name, uid = _split_path(path)
    meta_path = rel_dir / name / uid / METADATA_FILE
    digest = dataset_sha256(load_vault(path) if transitions is None else transitions)
    metadata = json.loads(meta_path.read_text())
    metadata["dataset_sha256"] = digest
    write_atomic(meta_path, json.dumps(metadata))
    return digest


def _check_transitions(t: Transitions) -> None:
    total, n = t.observations.shape[:2]
    shapes = {
        "actions": (t.actions.shape[:2], (total, n)),
        "rewards": (t.rewards.shape, (total, n)),
        "terminals": (t.terminals.shape, (total, n)),
        "truncations": (t.truncations.shape, (total, n)),
        "states": (t.states.shape[:1], (total,)),
    }
    for name, (got, want) in shapes.items():
        if tuple(got) != want:
            raise BrudError(f"transitions.{name} has leading shape {got}, expected {want}")
    if total == 0:
        raise BrudError("cannot write an empty dataset")


def _experience(transitions: Transitions) -> dict[str, Any]:
    """OG-MARL's leaves, dtypes and axes (add-batch 1, time second) for ``transitions``."""
    actions = transitions.actions.astype(np.float32)
    return {
        "observations": transitions.observations.astype(np.float32)[None],
        "actions": actions[None],
        "rewards": transitions.rewards.astype(np.float32)[None],
        "terminals": transitions.terminals.astype(np.float32)[None],
        "truncations": transitions.truncations.astype(np.float32)[None],
        "infos": {"legals": np.ones_like(actions)[None],
                  "state": transitions.states.astype(np.float32)[None]},
    }


def _write_experience(
    path: str | os.PathLike[str],
    chunks: Iterable[dict[str, Any]],
    metadata: dict[str, Any],
    overwrite: bool,
) -> Path:
    """Append each experience chunk (leaves ``(1, T_k, ...)``) to a new Vault at ``path``.

    The Vault is built under a hidden uid and renamed into place at the end; with ``overwrite``
    an existing dataset is replaced only once the new one is complete.
    """
    from flashbax.buffers.trajectory_buffer import TrajectoryBufferState
    from flashbax.vault import Vault

    rel_dir, name, uid = _split_path(path)
    final = rel_dir / name / uid
    if final.exists() and not overwrite:
        raise BrudError(f"{final} already exists; remove it first or choose another --out")
    tmp = rel_dir / name / f".{uid}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)  # a leftover of an earlier interrupted write
    vault = None
    try:
        for experience in chunks:
            length = int(np.shape(experience["observations"])[1])
            with _quiet():
                if vault is None:
                    vault = Vault(vault_name=name, experience_structure=experience,
                                  rel_dir=str(rel_dir), vault_uid=tmp.name, metadata=metadata)
                state = TrajectoryBufferState(experience=experience,
                                              current_index=np.asarray(length),
                                              is_full=np.asarray(False))
                written = vault.write(state, source_interval=(0, length))
            if written != length:
                raise BrudError(f"flashbax wrote {written} of {length} timesteps to {tmp}")
        if vault is None:
            raise BrudError("cannot write an empty dataset")
        if final.exists():  # overwrite: move the old dataset aside, then drop it
            old = rel_dir / name / f".{uid}.old-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BrudError(f"cannot write {final}: {err.strerror or err}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def write_vault(
    path: str | os.PathLike[str],
    transitions: Transitions,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``transitions`` as a Vault at ``<dir>/<name>.vlt/<uid>``, atomically.

    Leaves, dtypes and axes follow OG-MARL: float32 everywhere, terminals/truncations as 0/1
    float32, ``infos`` = ``{legals, state}`` with all-ones ``legals`` of shape ``(1, T, N, A)``.
    ``metadata`` (e.g. ``{"provenance": provenance(config)}``) is stored in ``metadata.json``
    next to ``environment``. An existing dataset at ``path`` is refused unless ``overwrite``,
    which replaces it once the new one is complete.

    Example:
        >>> import tempfile
        >>> T, N = 3, 2
        >>> t = Transitions(np.zeros((T, N, 12), np.float32), np.zeros((T, N, 3), np.float32),
        ...                 np.ones((T, N), np.float32), np.zeros((T, N), bool),
        ...                 np.array([[0, 0], [0, 0], [1, 1]], bool), np.zeros((T, 17), np.float32))
        >>> out = write_vault(Path(tempfile.mkdtemp()) / "2halfcheetah.vlt" / "Tiny", t)
        >>> load_vault(out).rewards.sum()
        np.float32(6.0)
    """
    _check_transitions(transitions)
    _, n_agents, obs_dim = transitions.observations.shape
    environment = environment_name(obs_dim, transitions.actions.shape[2], n_agents)
    return _write_experience(path, [_experience(transitions)],
                             {"environment": environment, **(metadata or {}),
                              "dataset_sha256": dataset_sha256(transitions)}, overwrite)


def _structure(experience: dict[str, Any]) -> dict[str, Any]:
    """Leaf names, per-step shapes (time axis dropped) and dtypes of an experience tree."""
    return {k: _structure(v) if isinstance(v, dict)
            else (tuple(np.shape(v)[:1]) + tuple(np.shape(v)[2:]), np.asarray(v).dtype.name)
            for k, v in sorted(experience.items())}


def combine_vaults(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Concatenate datasets in order into one new Vault at ``out`` (Good + Medium -> GoodMedium).

    Every leaf of every source is copied unchanged (``infos.legals`` included when present), so
    OG-MARL's own vaults combine into OG-MARL's layout, as OG-MARL's ``combine_vaults`` does.
    All sources must have the same leaves, per-step shapes and dtypes, and each must end at an
    episode boundary (otherwise two episodes would fuse). Sources are read one at a time. The
    metadata records each source (path, transitions and its own metadata) under ``sources``.

    Example:
        >>> combine_vaults(["data/2halfcheetah.vlt/Good", "data/2halfcheetah.vlt/Medium"],
        ...                "data/2halfcheetah.vlt/GoodMedium")  # doctest: +SKIP
        PosixPath('.../data/2halfcheetah.vlt/GoodMedium')
    """
    if len(sources) < 2:
        raise BrudError(f"combining needs at least two datasets, got {len(sources)}")
    rel_dir, name, uid = _split_path(out)
    final = rel_dir / name / uid
    fulls = [r / n / u for r, n, u in (_split_path(source) for source in sources)]
    if final in fulls:
        raise BrudError(f"{final} is one of the datasets being combined; choose another output")
    if final.exists() and not overwrite:
        raise BrudError(f"{final} already exists; remove it, choose another output, or replace "
                        "it (--force)")
    infos = [vault_info(source) for source in sources]  # every source opens, before any work
    records = [{"path": str(source), "transitions": info.transitions,
                **vault_metadata(source)} for source, info in zip(sources, infos, strict=True)]
    first_structure: dict[str, Any] = {}

    def chunks() -> Iterator[dict[str, Any]]:
        for i, source in enumerate(sources):
            full, experience = _read_experience(source)
            structure = _structure(experience)
            if i == 0:
                first_structure.update(structure)
            elif structure != first_structure:
                raise BrudError(f"{full} has other leaves, shapes or dtypes than {fulls[0]}: "
                                f"{structure} vs {first_structure}")
            yield experience

    environments = sorted({record.get("environment", info.environment)
                           for record, info in zip(records, infos, strict=True)})
    combined = {"environment": environments[0] if len(environments) == 1 else environments,
                "sources": records, **(metadata or {})}
    written = _write_experience(final, chunks(), combined, overwrite)
    stamp_dataset_sha256(written)  # the concatenation's hash, from the data as written
    return written


def episode_starts(t: Transitions) -> np.ndarray:
    """Indices of the first step of each episode.

    Example:
        >>> t = Transitions(*(np.zeros((4, 2, 1)),) * 2, np.zeros((4, 2)), np.zeros((4, 2), bool),
        ...                 np.array([[0, 0], [1, 1], [0, 0], [1, 1]], bool), np.zeros((4, 1)))
        >>> episode_starts(t)
        array([0, 2])
    """
    ends = np.asarray(t.terminals.any(axis=1) | t.truncations.any(axis=1))
    starts = np.flatnonzero(ends[:-1]) + 1
    return np.concatenate([[0], starts]).astype(np.int64)


def episode_returns(t: Transitions) -> np.ndarray:
    """Undiscounted team return of each episode (agent 0's copy of the shared reward).

    An unfinished last episode (no terminal/truncation flag) is counted as it stands.

    Example:
        >>> t = Transitions(*(np.zeros((4, 2, 1)),) * 2, np.ones((4, 2)), np.zeros((4, 2), bool),
        ...                 np.array([[0, 0], [1, 1], [0, 0], [1, 1]], bool), np.zeros((4, 1)))
        >>> episode_returns(t)
        array([2., 2.])
    """
    starts = episode_starts(t)
    return np.add.reduceat(t.rewards[:, 0].astype(np.float64), starts)
