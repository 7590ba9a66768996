"""End-to-end runs: CLI train + report on a tiny vault, checkpoints, resume, Ctrl-C."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_halfcheetah_learner import synthetic_transitions

from brud_analysis.bounded import run_process
from brud_analysis.cli import main
from brud_analysis.errors import BrudError
from verify.halfcheetah import configs
from verify.halfcheetah.configs import PAPER_PJAP, ExperimentConfig
from verify.halfcheetah.experiment import CHECKPOINT, train
from verify.halfcheetah.learner import LearnerConfig
from verify.halfcheetah.vault import write_vault

# Feedforward keeps compilation short; the recurrent update is covered in test_halfcheetah_learner.
TINY_LEARNER = LearnerConfig(recurrent=False, policy_hidden=8, critic_hidden=(8, 8),
                             batch_sequences=4, sequence_length=3, ood_per_kind=2)
TINY = ExperimentConfig(name="tiny", learner=TINY_LEARNER, updates=12, chunk=3, eval_every=6,
                        eval_episodes=1, final_episodes=1, checkpoint_every=6)
TINY_PJAP = ExperimentConfig(
    **{**TINY.__dict__,
       "learner": LearnerConfig(**{**TINY_LEARNER.__dict__,
                                   # as the cpu config's, so the CLI test reuses the compilation
                                   "pjap": replace(PAPER_PJAP, refresh=256)})}
)


class ParamEvaluator:
    """A stand-in for MaMuJoCo: a deterministic function of the policy parameters, so equal
    returns mean equal policies; optionally raises KeyboardInterrupt on call ``interrupt_on``,
    or sends this process SIGTERM on call ``terminate_on`` (as `timeout` or SLURM would)."""

    def __init__(self, interrupt_on: int | None = None, terminate_on: int | None = None):
        self.calls = 0
        self.interrupt_on = interrupt_on
        self.terminate_on = terminate_on

    def returns(self, params, episodes: int, seed: int) -> np.ndarray:
        self.calls += 1
        if self.calls == self.interrupt_on:
            raise KeyboardInterrupt
        if self.calls == self.terminate_on:
            os.kill(os.getpid(), signal.SIGTERM)
        leaves = [np.asarray(x).reshape(x.shape[0], -1) for x in jax.tree_util.tree_leaves(params)]
        per_seed = np.concatenate(leaves, axis=1).sum(axis=1)
        return np.repeat(per_seed[:, None], episodes, axis=1) + seed


def _run(out: Path, **kwargs) -> dict:
    return train(synthetic_transitions(), dataset="Syn", system="maddpg-cql-pjap",
                 config=TINY_PJAP, seeds=2, out_dir=out, progress=False, **kwargs)


def _assert_same_run(a: Path, b: Path) -> None:
    ra, rb = (json.loads((d / "result.json").read_text()) for d in (a, b))
    for key in ("history", "final_returns", "final_normalised"):
        assert ra[key] == rb[key], key
    _assert_same_state(a, b)


def _assert_same_state(a: Path, b: Path) -> None:
    with np.load(a / CHECKPOINT) as xa, np.load(b / CHECKPOINT) as xb:
        leaves = [k for k in xa.files if k != "__document__"]
        assert leaves and leaves == [k for k in xb.files if k != "__document__"]
        # leaves are stored by pytree path, e.g. .policy['...']
        assert any(k.startswith(".policy") for k in leaves)
        for k in leaves:  # bit-for-bit: every parameter, optimiser moment, priority and key
            np.testing.assert_array_equal(xa[k], xb[k], err_msg=k)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("full") / "run"
    result = _run(out, evaluator=ParamEvaluator())
    assert result["finished"] and result["updates"] == 12
    return out


def test_resume_equals_uninterrupted(uninterrupted: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    partial = _run(out, evaluator=ParamEvaluator(), stop_after=6)
    assert partial["finished"] is False and partial["step"] == 6
    assert not (out / "result.json").exists()
    _run(out, evaluator=ParamEvaluator(), resume=True)
    _assert_same_run(uninterrupted, out)


@pytest.mark.parametrize(("interrupt_on", "saved_step"), [(1, 3), (3, 12)])
def test_ctrl_c_saves_a_checkpoint_that_resumes_identically(
    uninterrupted: Path, tmp_path: Path, interrupt_on: int, saved_step: int
) -> None:
    # Evaluation 1 follows the chunk ending at update 6: interrupting it must keep the state
    # of update 3 (the chunk is not committed). Calls 3-4 (one per seed group of 1) are the
    # final evaluation, after update 12.
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _run(out, evaluator=ParamEvaluator(interrupt_on=interrupt_on))
    state_doc = json.loads(np.load(out / CHECKPOINT)["__document__"].tobytes().decode())
    assert state_doc["step"] == saved_step
    _run(out, evaluator=ParamEvaluator(), resume=True)
    _assert_same_run(uninterrupted, out)


def test_sigterm_saves_a_checkpoint_like_ctrl_c(uninterrupted: Path, tmp_path: Path) -> None:
    # Issue 26 item 3: SIGTERM at the first evaluation (after update 6) must leave the
    # checkpoint of update 3, as Ctrl-C does, and the resumed run must equal the uninterrupted
    # one. A handler of our own stands in for the default action (which would kill pytest):
    # without train's SIGTERM handling it would swallow the signal and the run would finish.
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        out = tmp_path / "run"
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            _run(out, evaluator=ParamEvaluator(terminate_on=1))
        assert received == []  # train's handler took it
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # ours is back
        state_doc = json.loads(np.load(out / CHECKPOINT)["__document__"].tobytes().decode())
        assert state_doc["step"] == 3 and not (out / "result.json").exists()
    finally:
        signal.signal(signal.SIGTERM, previous)
    _run(out, evaluator=ParamEvaluator(), resume=True)
    _assert_same_run(uninterrupted, out)


def test_seed_groups_must_tile_the_seeds_and_are_never_pooled_across(
    uninterrupted: Path, tmp_path: Path
) -> None:
    with pytest.raises(BrudError, match="--seed-group 2 must divide"):
        train(synthetic_transitions(), dataset="Syn", system="maddpg-cql-pjap",
              config=TINY_PJAP, seeds=3, seed_group=2, out_dir=tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()
    from verify.halfcheetah.run_statistics import merge_runs

    single = json.loads((uninterrupted / "result.json").read_text())
    other = {**single, "first_seed": 2, "seed_group": 2}
    with pytest.raises(BrudError, match="differ in seed_group"):
        merge_runs([single, other])


def test_existing_run_needs_resume_and_must_match(uninterrupted: Path, tmp_path: Path) -> None:
    with pytest.raises(BrudError, match="--resume"):
        _run(uninterrupted, evaluator=ParamEvaluator())
    out = tmp_path / "run"
    _run(out, evaluator=ParamEvaluator(), stop_after=3)
    with pytest.raises(BrudError, match="different run"):
        train(synthetic_transitions(), dataset="Syn", system="maddpg-cql-pjap",
              config=TINY_PJAP, seeds=3, out_dir=out, progress=False, resume=True,
              evaluator=ParamEvaluator())


def test_resume_with_nothing_to_resume_and_corrupt_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(BrudError, match="nothing to resume"):
        _run(tmp_path / "empty", evaluator=ParamEvaluator(), resume=True)
    out = tmp_path / "run"
    _run(out, evaluator=ParamEvaluator(), stop_after=3)
    data = (out / CHECKPOINT).read_bytes()
    (out / CHECKPOINT).write_bytes(data[: len(data) // 2])  # truncated, as by a full disk
    with pytest.raises(BrudError, match="truncated or corrupt"):
        _run(out, evaluator=ParamEvaluator(), resume=True)


def test_the_seeds_init_is_the_learners_init_for_any_dataset_size(uninterrupted: Path) -> None:
    # chunk_runner compiles the init without the dataset's size (runs on other data share it)
    # and sets the sampler apart: the states must be what the learner's init(key, n_items)
    # gives, for every size (the fixture compiled this init: nothing new to compile here)
    from verify.halfcheetah.experiment import chunk_runner
    from verify.halfcheetah.learner import make_learner
    from verify.sampling import init_sampler

    init, _ = chunk_runner(TINY_PJAP.learner, 12, 3, 2, 17)
    learner_init, _ = make_learner(TINY_PJAP.learner, 12, 3, 2, 17)
    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(1))
    small, large = init(keys, 5), init(keys, 9)
    for n, states in ((5, small), (9, large)):
        expected = jax.eval_shape(
            lambda k, n=n: jax.lax.map(functools.partial(learner_init, n_items=n), k), keys)
        assert jax.tree_util.tree_structure(states) == jax.tree_util.tree_structure(expected)
        assert [(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(states)] == [
            (x.shape, x.dtype) for x in jax.tree_util.tree_leaves(expected)]
        np.testing.assert_array_equal(states.sampler.priorities[0],
                                      init_sampler(n).priorities)
    # the values, against the learner's own init at one size (both shapes share every value
    # but the sampler's, which is checked above for each)
    own = jax.jit(lambda k: jax.lax.map(functools.partial(learner_init, n_items=5), k))(keys)
    for state in (small, large):
        for a, b in zip(jax.tree_util.tree_leaves(state._replace(sampler=None)),
                        jax.tree_util.tree_leaves(own._replace(sampler=None)), strict=True):
            np.testing.assert_array_equal(a, b)


def test_checkpoint_of_another_learner_names_the_leaf(tmp_path: Path) -> None:
    from verify.halfcheetah.checkpoint import load_checkpoint, save_checkpoint
    from verify.halfcheetah.learner import make_learner

    def state_of(config: LearnerConfig):
        # the learner state's pytree (leaf paths, shapes, dtypes) with zeros as values: the
        # check compares leaves by name, shape and dtype; tracing init compiles nothing
        init, _ = make_learner(config, 12, 3, 2, 17)
        shapes = jax.eval_shape(lambda key: init(key, 10), jax.random.PRNGKey(0))
        return jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes)

    bigger = replace(TINY_LEARNER, critic_hidden=(8, 16))
    path = save_checkpoint(tmp_path / "c.npz", state_of(TINY_LEARNER), {})
    with pytest.raises(BrudError, match=r"\.critic\["):
        load_checkpoint(path, state_of(bigger))
    loaded, _ = load_checkpoint(path, state_of(TINY_LEARNER))  # its own learner loads
    assert jax.tree_util.tree_structure(loaded) == jax.tree_util.tree_structure(
        state_of(TINY_LEARNER))


def test_finished_run_extends_to_more_updates(uninterrupted: Path, tmp_path: Path) -> None:
    # 6 updates (finished, final evaluation), then resumed with 12: the learner state equals
    # the 12-update run's bit-for-bit (evaluations never touch it)
    out = tmp_path / "run"
    half = ExperimentConfig(**{**TINY_PJAP.__dict__, "updates": 6})
    first = train(synthetic_transitions(), dataset="Syn", system="maddpg-cql-pjap", config=half,
                  seeds=2, out_dir=out, progress=False, evaluator=ParamEvaluator())
    assert first["finished"] and first["updates"] == 6
    again = train(synthetic_transitions(), dataset="Syn", system="maddpg-cql-pjap",
                  config=half, seeds=2, out_dir=out, progress=False, resume=True,
                  evaluator=ParamEvaluator())
    assert again["updates"] == 6  # nothing more to do: the stored result
    longer = _run(out, evaluator=ParamEvaluator(), resume=True)
    assert longer["updates"] == 12 and longer["history"]["steps"][-1] == 12
    _assert_same_state(uninterrupted, out)


def test_more_seeds_in_a_second_run_pool_like_one_run(uninterrupted: Path,
                                                      tmp_path: Path) -> None:
    """Seed 1 trained alone (--first-seed 1) is seed 1 of the two-seed run; pooled with seed 0
    trained alone, the report sees the two-seed run, bit for bit: seeds run in groups of a fixed
    size (1 by default), so a seed's arithmetic does not depend on the run it is in."""
    from verify.halfcheetah.run_statistics import load_results, merge_runs

    for first in (0, 1):
        _run_one = train(synthetic_transitions(), dataset="Syn", system="maddpg-cql-pjap",
                         config=TINY_PJAP, seeds=1, first_seed=first,
                         out_dir=tmp_path / f"seed{first}", progress=False,
                         evaluator=ParamEvaluator())
        assert _run_one["first_seed"] == first
    pooled = merge_runs(load_results([tmp_path / "seed0", tmp_path / "seed1"]))
    both = json.loads((uninterrupted / "result.json").read_text())
    assert pooled["seeds"] == 2 and pooled["seed_keys"] == [0, 1]
    assert pooled["final_returns"] == both["final_returns"]
    for name in ("batch_distance", "q_data", "policy_distance", "brud_alignment"):
        assert pooled["history"][name] == both["history"][name], name
    with pytest.raises(BrudError, match="share seeds"):
        merge_runs(load_results([tmp_path / "seed0", uninterrupted]))
    longer = json.loads((tmp_path / "seed1" / "result.json").read_text())
    longer["updates"] += 1
    with pytest.raises(BrudError, match="differ in updates"):
        merge_runs([json.loads((tmp_path / "seed0" / "result.json").read_text()), longer])


