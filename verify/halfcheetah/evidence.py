"""The HalfCheetah evidence shipped in ``results/halfcheetah/``: run it, publish it, re-run it.

``run``: trains every (dataset, system) of a plan in *matched stages*: all runs go to the first
update target, then all are extended to the next (``--resume`` semantics), and so on. Only a
stage that every run finished is published, so the shipped arms always have the same seeds,
updates, dataset hash and configuration; a deadline stops the work (runs keep their
checkpoints in ``RUNS`` and continue when ``run`` is called again). Everything trains in one
process so that each (system, dataset) compiles once.

``publish`` copies each run's ``result.json`` (no checkpoints) to
``results/halfcheetah/runs/<dataset>/<system>/`` and writes ``results/halfcheetah/summary.json``
(and the figures) from them.

``reproduce``: re-trains a shipped run from its recorded settings on a dataset with the same
content hash and compares it with the shipped numbers. On the same machine every number is equal
bit for bit; on another CPU a 1000-step return is chaotic (see
:mod:`verify.halfcheetah.reference`), so the final returns and policy distances are compared
statistically: exact two-sided Mann-Whitney test per metric, the re-run is consistent when
p >= 0.01.

Example::

    python -m verify.halfcheetah.evidence run --data data --runs runs/evidence \\
        --stages 2500,5000,7500,10000 --deadline 06:00
    python -m verify.halfcheetah.evidence reproduce results/halfcheetah/runs/Good/maddpg-cql-bc \\
        --data data --out runs/reproduce
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from brud_analysis.errors import BrudError

RESULTS_DIR = Path(__file__).resolve().parents[2] / "results" / "halfcheetah"
VAULT = "2halfcheetah.vlt"
DEFAULT_DATASETS = ("Good", "GoodMedium")
DEFAULT_SYSTEMS = ("maddpg-cql-bc", "maddpg-cql-bc-pjap")
REPRODUCE_ALPHA = 0.01


def _seconds_until(deadline: str | None) -> float | None:
    """Seconds from now until ``HH:MM`` UTC today (None: no deadline)."""
    if deadline is None:
        return None
    hour, minute = (int(x) for x in deadline.split(":"))
    now = dt.datetime.now(dt.UTC)
    end = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return (end - now).total_seconds()


def _train_one(data_dir: Path, runs_dir: Path, dataset: str, system: str, seeds: int,
               updates: int, eval_every: int, config_name: str, time_limit_s: float | None,
               seed_group: int = 1, first_seed: int = 0) -> dict:
    from verify.halfcheetah.configs import make_config
    from verify.halfcheetah.experiment import train
    from verify.halfcheetah.vault import load_vault, recorded_dataset_sha256

    path = data_dir / VAULT / dataset
    config = make_config(config_name, system, updates, eval_every=eval_every)
    out = runs_dir / dataset / system
    return train(load_vault(path), dataset=dataset, system=system, config=config, seeds=seeds,
                 first_seed=first_seed, seed_group=seed_group,
                 recorded_sha256=recorded_dataset_sha256(path), out_dir=out,
                 resume=(out / "checkpoint.npz").exists(), progress=False,
                 time_limit_s=time_limit_s)


def run_stages(data_dir: Path, runs_dir: Path, stages: list[int], seeds: int, eval_every: int,
               deadline: str | None, datasets: tuple[str, ...] = DEFAULT_DATASETS,
               systems: tuple[str, ...] = DEFAULT_SYSTEMS, config_name: str = "cpu",
               results_dir: Path = RESULTS_DIR) -> int | None:
    """Train the plan stage by stage; publish after every completed stage; return the last
    completed stage's update count (None if none completed)."""
    completed = None
    for target in stages:
        finished = True
        for dataset in datasets:
            for system in systems:
                left = _seconds_until(deadline)
                if left is not None and left < 60:
                    print(f"deadline {deadline} UTC reached before {dataset}/{system} at "
                          f"{target}", file=sys.stderr, flush=True)
                    return completed
                tick = time.monotonic()
                result = _train_one(data_dir, runs_dir, dataset, system, seeds, target,
                                    eval_every, config_name, left)
                print(f"{dt.datetime.now(dt.UTC):%H:%M:%S} {dataset} {system} "
                      f"-> {target}: finished={result.get('finished')} "
                      f"({time.monotonic() - tick:.0f} s)", file=sys.stderr, flush=True)
                finished &= bool(result.get("finished"))
        if not finished:
            return completed
        completed = target
        copy_results(runs_dir, results_dir)  # the summary is written once, at the end
        print(f"published stage {target}", file=sys.stderr, flush=True)
    return completed


