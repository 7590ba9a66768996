"""The GPU route for Fig. 6 (scripts/gpu_wheels.{py,sh}, scripts/gpu_fig6.sh,
verify/halfcheetah/gpu_route.py): the wheel list, the planning, the refusals, and (slow) the
whole route at its CPU rehearsal scale."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from brud_analysis.bounded import run_process
from verify.halfcheetah import gpu_route
from verify.halfcheetah.experiment import _comparable, _run_description

ROOT = Path(__file__).parents[1]
spec = importlib.util.spec_from_file_location("gpu_wheels", ROOT / "scripts" / "gpu_wheels.py")
assert spec is not None and spec.loader is not None
wheels = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wheels)


def test_the_wheels_are_the_locks_versions_and_none_is_in_the_image() -> None:
    pins = wheels.lock_pins((ROOT / "requirements.lock").read_text())
    required = wheels.wheel_requirements()
    assert [r.split("==")[0] for r in required] == wheels._all_wheels()
    for requirement in required:
        name, version = requirement.split("==")
        assert pins[name] == version
    assert not set(wheels.WHEELS) & wheels.IMAGE
    assert set(wheels.MAJOR_PINNED) <= wheels.IMAGE  # replaced only when the major differs
    assert {"mujoco", "gymnasium-robotics", "flashbax", "rliable"} <= set(wheels.WHEELS)


def test_lock_markers_are_read_for_the_requested_python() -> None:
    text = ("numpy==2.4.6 ; python_full_version < '3.12' \\\n"
            "numpy==2.5.5 ; python_full_version >= '3.12' \\\n"
            "uvloop==0.23.0 ; sys_platform != 'win32' \\\n"
            "colorama==0.4.6 ; sys_platform == 'win32' \\\n")
    assert wheels.lock_pins(text) == {"numpy": "2.5.5", "uvloop": "0.23.0"}
    assert wheels.lock_pins(text, python="3.11")["numpy"] == "2.4.6"
    with pytest.raises(ValueError, match="unsupported marker"):
        wheels.lock_pins("x==1 ; platform_machine == 'arm64'\n")


def test_only_what_this_python_needs_is_installed(tmp_path: Path) -> None:
    for name in ("mujoco-4.0.0-py3-none-any.whl", "pandas-2.3.3-cp312-cp312-x.whl",
                 "pytz-2026.6-py2.py3-none-any.whl", "tzdata-2026.6-py2.py3-none-any.whl",
                 "gymnasium_robotics-1.4.2-py3-none-any.whl"):
        (tmp_path / name).write_bytes(b"")
    image = {"pandas": "3.1.1", "mujoco": None, "gymnasium-robotics": None}
    found = wheels.missing_wheels(tmp_path, version=lambda n: image.get(n, "1.0"))
    assert sorted(p.name.split("-")[0] for p in found) == [
        "gymnasium_robotics", "mujoco", "pandas", "pytz", "tzdata"]
    # the lock's major version of pandas is kept; an absent wheel is named
    assert wheels.needed(lambda n: {"pandas": "2.2.0"}.get(n, "1.0")) == []
    with pytest.raises(FileNotFoundError, match="flashbax"):
        wheels.missing_wheels(tmp_path, version=lambda n: None if n == "flashbax" else "2.0")


def test_the_size_check_fails_over_the_limit(tmp_path: Path, capsys) -> None:
    with open(tmp_path / "big-1.0-py3-none-any.whl", "wb") as f:
        f.truncate(3 * 2**20)
    assert wheels.main(["size", str(tmp_path), "4"]) == 0
    assert wheels.main(["size", str(tmp_path), "2"]) == 1
    assert "over the 2 MiB" in capsys.readouterr().err
    assert wheels.main(["frobnicate"]) == 2


def test_slimming_leaves_out_only_the_unused_folders_and_their_record_lines(
        tmp_path: Path) -> None:
    import zipfile

    wheel = tmp_path / "gymnasium_robotics-1.4.2-py3-none-any.whl"
    kept = ["gymnasium_robotics/__init__.py", "gymnasium_robotics/envs/assets/stls/a.stl"]
    dropped = "gymnasium_robotics/envs/assets/adroit_hand/hand.xml"
    record = "gymnasium_robotics-1.4.2.dist-info/RECORD"
    with zipfile.ZipFile(wheel, "w") as z:
        for name in [*kept, dropped]:
            z.writestr(name, "x")
        z.writestr(record, "".join(f"{n},sha256=abc,1\n" for n in [*kept, dropped]))
    assert wheels.slim(wheel) == 1 and wheels.slim(wheel) == 0
    with zipfile.ZipFile(wheel) as z:
        assert sorted(z.namelist()) == sorted([*kept, record])
        assert dropped not in z.read(record).decode() and kept[1] in z.read(record).decode()


def test_a_traced_import_outside_the_image_and_the_wheels_is_reported(tmp_path: Path) -> None:
    assert wheels.unexplained(["numpy", "Farama_Notifications", "cffi", "brud-analysis"]) == []
    trace = tmp_path / "route.json"
    trace.write_text(json.dumps({"imported_distributions": ["numpy", "newthing"]}))
    assert wheels.main(["check", str(trace)]) == 1


def test_the_examples_in_the_docstrings_hold() -> None:
    import doctest

    # (gpu_route's own examples run in tests/test_docstring_examples.py)
    result = doctest.testmod(wheels, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 5


@pytest.mark.parametrize("seed", range(20))
def test_the_plan_is_the_largest_chunk_multiple_that_fits(seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    rates = {"a": float(rng.uniform(1, 500)), "b": float(rng.uniform(1, 500))}
    done = {"a": int(rng.integers(0, 3)) * 100, "b": 0}
    seconds, chunk = float(rng.uniform(0, 600)), 100

    def need(target: int) -> float:
        return sum(max(0, target - done.get(s, 0)) / r for s, r in rates.items())

    got = gpu_route.plan_updates(rates, seconds, chunk, done, margin=0.9)
    assert got % chunk == 0
    assert need(got) <= 0.9 * seconds and need(got + chunk) > 0.9 * seconds
    assert gpu_route.plan_updates(rates, seconds, chunk, done, max_updates=200) <= 200


def test_arms_of_a_plan_resume_and_extend_each_other() -> None:
    # train() resumes only a run whose description equals the checkpoint's but for `updates`
    short = gpu_route.route_config(gpu_route.GPU, "maddpg-cql-pjap", 5000, 2000)
    long = gpu_route.route_config(gpu_route.GPU, "maddpg-cql-pjap", 9000, 2000)
    describe = [_comparable(_run_description(c, "maddpg-cql-pjap", "Good", 5, 0, "h", 5))
                for c in (short, long)]
    assert describe[0] == describe[1]
    assert (short.chunk, short.checkpoint_every, short.final_episodes) == (1000, 1000, 40)


def _script(*args: str, env: dict | None = None, timeout: float = 60):
    # timeout: CPU seconds of the script's process tree (a busy machine only makes it wait)
    return run_process(["bash", str(ROOT / "scripts" / "gpu_fig6.sh"), *args], cpu_limit=timeout,
                       env={**os.environ, "PYTHON": sys.executable, **(env or {})})


def test_the_scripts_parse_and_refuse_bad_use(tmp_path: Path) -> None:
    for script in ("gpu_fig6.sh", "gpu_wheels.sh"):
        subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], check=True)
    bad = _script("--bogus")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--bogus" in bad.stderr
    bad = _script(str(tmp_path), env={"BUDGET_S": "soon"})
    assert bad.returncode == 2 and "BUDGET_S" in bad.stderr
    assert _script(str(tmp_path / "a"), str(tmp_path / "b")).returncode == 2


def test_the_route_refuses_a_cpu_backend_unless_told(tmp_path: Path, capsys) -> None:
    code = gpu_route.main(["run", "--out", str(tmp_path / "out"), "--work", str(tmp_path)])
    assert code == 2
    assert "not 'gpu' (pass --cpu" in capsys.readouterr().err


@pytest.mark.slow
def test_the_tiny_route_runs_end_to_end_and_imports_only_the_image_and_the_wheels(
        tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    env = {"WORK": str(work), "BUDGET_S": "1800", "WHEELS": str(tmp_path / "none")}
    done = _script("--cpu", "--tiny", str(out), env=env, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert len(files) <= 8 and all(len(p.parts) <= 3 for p in files)  # what the device returns
    assert {str(p) for p in files} == {"Good/maddpg-cql/result.json", "route.json", "log.txt",
                                       "Good/maddpg-cql-pjap/result.json", "summary.json",
                                       "fig6.md", "state.tgz"}
    summary = json.loads((out / "summary.json").read_text())
    arms = summary["datasets"]["Good"]["systems"]
    assert {s["updates"] for s in arms.values()} == {100} and set(arms) == set(
        gpu_route.SYSTEMS)
    route = json.loads((out / "route.json").read_text())
    assert wheels.unexplained(route["imported_distributions"]) == []
    assert "| Good | maddpg-cql-pjap | 2 x 100 |" in (out / "fig6.md").read_text()
    assert "| Good | maddpg-cql-pjap | 2 x 100 |" in done.stdout  # printed too
    # a call on a "fresh machine" (empty WORK) with the state brought back continues from the
    # plan and the finished runs instead of starting over
    env = {**env, "WORK": str(tmp_path / "fresh"), "STATE": str(out / "state.tgz")}
    again = _script("--cpu", "--tiny", str(tmp_path / "out2"), env=env, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "continuing from" in again.stdout and "measure done (0 s)" in again.stdout
    # and here the files brought back become a summary that paper-checks reads
    assert gpu_route.main(["collect", str(out), "--results", str(tmp_path / "res")]) == 0
    assert "Good" in json.loads((tmp_path / "res" / "summary.json").read_text())["datasets"]