def test_observation_mismatch_refused_before_training_or_trained_without_eval(
    tmp_path: Path
) -> None:
    # An OG-MARL vault of HalfCheetah-v2 has 13-d observations; the installed env gives 12
    base = synthetic_transitions()
    og = base._replace(observations=np.concatenate(
        [base.observations, np.zeros(base.observations.shape[:-1] + (1,), np.float32)], -1))
    with pytest.raises(BrudError, match="--no-eval"):
        train(og, dataset="OG", system="maddpg-cql-pjap", config=TINY_PJAP, seeds=1,
              out_dir=tmp_path / "refused", progress=False)
    assert not (tmp_path / "refused").exists()  # refused before any work
    result = train(og, dataset="OG", system="maddpg-cql-pjap", config=TINY_PJAP, seeds=1,
                   out_dir=tmp_path / "offline", progress=False, no_eval=True)
    assert result["finished"] and result["evaluated"] is False
    assert result["final_returns"] is None and len(result["history"]["batch_distance"]) == 4
    assert result["history"]["eval_steps"] == []
    assert "config" in result["provenance"] and result["provenance"]["config"]["no_eval"]
    assert result["data_value"]["polyak_time_constant_updates"] == pytest.approx(20000.0)


def test_cli_system_choices_match_the_configurations() -> None:
    from brud_analysis.cli import halfcheetah_experiment as experiment_commands

    assert experiment_commands.SYSTEMS == configs.SYSTEMS


