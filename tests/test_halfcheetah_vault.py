"""Vault I/O: bit-exact round trips, OG-MARL's own layout, atomic writes, clear errors."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brud_analysis.errors import BrudError
from verify.halfcheetah.vault import (
    Transitions,
    combine_vaults,
    episode_returns,
    episode_starts,
    load_vault,
    vault_info,
    vault_metadata,
    write_vault,
)


def make_transitions(lengths: list[int], seed: int = 0, obs_dim: int = 12) -> Transitions:
    """Random data with episodes of the given lengths (last step of each truncated)."""
    rng = np.random.default_rng(seed)
    total, n = sum(lengths), 2
    truncations = np.zeros((total, n), bool)
    truncations[np.cumsum(lengths) - 1] = True
    return Transitions(
        observations=rng.normal(size=(total, n, obs_dim)).astype(np.float32),
        actions=rng.uniform(-1, 1, (total, n, 3)).astype(np.float32),
        rewards=np.repeat(rng.normal(size=(total, 1)), n, axis=1).astype(np.float32),
        terminals=np.zeros((total, n), bool),
        truncations=truncations,
        states=rng.normal(size=(total, 17)).astype(np.float32),
    )


def assert_same(a: Transitions, b: Transitions) -> None:
    for field in Transitions._fields:
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype, field
        np.testing.assert_array_equal(x, y, err_msg=field)


# tmp_path is shared by the examples; each example writes into its own fresh directory
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lengths=st.lists(st.integers(1, 40), min_size=1, max_size=4), seed=st.integers(0, 99))
def test_write_then_load_is_bit_exact(tmp_path: Path, lengths: list[int], seed: int):
    data = make_transitions(lengths, seed)
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "2halfcheetah.vlt" / "Good"
    assert write_vault(path, data) == path.absolute()
    assert_same(load_vault(path), data)


def test_episode_starts_and_returns_of_hand_made_data():
    data = make_transitions([3, 1, 2])
    data = data._replace(rewards=np.repeat(np.arange(6, dtype=np.float32)[:, None], 2, axis=1))
    np.testing.assert_array_equal(episode_starts(data), [0, 3, 4])
    np.testing.assert_array_equal(episode_returns(data), [0 + 1 + 2, 3, 4 + 5])
    # a terminal (not only a truncation) also ends an episode
    terminals = np.zeros((6, 2), bool)
    terminals[1] = True
    np.testing.assert_array_equal(episode_starts(data._replace(terminals=terminals)), [0, 2, 3, 4])


def write_og_marl_style(root: Path, experience: dict, uid: str = "Good") -> Path:
    """Write a vault the way OG-MARL's recorders do: a flashbax trajectory buffer (add batch 1)
    handed to ``Vault(experience_structure=state.experience)``, then ``vault.write(state)``."""
    import flashbax as fbx
    import jax
    from flashbax.vault import Vault

    length = experience["actions"].shape[1]
    buffer = fbx.make_trajectory_buffer(
        add_batch_size=1, sample_batch_size=1, sample_sequence_length=1, period=1,
        min_length_time_axis=1, max_length_time_axis=length + 1,
    )
    state = buffer.init(jax.tree_util.tree_map(lambda x: x[0, 0], experience))
    state = buffer.add(state, experience)
    vault = Vault(vault_name="2halfcheetah.vlt", experience_structure=state.experience,
                  rel_dir=str(root / "vaults" / "mamujoco"), vault_uid=uid)
    assert vault.write(state) == length
    return root / "vaults" / "mamujoco" / "2halfcheetah.vlt" / uid


def og_marl_experience(data: Transitions, **overrides) -> dict:
    experience = {
        "observations": data.observations[None],
        "actions": data.actions[None],
        "rewards": data.rewards[None],
        "terminals": data.terminals.astype(np.float32)[None],
        "truncations": data.truncations.astype(np.float32)[None],
        "infos": {"state": data.states[None]},
    }
    experience.update(overrides)
    return experience


def test_loads_a_vault_written_in_og_marl_layout_with_13d_observations_and_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    data = make_transitions([5, 7], seed=3, obs_dim=13)  # HalfCheetah-v2 observations
    path = write_og_marl_style(tmp_path, og_marl_experience(data))
    monkeypatch.setenv("HOME", str(tmp_path))
    tilde = "~/vaults/mamujoco/2halfcheetah.vlt/Good"
    assert_same(load_vault(tilde), data)
    info = vault_info(tilde)
    assert (info.transitions, info.n_agents, info.obs_dim, info.act_dim, info.state_dim) == (
        12, 2, 13, 3, 17)
    assert info.environment.startswith("HalfCheetah-v2") and "13-d" in info.environment
    assert info.path == path


def test_our_vault_has_og_marl_leaf_names_shapes_and_dtypes(tmp_path: Path):
    path = write_vault(tmp_path / "2halfcheetah.vlt" / "Good", make_transitions([4]))
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["structure_shape"] == {
        "observations": "(1, 4, 2, 12)", "actions": "(1, 4, 2, 3)", "rewards": "(1, 4, 2)",
        "terminals": "(1, 4, 2)", "truncations": "(1, 4, 2)",
        "infos": {"legals": "(1, 4, 2, 3)", "state": "(1, 4, 17)"},
    }
    assert set(json.dumps(meta["structure_dtype"]).split('"')) >= {"float32"}
    assert "bool" not in json.dumps(meta["structure_dtype"])
    assert vault_info(path).environment.startswith("HalfCheetah-v5")
    legals = read_raw(path)["infos"]["legals"]
    assert legals.shape == (1, 4, 2, 3) and legals.dtype == np.float32 and np.all(legals == 1)


def read_raw(path: Path) -> dict:
    """Every leaf of a vault, read with flashbax directly (not through the module under test)."""
    import jax
    from flashbax.vault import Vault

    vault = Vault(vault_name=path.parent.name, rel_dir=str(path.parent.parent),
                  vault_uid=path.name)
    return jax.tree_util.tree_map(np.asarray, vault.read().experience)


def test_metadata_and_permissions_of_a_written_vault(tmp_path: Path):
    from verify.halfcheetah.vault import dataset_sha256

    data = make_transitions([2])
    path = write_vault(tmp_path / "2halfcheetah.vlt" / "Good", data,
                       metadata={"provenance": {"config": {"seed": 3}}})
    assert vault_metadata(path) == {"environment": vault_info(path).environment,
                                    "provenance": {"config": {"seed": 3}},
                                    "dataset_sha256": dataset_sha256(data)}
    # no hidden temporary directory is left beside the dataset
    assert [p.name for p in path.parent.iterdir()] == ["Good"]


def test_overwrite_replaces_a_dataset_only_when_asked(tmp_path: Path):
    path = write_vault(tmp_path / "2halfcheetah.vlt" / "Good", make_transitions([2]))
    write_vault(path, make_transitions([3, 3], seed=1), overwrite=True)
    assert_same(load_vault(path), make_transitions([3, 3], seed=1))
    assert [p.name for p in path.parent.iterdir()] == ["Good"]


def test_missing_path_names_the_datasets_that_exist(tmp_path: Path):
    write_vault(tmp_path / "2halfcheetah.vlt" / "Good", make_transitions([2]))
    with pytest.raises(BrudError, match=r"no vault at .*Medium.*datasets in .*: Good"):
        load_vault(tmp_path / "2halfcheetah.vlt" / "Medium")
    with pytest.raises(BrudError, match="is a vault name, not a dataset; add one of: Good"):
        load_vault(tmp_path / "2halfcheetah.vlt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BrudError, match="not a flashbax vault"):
        load_vault(tmp_path / "empty")


def test_wrong_leaf_names_are_reported(tmp_path: Path):
    data = make_transitions([3])
    experience = og_marl_experience(data)
    experience["obs"] = experience.pop("observations")
    path = write_og_marl_style(tmp_path, experience)
    with pytest.raises(BrudError, match=r"missing leaves \['observations'\]"):
        load_vault(path)
    experience = og_marl_experience(data, infos={"legals": data.states[None]})
    path = write_og_marl_style(tmp_path / "b", experience)
    with pytest.raises(BrudError, match="infos leaf has no 'state'"):
        load_vault(path)


def test_wrong_shapes_are_reported(tmp_path: Path):
    data = make_transitions([3])
    three_agents = data.rewards[None, :, :1].repeat(3, axis=2)
    path = write_og_marl_style(tmp_path, og_marl_experience(data, rewards=three_agents))
    with pytest.raises(BrudError, match=r"rewards has shape \(1, 3, 3\), expected \(1, T, N\)"):
        load_vault(path)


def test_data_that_stops_mid_episode_is_reported_as_truncated(tmp_path: Path):
    data = make_transitions([4, 4])
    cut = Transitions(*(x[:6] for x in data))  # a copy that lost its last two steps
    path = write_og_marl_style(tmp_path, og_marl_experience(cut))
    with pytest.raises(BrudError, match="middle of an episode.*truncated"):
        load_vault(path)


def test_damaged_store_is_a_user_error(tmp_path: Path):
    path = write_vault(tmp_path / "2halfcheetah.vlt" / "Good", make_transitions([50]))
    for chunk in (path / "d").iterdir():
        chunk.write_bytes(b"\0" * 8)
    with pytest.raises(BrudError, match=r"Good: cannot (open|read) vault"):
        load_vault(path)
    with pytest.raises(BrudError, match=r"Good: cannot (open|read) vault"):
        vault_info(path)


def test_existing_dataset_is_not_overwritten(tmp_path: Path):
    path = write_vault(tmp_path / "2halfcheetah.vlt" / "Good", make_transitions([2]))
    with pytest.raises(BrudError, match="already exists"):
        write_vault(path, make_transitions([3]))
    assert len(episode_starts(load_vault(path))) == 1


def test_interrupted_write_leaves_nothing_that_looks_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from flashbax.vault import Vault

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Vault, "write", interrupted)
    target = tmp_path / "2halfcheetah.vlt" / "Good"
    with pytest.raises(KeyboardInterrupt):
        write_vault(target, make_transitions([2]))
    assert not target.exists()
    assert list((tmp_path / "2halfcheetah.vlt").iterdir()) == []


def test_inconsistent_transitions_are_refused(tmp_path: Path):
    data = make_transitions([3])
    with pytest.raises(BrudError, match="transitions.states has leading shape"):
        write_vault(tmp_path / "v.vlt" / "x", data._replace(states=data.states[:2]))
    assert not (tmp_path / "v.vlt" / "x").exists()


def test_combine_is_the_concatenation_of_the_sources_with_every_leaf(tmp_path: Path):
    root = tmp_path / "2halfcheetah.vlt"
    good = write_vault(root / "Good", make_transitions([3, 2], seed=1),
                       metadata={"provenance": {"config": {"dataset": "Good"}}})
    medium = write_vault(root / "Medium", make_transitions([4], seed=2))
    both = combine_vaults([good, medium], root / "GoodMedium", metadata={"note": "x"})
    expected = Transitions(*(np.concatenate(pair) for pair in zip(
        make_transitions([3, 2], seed=1), make_transitions([4], seed=2), strict=True)))
    assert_same(load_vault(both), expected)
    raw = read_raw(both)
    assert raw["infos"]["legals"].shape == (1, 9, 2, 3)
    meta = vault_metadata(both)
    assert [s["path"] for s in meta["sources"]] == [str(good), str(medium)]
    assert [s["transitions"] for s in meta["sources"]] == [5, 4]
    assert meta["sources"][0]["provenance"] == {"config": {"dataset": "Good"}}
    assert meta["note"] == "x" and meta["environment"].startswith("HalfCheetah-v5")
    np.testing.assert_array_equal(episode_starts(load_vault(both)), [0, 3, 5])


def test_combine_keeps_og_marl_layout_of_og_marl_sources(tmp_path: Path):
    """OG-MARL's vaults (13-d observations, infos {legals, state}, written by OG-MARL's recorder)
    combine into a vault with exactly their leaves, bit for bit."""
    parts = [make_transitions([3], seed=5, obs_dim=13), make_transitions([2, 2], seed=6,
                                                                         obs_dim=13)]
    paths = []
    for uid, data in zip(("Good", "Medium"), parts, strict=True):
        legals = np.ones((1, len(data.rewards), 2, 3), np.float32)
        exp = og_marl_experience(data, infos={"legals": legals, "state": data.states[None]})
        paths.append(write_og_marl_style(tmp_path, exp, uid=uid))
    out = combine_vaults(paths, paths[0].parent / "GoodMedium")
    raw, sources = read_raw(out), [read_raw(p) for p in paths]
    import jax

    expected = jax.tree_util.tree_map(lambda a, b: np.concatenate([a, b], axis=1), *sources)
    assert jax.tree_util.tree_structure(raw) == jax.tree_util.tree_structure(expected)
    for got, want in zip(jax.tree_util.tree_leaves(raw), jax.tree_util.tree_leaves(expected),
                         strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert vault_info(out).obs_dim == 13
    assert vault_metadata(out)["environment"].startswith("HalfCheetah-v2")


def test_combine_refuses_bad_requests_before_writing(tmp_path: Path):
    root = tmp_path / "2halfcheetah.vlt"
    good = write_vault(root / "Good", make_transitions([2]))
    other = write_vault(root / "Other", make_transitions([2], obs_dim=13))
    with pytest.raises(BrudError, match="at least two datasets"):
        combine_vaults([good], root / "X")
    with pytest.raises(BrudError, match="is one of the datasets being combined"):
        combine_vaults([good, other], good)
    with pytest.raises(BrudError, match="already exists"):
        combine_vaults([good, good], other)
    with pytest.raises(BrudError, match="no vault at"):
        combine_vaults([good, root / "Missing"], root / "X")
    with pytest.raises(BrudError, match="other leaves, shapes or dtypes"):
        combine_vaults([good, other], root / "X")
    assert sorted(p.name for p in root.iterdir()) == ["Good", "Other"]


def test_damaged_metadata_is_a_user_error(tmp_path: Path):
    path = write_vault(tmp_path / "2halfcheetah.vlt" / "Good", make_transitions([5]))
    (path / "metadata.json").write_text("[1, 2]")
    with pytest.raises(BrudError, match="unreadable vault metadata"):
        vault_info(path)
    (path / "metadata.json").write_text('{"structure_shape": ')  # cut short
    with pytest.raises(BrudError, match="unreadable vault metadata"):
        load_vault(path)


def test_dataset_content_hash_is_recorded_combined_and_checked(tmp_path: Path) -> None:
    from verify.halfcheetah.configs import make_config
    from verify.halfcheetah.experiment import train
    from verify.halfcheetah.vault import dataset_sha256, recorded_dataset_sha256

    first, second = make_transitions([5, 7]), make_transitions([6], seed=1)
    a = write_vault(tmp_path / "d.vlt" / "A", first)
    b = write_vault(tmp_path / "d.vlt" / "B", second)
    assert recorded_dataset_sha256(a) == dataset_sha256(load_vault(a)) == dataset_sha256(first)
    assert recorded_dataset_sha256(b) != recorded_dataset_sha256(a)
    ab = combine_vaults([a, b], tmp_path / "d.vlt" / "AB")
    joined = Transitions(*(np.concatenate([x, y]) for x, y in zip(first, second, strict=True)))
    assert recorded_dataset_sha256(ab) == dataset_sha256(joined)
    # one changed reward changes the hash, and training refuses such data before any work
    changed = first._replace(rewards=first.rewards.copy())
    changed.rewards[3, :] += 1e-3
    assert dataset_sha256(changed) != dataset_sha256(first)
    with pytest.raises(BrudError, match="content hash .* differs"):
        train(changed, dataset="A", system="maddpg-cql", config=make_config("cpu", "maddpg-cql"),
              seeds=1, out_dir=tmp_path / "run", recorded_sha256=recorded_dataset_sha256(a))
    assert not (tmp_path / "run").exists()
