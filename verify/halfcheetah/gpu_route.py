"""Fig. 6 on a GPU in one command: record the data there, measure, size, train both arms.

``run`` (called by ``scripts/gpu_fig6.sh``) does, within a wall-clock budget counted from the
shell's start (``GPU_FIG6_START``, so that the wheel install counts too):

1. records 100-episode Good / Medium / GoodMedium vaults into ``WORK/data`` unless present;
2. warm-up: trains each system of the paper's pair for two chunks in a throw-away directory
   (the first chunk compiles; the second gives the updates/s that ``train`` measures), and times
   one evaluation episode per seed;
3. plans the update count: the largest multiple of the chunk such that both arms, their
   intermediate evaluations, their final evaluations and a reserve for the report fit in what
   is left of the budget (:func:`plan_updates`), and writes the plan to ``WORK/plan.json``;
4. trains the arms one after the other in ``WORK/runs/<dataset>/<system>`` (checkpoints every
   chunk, and on SIGTERM; a stopped run continues when the same command runs again, with the
   same plan; a finished pair is *extended* by a later call that has time left);
5. writes into ``OUT`` (at most 8 files, at most 2 folders down, as the device tool brings back):
   ``<dataset>/<system>/result.json`` of each finished run, ``summary.json`` and ``fig6.md``
   (the Fig. 6 table) once both arms of a dataset have finished with the same updates, and
   ``route.json`` (the plan, the measured rates, the timings, the devices and every
   distribution the run imported: what ``scripts/gpu_wheels.py check`` reads).

``collect OUT... --results DIR`` (here, on the files brought back) copies the runs into
``DIR/runs/<dataset>/<system>/result.json`` and writes ``DIR/summary.json`` and the figures, which
``brud paper-checks --halfcheetah-results DIR/summary.json`` (``make paper
HALFCHEETAH_RESULTS=DIR/summary.json``) judges.

``--tiny`` is the same route at a scale that finishes on a 2-core CPU in a few minutes
(``cpu`` configuration, 2-episode datasets, 2 seeds, at most 100 updates); ``--cpu`` allows a
backend other than the GPU.

Example::

    GPU_FIG6_START=$(date +%s) python -m verify.halfcheetah.gpu_route run --out out \\
        --work runs/gpu_fig6 --budget 540
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brud_analysis.errors import BrudError

if TYPE_CHECKING:
    from verify.halfcheetah.configs import ExperimentConfig

VAULT = "2halfcheetah.vlt"
SYSTEMS = ("maddpg-cql", "maddpg-cql-pjap")


@dataclass(frozen=True)
class Scale:
    """What differs between the GPU route and its CPU rehearsal (``--tiny``).

    Example:
        >>> GPU.config, TINY.config
        ('paper', 'cpu')
    """

    config: str
    episodes: int  # per behaviour policy, when recording
    seeds: int
    chunk: int | None  # None: the configuration's
    eval_episodes: int | None
    final_episodes: int | None
    evals: int  # evaluations per run, the final one included
    reserve_s: float  # kept for the summary and the output files
    overhead_s: float  # per train() call: setup, probe, evaluator compilation
    max_updates: int


GPU = Scale("paper", 100, 5, None, None, None, 4, 45.0, 15.0, 500_000)
TINY = Scale("cpu", 2, 2, 20, 1, 1, 2, 15.0, 10.0, 100)


def plan_updates(rates: dict[str, float], seconds: float, chunk: int,
                 done: dict[str, int] | None = None, margin: float = 0.85,
                 max_updates: int = 10**9) -> int:
    """The largest multiple of ``chunk`` (at most ``max_updates``) that every system can reach
    from the updates it has ``done`` in ``margin * seconds`` at the measured ``rates``
    (updates/s); 0 when not even one chunk fits.

    Example:
        >>> plan_updates({"a": 100.0, "b": 50.0}, seconds=90, chunk=10, margin=1.0)
        3000
        >>> plan_updates({"a": 100.0, "b": 50.0}, 90, 10, done={"a": 3000, "b": 0}, margin=1.0)
        4000
        >>> plan_updates({"a": 1.0}, seconds=5, chunk=10)
        0
    """
    done = done or {}
    budget = margin * seconds
    lo, hi = 0, max_updates // chunk
    while lo < hi:  # the time needed grows with the target: bisect on the number of chunks
        mid = (lo + hi + 1) // 2
        need = sum(max(0, mid * chunk - done.get(s, 0)) / r for s, r in rates.items())
        lo, hi = (mid, hi) if need <= budget else (lo, mid - 1)
    return lo * chunk


def route_config(scale: Scale, system: str, updates: int, eval_every: int) -> ExperimentConfig:
    """The configuration of one arm: the scale's named configuration with its chunk, evaluation
    episodes, evaluation period and a checkpoint every chunk.

    Example:
        >>> c = route_config(TINY, "maddpg-cql-pjap", 100, 60)
        >>> c.chunk, c.eval_every, c.checkpoint_every, c.final_episodes, c.updates
        (20, 60, 20, 1, 100)
    """
    from verify.halfcheetah.configs import make_config

    config = make_config(scale.config, system)
    chunk = scale.chunk or config.chunk
    return replace(config, updates=updates, chunk=chunk, eval_every=eval_every,
                   checkpoint_every=chunk,
                   eval_episodes=scale.eval_episodes or config.eval_episodes,
                   final_episodes=scale.final_episodes or config.final_episodes)


def imported_distributions() -> list[str]:
    """Installed distributions that provide a top-level module imported in this process.

    Example:
        >>> import numpy
        >>> "numpy" in imported_distributions()
        True
    """
    from importlib.metadata import packages_distributions

    provided = packages_distributions()
    tops = {name.split(".")[0] for name in list(sys.modules)}
    return sorted({d for top in tops for d in provided.get(top, [])})


def _step(run_dir: Path) -> int:
    from verify.halfcheetah.checkpoint import load_document

    path = run_dir / "checkpoint.npz"
    return int(load_document(path)["step"]) if path.exists() else 0


def _measure(scale: Scale, transitions: Any, work: Path, seeds: int) -> dict[str, Any]:
    """Updates/s of each system (two chunks: compile, then timed) and seconds per evaluation
    episode and seed."""
    import jax

    from verify.halfcheetah.evaluate import Evaluator
    from verify.halfcheetah.experiment import chunk_runner, train
    from verify.halfcheetah.learner import policy_network

    rates, warm = {}, {}
    for system in SYSTEMS:
        config = route_config(scale, system, 0, 1)
        config = replace(config, updates=2 * config.chunk, eval_every=2 * config.chunk)
        tick = time.monotonic()
        result = train(transitions, dataset="warmup", system=system, config=config, seeds=seeds,
                       seed_group=seeds, out_dir=work / "warmup" / system, progress=False,
                       no_eval=True)
        warm[system] = time.monotonic() - tick
        rates[system] = float(result["updates_per_second"])
    shutil.rmtree(work / "warmup")
    n_agents, obs_dim = transitions.observations.shape[1:]
    act_dim, state_dim = transitions.actions.shape[-1], transitions.states.shape[-1]
    net = policy_network(config.learner, obs_dim, act_dim, n_agents)
    # fresh policies from the learner's init that the warm-up compiled (cached: no compilation;
    # an eager vmap of net.init would compile batched random draws, seconds on a CPU)
    init, _ = chunk_runner(config.learner, obs_dim, act_dim, n_agents, state_dim)
    params = init(jax.random.split(jax.random.PRNGKey(0), seeds), result["n_windows"]).policy
    evaluator = Evaluator(net)
    evaluator.returns(params, 1, seed=0)  # compiles the policy step, makes the environments
    tick = time.monotonic()
    evaluator.returns(params, 1, seed=1)
    episode_s = (time.monotonic() - tick) / seeds
    evaluator.close()
    # what a later process pays before its first update (compilation, set-up), at most
    compile_s = {s: max(0.0, warm[s] - 2 * config.chunk / rates[s]) for s in SYSTEMS}
    return {"updates_per_s": rates, "warmup_wall_s": warm, "compile_s": compile_s,
            "eval_episode_s": episode_s}


def run(args: argparse.Namespace) -> int:
    """The route (module docstring); 0 when every dataset's pair finished and was summarised,
    1 when the budget ran out first (re-run the same command to continue), 3 when the runs
    finished but the summary failed on this machine (``collect`` them here)."""
    import jax

    from brud_analysis.output import provenance, to_jsonable, write_atomic
    from verify.halfcheetah.evidence import fig6_table
    from verify.halfcheetah.experiment import train
    from verify.halfcheetah.run_statistics import load_results, pool_runs, summarise
    from verify.halfcheetah.vault import load_vault, recorded_dataset_sha256

    start = float(os.environ.get("GPU_FIG6_START") or time.time())
    deadline = start + args.budget
    scale = TINY if args.tiny else GPU
    seeds = args.seeds or scale.seeds
    backend = jax.default_backend()
    if backend != "gpu" and not args.cpu:
        raise BrudError(f"JAX's backend is {backend!r}, not 'gpu' (pass --cpu to run anyway)")
    work, out = Path(args.work), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    route: dict[str, Any] = {"backend": backend, "devices": [str(d) for d in jax.devices()],
                             "budget_s": args.budget, "scale": scale.__dict__, "seeds": seeds,
                             "wheels_installed": os.environ.get("GPU_FIG6_WHEELS", "").split(),
                             "phases_s": {}}

    def phase(name: str, since: float) -> None:
        route["phases_s"][name] = round(time.time() - since, 1)
        print(f"[{time.time() - start:6.0f} s] {name} done ({time.time() - since:.0f} s)",
              flush=True)

    tick = time.time()
    route["phases_s"]["before_python"] = round(tick - start, 1)
    data = work / "data"
    if not all((data / VAULT / d).is_dir() for d in args.datasets):
        # The documented user command, in its own process: the route is a script on top of
        # the CLI, and verify/ must not import the CLI layer (tests/test_import_graph.py).
        code = subprocess.run([sys.executable, "-m", "brud_analysis.cli", "halfcheetah", "datasets",
                               "--out", str(data), "--episodes",
                               str(args.episodes or scale.episodes)], check=False).returncode
        if code:
            raise BrudError(f"recording the datasets failed (exit {code})")
    vaults = {d: load_vault(data / VAULT / d) for d in args.datasets}
    hashes = {d: recorded_dataset_sha256(data / VAULT / d) for d in args.datasets}
    route["dataset_sha256"] = hashes
    phase("record", tick)

    tick = time.time()
    plan_path = work / "plan.json"
    plan = json.loads(plan_path.read_text()) if plan_path.exists() else None
    if plan is not None and (plan["seeds"] != seeds or plan["config"] != scale.config):
        raise BrudError(f"{work} holds a plan for other seeds or another configuration; "
                        "use another WORK (or remove it)")
    if plan is not None and plan["dataset_sha256"] != hashes:
        # e.g. state carried from a machine whose CPU recorded other data: start afresh
        aside = work / "discarded" / time.strftime("%Y%m%dT%H%M%S")
        aside.mkdir(parents=True)
        for name in ("plan.json", "runs"):
            if (work / name).exists():
                (work / name).rename(aside / name)
        route["discarded"] = f"{aside}: its plan and runs were trained on other data"
        print(f"the data recorded here differ from the plan's: moved it to {aside}, starting "
              "afresh", flush=True)
        plan = None
    measured = plan is None
    if plan is None:
        plan = {"config": scale.config, "seeds": seeds, "dataset_sha256": hashes,
                **_measure(scale, vaults[args.datasets[0]], work, seeds)}
        write_atomic(plan_path, json.dumps(plan, indent=1))  # a re-run need not measure again
    phase("measure", tick)
    chunk = route_config(scale, SYSTEMS[0], 1, 1).chunk
    runs = {(d, s): work / "runs" / d / s for d in args.datasets for s in SYSTEMS}
    done = {f"{d}/{s}": _step(p) for (d, s), p in runs.items()}
    rates = {f"{d}/{s}": plan["updates_per_s"][s] for d, s in runs}
    config0 = route_config(scale, SYSTEMS[0], 1, 1)
    evals_per_run = (scale.evals - 1) * config0.eval_episodes + config0.final_episodes
    eval_s = 1.25 * len(runs) * evals_per_run * seeds * plan["eval_episode_s"]
    # a new process compiles again (or reads JAX's persistent cache in WORK): count it in full
    recompile = 0.0 if measured else sum(plan.get("compile_s", {}).get(s, 0.0)
                                         for s in {s for _, s in runs})
    left = (deadline - time.time() - scale.reserve_s - eval_s - scale.overhead_s * len(runs)
            - recompile)
    target = plan_updates(rates, left, chunk, done, max_updates=scale.max_updates)
    target = max(target, plan.get("updates", 0), max(done.values()))
    if args.updates:
        target = args.updates
    if target < chunk:
        print(f"the budget leaves no time for even {chunk} updates ({left:.0f} s left for "
              "training): run the same command again (the measurements are kept in "
              f"{plan_path}), or raise the budget", flush=True)
        return 1
    plan.setdefault("eval_every", math.ceil(target / scale.evals / chunk) * chunk)
    plan["updates"] = target
    plan["predicted_train_s"] = sum(max(0, target - done[k]) / rates[k] for k in rates)
    plan["predicted_eval_s"] = eval_s
    write_atomic(plan_path, json.dumps(plan, indent=1))
    route["plan"] = plan
    print(f"plan: {target} updates x {seeds} seeds per arm on {', '.join(args.datasets)} "
          f"(updates/s {plan['updates_per_s']}, {plan['eval_episode_s']:.2f} s per evaluation "
          f"episode and seed; predicted {plan['predicted_train_s']:.0f} s of training and "
          f"{eval_s:.0f} s of evaluation)", flush=True)

    finished: dict[tuple[str, str], bool] = {}
    for (dataset, system), run_dir in runs.items():
        tick = time.time()
        config = route_config(scale, system, target, plan["eval_every"])
        later = [k for k in rates if list(rates).index(k) > list(rates).index(
            f"{dataset}/{system}")]
        others = sum(max(0, target - done[k]) / rates[k] for k in later)
        limit = max(30.0, deadline - time.time() - scale.reserve_s - others
                    - eval_s / len(runs))
        try:
            result = train(vaults[dataset], dataset=dataset, system=system, config=config,
                           seeds=seeds, seed_group=seeds, out_dir=run_dir,
                           recorded_sha256=hashes[dataset],
                           resume=(run_dir / "checkpoint.npz").exists(), progress=False,
                           time_limit_s=limit)
        except KeyboardInterrupt:
            result = {"finished": False}
        finished[(dataset, system)] = bool(result.get("finished"))
        if finished[(dataset, system)]:  # at once: a command killed later still returns it
            dest = out / dataset / system / "result.json"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run_dir / "result.json", dest)
        phase(f"train {dataset}/{system}", tick)

    tick = time.time()
    code = 0
    if all(finished.values()):
        try:
            results = pool_runs(load_results([out / d for d in args.datasets]))
            summary = summarise(results, reps=args.reps)
        except Exception as err:  # e.g. a package of the image: the results are safe in OUT
            code = 3
            route["summary_error"] = f"{type(err).__name__}: {err}"
            print(f"summary failed on this machine ({route['summary_error']}); the results are "
                  f"in {out}: summarise them with `python -m verify.halfcheetah.gpu_route "
                  "collect`", flush=True)
        else:
            summary["provenance"] = provenance({"route": "scripts/gpu_fig6.sh", "plan": plan})
            write_atomic(out / "summary.json", json.dumps(to_jsonable(summary), indent=1))
            table = fig6_table(summary)
            write_atomic(out / "fig6.md", f"# Fig. 6 from the GPU route\n\n{table}")
            print(table, end="", flush=True)
    else:
        code = 1
        print(f"not every arm finished {target} updates in the budget: {finished}; run the same "
              "command again to continue from the checkpoints in " + str(work), flush=True)
    phase("report", tick)
    route["state"] = pack_state(work, out)
    route["finished"] = {f"{d}/{s}": f for (d, s), f in finished.items()}
    route["wall_s"] = round(time.time() - start, 1)
    route["imported_distributions"] = imported_distributions()
    write_atomic(out / "route.json", json.dumps(to_jsonable(route), indent=1))
    return code


def pack_state(work: Path, out: Path, max_files: int = 8, max_mib: float = 16.0) -> str:
    """Write ``out/state.tgz`` (the plan and every run's checkpoint and result) so that a later
    call on a fresh machine continues (``gpu_fig6.sh`` unpacks ``STATE`` into an empty WORK),
    when it fits in what the device tool brings back: ``max_files`` files in ``out`` counting
    ``route.json`` still to come, ``max_mib`` each. Returns what happened, in words.

    Example:
        >>> import tempfile
        >>> w, o = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
        >>> _ = (w / "plan.json").write_text("{}")
        >>> pack_state(w, o), sorted(p.name for p in o.iterdir())
        ('wrote state.tgz (1 files, 0.0 MiB)', ['state.tgz'])
    """
    import tarfile

    members = [work / "plan.json", *sorted((work / "runs").glob("*/*/checkpoint.npz")),
               *sorted((work / "runs").glob("*/*/result.json"))]
    members = [m for m in members if m.exists()]
    present = [p for p in out.rglob("*") if p.is_file() and p.name != "state.tgz"]
    if not members or len(present) + 2 > max_files:
        return f"no state.tgz: {len(present) + 1} other files in {out} leave no room"
    target = out / "state.tgz"
    with tarfile.open(target, "w:gz") as tar:
        for member in members:
            tar.add(member, arcname=str(member.relative_to(work)))
    size = target.stat().st_size / 2**20
    if size > max_mib:
        target.unlink()
        return f"no state.tgz: {size:.1f} MiB is over {max_mib:g}"
    return f"wrote state.tgz ({len(members)} files, {size:.1f} MiB)"


def collect(sources: list[Path], results: Path, figures: Path | None) -> dict:
    """Copy ``<dataset>/<system>/result.json`` from each source into ``results/runs`` and write
    ``results/summary.json`` (and, with ``figures``, the figures)."""
    from brud_analysis.output import write_atomic
    from verify.halfcheetah.evidence import write_summary

    copied = 0
    for source in sources:
        for path in sorted(Path(source).glob("*/*/result.json")):
            rel = path.relative_to(source)
            write_atomic(results / "runs" / rel, path.read_bytes())
            copied += 1
    if not copied:
        raise BrudError(f"no <dataset>/<system>/result.json in {[str(s) for s in sources]}")
    return write_summary(results, figures)


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m verify.halfcheetah.gpu_route")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="record, measure, plan, train both arms, summarise")
    p.add_argument("--out", type=Path, required=True, help="what comes back ($OUT)")
    p.add_argument("--work", type=Path, default=Path("runs/gpu_fig6"),
                   help="data, checkpoints and plan (kept on a warm machine)")
    p.add_argument("--budget", type=float, default=540.0,
                   help="seconds from GPU_FIG6_START (or now) to the last output (540)")
    p.add_argument("--datasets", nargs="+", default=["Good"],
                   choices=["Good", "Medium", "GoodMedium"])
    p.add_argument("--seeds", type=int, help="seeds per arm (5; --tiny: 2)")
    p.add_argument("--episodes", type=int, help="episodes per recorded dataset (100; --tiny: 2)")
    p.add_argument("--updates", type=int, help="train this many updates instead of planning")
    p.add_argument("--reps", type=int, default=2000, help="bootstrap resamples (2000)")
    p.add_argument("--tiny", action="store_true", help="the CPU rehearsal scale")
    p.add_argument("--cpu", action="store_true", help="allow a backend other than the GPU")
    p = sub.add_parser("collect", help="results brought back -> RESULTS/summary.json")
    p.add_argument("sources", nargs="+", type=Path, help="folders brought back ($OUT copies)")
    p.add_argument("--results", type=Path, default=Path("results/halfcheetah-gpu"))
    p.add_argument("--figures", type=Path, help="write the Fig. 6 PNGs here too")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            if args.budget <= 0 or (args.seeds is not None and args.seeds < 1):
                raise BrudError("--budget and --seeds must be positive")
            return run(args)
        summary = collect(args.sources, args.results, args.figures)
        print(f"{args.results / 'summary.json'}: {sorted(summary['datasets'])}")
    except BrudError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