SYSTEMS = ("maddpg-cql", "maddpg-cql-pjap", "maddpg-cql-bc", "maddpg-cql-bc-pjap")


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory) -> dict:
    """The real command path (vault on disk, MaMuJoCo evaluation, rliable report), with the cpu
    configuration shrunk so it takes seconds: `brud halfcheetah train --json` for each system,
    then `brud halfcheetah report --json`. Run once for the module; the end-to-end checks and
    the JSON-vocabulary check read its outputs (each system's learner compiled once)."""
    tmp_path = tmp_path_factory.mktemp("cli")
    tiny_cpu = ExperimentConfig(**{**TINY.__dict__, "name": "cpu", "updates": 6})
    outputs: dict = {"train": {}}
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setitem(configs._BASE, "cpu", tiny_cpu)
        vault = write_vault(tmp_path / "2halfcheetah.vlt" / "Tiny", synthetic_transitions())
        runs = tmp_path / "runs"
        for system in SYSTEMS:
            outputs["train"][system] = _main_json(
                ["halfcheetah", "train", "--dataset", str(vault), "--system", system,
                 "--config", "cpu", "--seeds", "2", "--out", str(runs), "--no-progress",
                 "--json"])
        outputs["report"] = _main_json(["halfcheetah", "report", str(runs), "--out",
                                        str(tmp_path / "fig"), "--reps", "200", "--json"])
    return outputs