def copy_results(runs_dir: Path, results_dir: Path = RESULTS_DIR) -> None:
    """Copy every finished ``result.json`` under ``runs_dir`` to ``results_dir/runs``."""
    from brud_analysis.output import write_atomic

    for path in sorted(Path(runs_dir).rglob("result.json")):
        rel = path.parent.relative_to(runs_dir)
        write_atomic(results_dir / "runs" / rel / "result.json", path.read_bytes())


def publish(runs_dir: Path, results_dir: Path = RESULTS_DIR, figures: Path | None = None
            ) -> dict:
    """:func:`copy_results`, then ``results_dir/summary.json`` from the copies."""
    copy_results(runs_dir, results_dir)
    return write_summary(results_dir, figures)


def write_summary(results_dir: Path = RESULTS_DIR, figures: Path | None = None) -> dict:
    """``summary.json`` (and, with ``figures``, the Fig. 6 and diagnostics PNGs) from the
    shipped results."""
    from brud_analysis.output import provenance, to_jsonable, write_atomic
    from verify.halfcheetah.figures import plot_diagnostics, plot_figure
    from verify.halfcheetah.run_statistics import (
        load_results,
        pool_runs,
        summarise,
    )

    runs = load_results([results_dir / "runs"])
    root = results_dir.resolve().parents[1]
    for run in runs:  # shipped paths relative to the repository, not to this checkout
        with contextlib.suppress(ValueError):
            run["path"] = str(Path(run["path"]).resolve().relative_to(root))
    results = pool_runs(runs)
    summary = summarise(results)
    summary["provenance"] = provenance({"runs": [r["path"] for r in runs]})
    if figures is not None:
        summary["figure"] = str(plot_figure(summary, results, figures / "halfcheetah_fig6.png"))
        summary["diagnostics_figure"] = str(plot_diagnostics(
            summary, results, figures / "halfcheetah_diagnostics.png"))
    write_atomic(results_dir / "summary.json", json.dumps(to_jsonable(summary), indent=1))
    return summary


def reproduce(shipped: Path, data_dir: Path, out: Path) -> dict[str, Any]:
    """Re-train a shipped run from its recorded settings and compare (see module docstring)."""
    from scipy import stats

    from verify.halfcheetah.experiment import read_result
    from verify.halfcheetah.vault import dataset_sha256, load_vault

    ref = read_result(shipped / "result.json" if shipped.is_dir() else shipped)
    values = ref["config_values"]
    local = dataset_sha256(load_vault(data_dir / VAULT / ref["dataset"]))
    if local != ref.get("dataset_sha256"):  # before any training
        raise BrudError(f"{data_dir / VAULT / ref['dataset']}: its content hash {local[:12]} "
                        f"differs from the shipped run's {str(ref.get('dataset_sha256'))[:12]};"
                        " re-record it with the documented command on this machine")
    result = _train_one(data_dir, out, ref["dataset"], ref["system"], ref["seeds"],
                        ref["updates"], values["eval_every"], ref["config"], None,
                        ref.get("seed_group", 1), ref.get("first_seed", 0))
    report: dict[str, Any] = {"shipped": str(shipped), "rerun": str(out), "alpha":
                              REPRODUCE_ALPHA, "metrics": {}}
    for name, a, b in (("final_returns", ref["final_returns"], result["final_returns"]),
                       ("final_policy_distance", ref["final_policy_distance"],
                        result["final_policy_distance"])):
        a, b = np.asarray(a, float), np.asarray(b, float)
        identical = bool(np.array_equal(a, b))
        p = 1.0 if identical else float(stats.mannwhitneyu(a, b, method="exact").pvalue)
        report["metrics"][name] = {"shipped": a.tolist(), "rerun": b.tolist(),
                                   "identical": identical, "mann_whitney_p": p,
                                   "consistent": p >= REPRODUCE_ALPHA}
    report["consistent"] = all(m["consistent"] for m in report["metrics"].values())
    return report


TABLE_START, TABLE_END = "<!-- fig6-table:start -->", "<!-- fig6-table:end -->"


def _ci(entry: dict) -> str:
    return f"{entry['estimate']:.3f} [{entry['ci'][0]:.3f}, {entry['ci'][1]:.3f}]"


def _p(test: dict | None) -> str:
    return "-" if not test else f"{test['p']:.3g} ({test['p_holm']:.3g})"


