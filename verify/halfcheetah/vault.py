"""Offline datasets as flashbax Vaults in OG-MARL's layout, and a loader for any such Vault.

On disk a dataset is ``<rel_dir>/<vault_name>/<uid>/`` (e.g. ``data/2halfcheetah.vlt/Good``): a
flashbax Vault (TensorStore zarr arrays + ``metadata.json``) whose experience leaves are, per
timestep and with a leading add-batch axis of size 1 and the time axis second::

    observations (1, T, N, O)    actions (1, T, N, A)    rewards (1, T, N)
    terminals (1, T, N)          truncations (1, T, N)   infos/state (1, T, S)

exactly as OG-MARL's ``mamujoco/2halfcheetah`` vaults, so OG-MARL code reads ours and
:func:`load_vault` reads theirs. Episodes are concatenated in recording order; step ``t`` holds
the observation and state *before* the action, and ``terminals | truncations`` marks the last
step of an episode (the following observation is not stored). OG-MARL's HalfCheetah data came from
the older environment (HalfCheetah-v2, 13-d agent observations); :func:`vault_info` reports which
one a vault holds.

Writes are atomic: the Vault is built under a hidden temporary ``uid`` and renamed into place at
the end, so an interrupted write never leaves a complete-looking dataset.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np

from brud_analysis.errors import BrudError

LEAVES = ("observations", "actions", "rewards", "terminals", "truncations", "infos")
STATE_KEYS = ("state", "states")  # OG-MARL uses "state"; a few of its older vaults "states"
METADATA_FILE = "metadata.json"


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
    except (OSError, ValueError, KeyError) as err:
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
    stores = vault._all_datastores  # flashbax keeps one TensorStore per leaf
    obs_shape = stores["observations"].shape
    act_shape = stores["actions"].shape
    infos = stores["infos"]
    state_shape = infos["state" if "state" in infos else "states"].shape
    n, o, a = obs_shape[2], obs_shape[3], act_shape[3]
    return VaultInfo(full, int(vault.vault_index), n, o, a, state_shape[2],
                     environment_name(o, a, n))


def load_vault(path: str | os.PathLike[str]) -> Transitions:
    """Read a whole Vault (ours or OG-MARL's) into :class:`Transitions`.

    ``path`` is the dataset directory ``<dir>/<name>.vlt/<uid>``; ``~`` is expanded. Raises
    :class:`BrudError` for a missing path, wrong leaf names or shapes, an unreadable store, or
    data that stops in the middle of an episode (a truncated copy).

    Example:
        >>> t = load_vault("data/2halfcheetah.vlt/Good")  # doctest: +SKIP
        >>> t.observations.shape  # doctest: +SKIP
        (1000000, 2, 12)
    """
    vault, full = _open_vault(path)
    if vault.vault_index == 0:
        raise BrudError(f"{full}: the vault is empty")
    try:
        with _quiet():
            experience = vault.read().experience
        exp = {k: np.asarray(v) for k, v in experience.items() if k != "infos"}
        infos = experience["infos"]
        exp["state"] = np.asarray(infos["state"] if "state" in infos else infos["states"])
    except Exception as err:  # a missing or damaged chunk file surfaces as a tensorstore error
        raise BrudError(f"{full}: cannot read vault data ({type(err).__name__}: {err})") from err
    _check_shapes(full, exp)
    transitions = Transitions(
        observations=exp["observations"][0].astype(np.float32, copy=False),
        actions=exp["actions"][0].astype(np.float32, copy=False),
        rewards=exp["rewards"][0].astype(np.float32, copy=False),
        terminals=exp["terminals"][0] > 0,
        truncations=exp["truncations"][0] > 0,
        states=exp["state"][0].astype(np.float32, copy=False),
    )
    ends = transitions.terminals.any(axis=1) | transitions.truncations.any(axis=1)
    if not ends[-1]:
        raise BrudError(
            f"{full}: data stops in the middle of an episode (last of {len(ends)} steps is neither "
            "terminal nor truncated): truncated or incomplete vault"
        )
    return transitions


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


def write_vault(path: str | os.PathLike[str], transitions: Transitions) -> Path:
    """Write ``transitions`` as a Vault at ``<dir>/<name>.vlt/<uid>``, atomically.

    Dtypes on disk follow OG-MARL: float32 everywhere, terminals/truncations as 0/1 float32.
    An existing dataset at ``path`` is refused (delete it first).

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
    from flashbax.buffers.trajectory_buffer import TrajectoryBufferState
    from flashbax.vault import Vault

    _check_transitions(transitions)
    rel_dir, name, uid = _split_path(path)
    final = rel_dir / name / uid
    if final.exists():
        raise BrudError(f"{final} already exists; remove it first or choose another --out")
    tmp_uid = f".{uid}.partial-{os.getpid()}"
    tmp = rel_dir / name / tmp_uid
    shutil.rmtree(tmp, ignore_errors=True)  # a leftover of an earlier interrupted write
    experience = {
        "observations": transitions.observations.astype(np.float32)[None],
        "actions": transitions.actions.astype(np.float32)[None],
        "rewards": transitions.rewards.astype(np.float32)[None],
        "terminals": transitions.terminals.astype(np.float32)[None],
        "truncations": transitions.truncations.astype(np.float32)[None],
        "infos": {"state": transitions.states.astype(np.float32)[None]},
    }
    length = experience["observations"].shape[1]
    _, n_agents, obs_dim = transitions.observations.shape
    environment = environment_name(obs_dim, transitions.actions.shape[2], n_agents)
    try:
        with _quiet():
            vault = Vault(
                vault_name=name,
                experience_structure=experience,
                rel_dir=str(rel_dir),
                vault_uid=tmp_uid,
                metadata={"environment": environment},
            )
            state = TrajectoryBufferState(
                experience=experience,
                current_index=np.asarray(length),
                is_full=np.asarray(False),
            )
            written = vault.write(state, source_interval=(0, length))
        if written != length:
            raise BrudError(f"flashbax wrote {written} of {length} timesteps to {tmp}")
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def episode_starts(t: Transitions) -> np.ndarray:
    """Indices of the first step of each episode.

    Example:
        >>> t = Transitions(*(np.zeros((4, 2, 1)),) * 2, np.zeros((4, 2)), np.zeros((4, 2), bool),
        ...                 np.array([[0, 0], [1, 1], [0, 0], [1, 1]], bool), np.zeros((4, 1)))
        >>> episode_starts(t)
        array([0, 2])
    """
    ends = t.terminals.any(axis=1) | t.truncations.any(axis=1)
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