def _main_json(argv: list[str]) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    assert code == 0, argv
    return json.loads(out.getvalue())


def test_cli_train_and_report_end_to_end(cli_runs: dict) -> None:
    for system in SYSTEMS:
        result = cli_runs["train"][system]
        assert result["system"] == system and result["updates"] == 6 and result["seeds"] == 2
        assert len(result["final_returns"]) == 2
        # a random-ish policy on the real HalfCheetah: finite, and far from the synthetic
        # dataset's return scale is fine; what matters is that 1000 real steps were played
        assert all(np.isfinite(result["final_returns"]))
    summary = cli_runs["report"]
    entry = summary["datasets"]["Tiny"]
    for system in SYSTEMS:
        for agg in ("median", "iqm", "mean"):
            low, high = entry["systems"][system][agg]["ci"]
            assert low <= entry["systems"][system][agg]["estimate"] <= high
    assert 0.0 <= entry["probability_of_improvement"]["pjap_over_baseline"]["estimate"] <= 1.0
    assert 0.0 <= entry["probability_of_improvement"]["bc_pjap_over_bc"]["estimate"] <= 1.0
    assert "not the paper" in entry["systems"]["maddpg-cql-bc-pjap"]["deviation"]
    assert summary["provenance"]["config"]["reps"] == 200
    assert "D4RL-style" in summary["normalisation"]
    png = Path(summary["figure"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_train_and_report_speak_the_json_vocabulary(cli_runs: dict) -> None:
    # (tests/test_json_vocabulary.py checks the other halfcheetah commands' --json)
    import re

    from test_json_vocabulary import violations

    found = [f for system in SYSTEMS for f in violations(cli_runs["train"][system])]
    found += violations(cli_runs["report"])
    distinct = sorted({re.sub(r"\[\d+\]", "[]", f) for f in found})
    assert distinct == [], "\n".join(distinct)


def test_bad_user_input_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    code = main(["halfcheetah", "train", "--dataset", str(tmp_path / "missing.vlt" / "X"),
                 "--system", "maddpg-cql", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "brud: error:" in capsys.readouterr().err
    assert main(["halfcheetah", "report", str(tmp_path), "--out", str(tmp_path / "f")]) == 2
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "result.json").write_text('{"dataset": "Go')  # truncated
    capsys.readouterr()
    assert main(["halfcheetah", "report", str(tmp_path / "r"), "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "truncated or corrupt" in err
    # --resume with nothing to resume: one line, before loading the vault
    assert main(["halfcheetah", "train", "--dataset", str(tmp_path / "missing.vlt" / "X"),
                 "--system", "maddpg-cql-bc", "--out", str(tmp_path / "o"), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    # an output path that cannot be written is refused first
    (tmp_path / "file").write_text("")
    assert main(["halfcheetah", "train", "--dataset", str(tmp_path / "missing.vlt" / "X"),
                 "--system", "maddpg-cql", "--out", str(tmp_path / "file" / "o")]) == 2
    assert "not a directory" in capsys.readouterr().err
    # flags that do not apply to a system
    assert main(["halfcheetah", "train", "--dataset", "x", "--system", "maddpg-cql",
                 "--bc-weight", "2", "--out", str(tmp_path / "o")]) == 2


def test_seeds_sharded_across_two_devices_train_like_one_device(
    uninterrupted: Path, tmp_path: Path
) -> None:
    # Two virtual CPU devices (XLA's host-platform flag, set before JAX starts, hence a fresh
    # process) exercise the seed sharding that a multi-GPU machine uses; each seed's numbers
    # must match the single-device run.
    out = tmp_path / "run"
    script = (
        "import jax, sys, json\n"
        "assert len(jax.devices()) == 2, jax.devices()\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pathlib import Path\n"
        "from test_halfcheetah_experiment import ParamEvaluator, _run\n"
        "from verify.halfcheetah.experiment import _place_seeds\n"
        "import jax.numpy as jnp\n"
        "print(json.dumps(len(_place_seeds(jnp.zeros((2, 3)), 2).sharding.device_set)))\n"
        f"_run(Path({str(out)!r}), evaluator=ParamEvaluator(), seed_group=2)\n"
    )
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    # CPU seconds, not wall time: on a busy machine this run once took over 600 s of wall
    done = run_process([sys.executable, "-c", script], cpu_limit=600, env=env,
                       cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "2"  # the seed axis really is split
    sharded = json.loads((out / "result.json").read_text())
    single = json.loads((uninterrupted / "result.json").read_text())
    assert len(sharded["devices"]) == 2
    # Same per-seed programme on another partitioning: XLA may reassociate float32 sums, so
    # allow a few float32 ulps of relative error rather than bit equality.
    np.testing.assert_allclose(sharded["final_returns"], single["final_returns"], rtol=1e-5)