def fig6_table(summary: dict) -> str:
    """The Fig. 6 table (markdown) of a summary: per dataset and system the seeds x updates
    run, returns with 95% CIs, P(PJAP > uniform), both distances, the BRUD alignment, the exact
    Mann-Whitney p (Holm-adjusted over datasets) of each PJAP-vs-uniform comparison, and the
    wall / CPU time.

    Example:
        >>> fig6_table({"datasets": {}}).splitlines()[0][:20]
        '| dataset | system |'
    """
    from verify.halfcheetah.run_statistics import PAIRS

    lines = ["| dataset | system | seeds x updates | return median [95% CI] | IQM [95% CI] | "
             "mean [95% CI] | P(PJAP > uniform) | p return (Holm) | policy distance, final "
             "| p (Holm) | batch distance, mean over training | BRUD alignment, final "
             "(agent 0, 1) | sign disagreement | p (Holm) | wall / CPU time |",
             "|" + "---|" * 15]
    for dataset, entry in summary["datasets"].items():
        for uniform, pjap, key in PAIRS:
            tests = entry.get("mann_whitney", {}).get(key, {})
            poi = entry.get("probability_of_improvement", {}).get(key)
            for name in (uniform, pjap):
                s = entry["systems"].get(name)
                if s is None:
                    continue
                arm = name == pjap
                timing = s.get("timing") or {}
                align = s["brud_alignment"]
                agents = ", ".join(f"{a:.3f}" for a in align.get("final_per_agent") or [])
                cells = [
                    dataset, name + (" *(not paper)*" if "deviation" in s else ""),
                    f"{len(s['seed_keys'])} x {s['updates']}",
                    *(_ci(s[agg]) if agg in s else "-" for agg in ("median", "iqm", "mean")),
                    _ci(poi) if arm and poi else "",
                    _p(tests.get("final_normalised")) if arm else "",
                    f"{s['policy_distance']['final']:.4f}"
                    if s["policy_distance"]["final"] is not None else "-",
                    _p(tests.get("policy_distance")) if arm else "",
                    f"{s['batch_distance']['mean_over_training']:.4f}",
                    f"{align['final']:.3f} ({agents})" if align["final"] is not None else "-",
                    f"{align['sign_disagreement_final']:.3f}"
                    if align.get("sign_disagreement_final") is not None else "-",
                    _p(tests.get("brud_alignment")) if arm else "",
                    (f"{timing['wall_s'] / 60:.0f} / {timing['cpu_s'] / 60:.0f} min"
                     if timing else "-"),
                ]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table(doc: Path, summary: dict) -> bool:
    """Replace the table between the markers in ``doc``; True when it changed."""
    from brud_analysis.output import write_atomic

    text = doc.read_text()
    if TABLE_START not in text or TABLE_END not in text:
        raise BrudError(f"{doc} has no {TABLE_START} ... {TABLE_END} block")
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    new = f"{head}{TABLE_START}\n{fig6_table(summary)}{TABLE_END}{tail}"
    if new != text:
        write_atomic(doc, new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m verify.halfcheetah.evidence")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("--data", type=Path, default=Path("data"))
    p.add_argument("--runs", type=Path, default=Path("runs/evidence"))
    p.add_argument("--stages", default="2500,5000,7500,10000")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--eval-every", type=int, default=2500)
    p.add_argument("--deadline", help="HH:MM UTC: stop (with checkpoints) before it")
    p.add_argument("--figures", type=Path, default=Path("docs"))
    p = sub.add_parser("publish")
    p.add_argument("--runs", type=Path, default=Path("runs/evidence"))
    p.add_argument("--figures", type=Path, default=Path("docs"))
    p = sub.add_parser("table", help="print the Fig. 6 table of the shipped summary")
    p.add_argument("--write", type=Path, help="replace the table block in this markdown file")
    p = sub.add_parser("reproduce")
    p.add_argument("shipped", type=Path)
    p.add_argument("--data", type=Path, default=Path("data"))
    p.add_argument("--out", type=Path, default=Path("runs/reproduce"))
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            stages = [int(x) for x in args.stages.split(",")]
            done = run_stages(args.data, args.runs, stages, args.seeds, args.eval_every,
                              args.deadline)
            print(f"last completed stage: {done}")
            if done is not None:
                publish(args.runs, figures=args.figures)
        elif args.command == "publish":
            publish(args.runs, figures=args.figures)
        elif args.command == "table":
            summary = json.loads((RESULTS_DIR / "summary.json").read_text())
            if args.write:
                write_table(args.write, summary)
            else:
                print(fig6_table(summary), end="")
        else:
            report = reproduce(args.shipped, args.data, args.out)
            print(json.dumps(report, indent=1))
            return 0 if report["consistent"] else 1
    except BrudError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
