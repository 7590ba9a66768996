"""``brud halfcheetah train`` and ``brud halfcheetah report`` (the PJAP experiment, Fig. 6).

Registered by :mod:`brud_analysis.cli.halfcheetah` into the ``halfcheetah`` group. Heavy imports
(JAX, MuJoCo, matplotlib, rliable) happen inside the handlers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from brud_analysis.errors import BrudError

# verify.halfcheetah.configs.SYSTEMS, spelt out so that `brud --help` does not import JAX
# (tests/test_halfcheetah_experiment.py checks that the two agree).
SYSTEMS = ("maddpg-cql", "maddpg-cql-pjap", "maddpg-cql-bc", "maddpg-cql-bc-pjap")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` and ``report`` to the ``halfcheetah`` subcommand group.

    Example:
        >>> parser = argparse.ArgumentParser(prog="halfcheetah")
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["train", "--dataset", "d", "--system", "maddpg-cql",
        ...                    "--out", "o"]).config
        'cpu'
    """
    p = subparsers.add_parser(
        "train", help="offline MADDPG+CQL (+PJAP) on a dataset, many seeds at once",
        description="Train MADDPG+CQL with the BRUD joint action, with uniform sampling "
        "(maddpg-cql) or PJAP (maddpg-cql-pjap), all seeds vmapped in one jitted update. "
        "maddpg-cql-bc and maddpg-cql-bc-pjap are a DEVIATION FROM THE PAPER'S ALGORITHM: the "
        "same critic with a TD3+BC-style actor term -lambda*mean(min Q) + mean((mu(o)-a)^2), "
        "lambda = w / mean|Q| (--bc-weight w), identical in both arms except the sampler; for "
        "CPU budgets on which the paper's actor does not yet run. "
        "Writes OUT/<system>/checkpoint.npz and, when finished, OUT/<system>/result.json. "
        "Ctrl-C or SIGTERM saves a checkpoint; --resume continues bit-for-bit.",
    )
    p.add_argument("--dataset", required=True, help="vault, e.g. data/2halfcheetah.vlt/Good")
    p.add_argument("--system", required=True, choices=list(SYSTEMS),
                   help="maddpg-cql[-pjap]: the paper's algorithm; maddpg-cql-bc[-pjap]: with "
                   "a TD3+BC actor term (not the paper's algorithm)")
    p.add_argument("--bc-weight", type=float, metavar="W",
                   help="TD3+BC weight w of the -bc systems (default 2.5)")
    p.add_argument("--pjap-refresh", choices=["uniform", "priority"], default="uniform",
                   help="PJAP systems: refresh windows drawn uniformly (default) or in "
                   "proportion to priority (the authors' code)")
    p.add_argument("--eval-every", type=int, metavar="UPDATES",
                   help="updates between online evaluations (config default 5000)")
    p.add_argument("--no-eval", action="store_true",
                   help="no online evaluation (offline metrics only), e.g. for an OG-MARL "
                   "vault whose observations the installed environment does not produce")
    p.add_argument("--config", default="cpu", choices=["paper", "cpu"],
                   help="paper: GRU policy, 64x20 windows, 500k updates (GPU scale); "
                   "cpu: feedforward, smaller, 20k updates (default cpu)")
    p.add_argument("--seeds", type=int, default=3, help="independent seeds, vmapped (3)")
    p.add_argument("--first-seed", type=int, default=0, metavar="K",
                   help="seed keys K..K+SEEDS-1 (0); to add seeds to a finished run, train "
                   "into another --out from its next key: `report` pools runs that differ "
                   "only in their seeds")
    p.add_argument("--seed-group", type=int, default=1, metavar="G",
                   help="seeds per jitted call (1); a seed's result reproduces only with the "
                   "same group size (recorded), so keep it when adding seeds; larger groups "
                   "are faster on a GPU")
    p.add_argument("--updates", type=int, help="override the configuration's update count")
    p.add_argument("--out", required=True, help="run directory (one per dataset)")
    p.add_argument("--resume", action="store_true", help="continue the run in OUT")
    p.add_argument("--time-limit", type=float, metavar="MINUTES",
                   help="stop with a checkpoint after this long (continue with --resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=_train)

    p = subparsers.add_parser(
        "report", help="median / IQM / mean with CIs and distance curves (Fig. 6)",
        description="Aggregate finished runs (result.json files in or under each DIR) per "
        "dataset and system: normalised final returns as median, IQM and mean with 95% "
        "stratified-bootstrap CIs (rliable), probability of improvement of PJAP, mean "
        "PJAP distance over training. Writes OUT/fig6.png and OUT/summary.json.",
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run directories")
    from brud_analysis.cli.options import output_directory

    p.add_argument("--out", required=True, type=output_directory,
                   help="directory for fig6.png and summary.json (checked before any work)")
    p.add_argument("--reps", type=int, default=5000, help="bootstrap resamples (5000)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=_report)


def _train(args: argparse.Namespace) -> int:
    from brud_analysis.output import check_output_path, print_json
    from verify.halfcheetah.configs import make_config
    from verify.halfcheetah.experiment import check_seed_group, train
    from verify.halfcheetah.vault import load_vault, recorded_dataset_sha256

    config = make_config(args.config, args.system, args.updates, bc_weight=args.bc_weight,
                         pjap_refresh=args.pjap_refresh, eval_every=args.eval_every)
    check_seed_group(args.seeds, args.first_seed, args.seed_group)
    out = check_output_path(Path(args.out) / args.system, directory=True)
    if args.resume and not (out / "checkpoint.npz").exists():
        raise BrudError(f"nothing to resume: {out} holds no checkpoint; run without --resume")
    dataset = Path(args.dataset).expanduser()
    transitions = load_vault(dataset)
    result = train(
        transitions,
        dataset=dataset.name,
        system=args.system,
        config=config,
        seeds=args.seeds,
        first_seed=args.first_seed,
        seed_group=args.seed_group,
        recorded_sha256=recorded_dataset_sha256(dataset),
        out_dir=out,
        resume=args.resume,
        progress=not args.no_progress,
        time_limit_s=None if args.time_limit is None else 60.0 * args.time_limit,
        no_eval=args.no_eval,
    )
    if not result.get("finished"):
        message = f"stopped at update {result['step']} of {config.updates}; checkpoint in {out}"
        if args.json:
            print_json({"finished": False, "step": result["step"], "out": str(out)})
        else:
            print(message + " (continue with --resume)")
        return 0
    if args.json:
        print_json({k: v for k, v in result.items() if k != "history"})
        return 0
    norm = result["normalisation"]
    if not result.get("evaluated", True):
        print(f"{result['system']} on {result['dataset']}: trained without online evaluation "
              f"(--no-eval) -> {out / 'result.json'}")
        return 0
    print(f"{result['system']} on {result['dataset']} ({result['config']} config, "
          f"{result['updates']} updates, {result['seeds']} seeds) -> {out / 'result.json'}")
    print(f"final return per seed: {[round(r, 1) for r in result['final_returns']]}")
    print(f"normalised [(R - {norm['zero']:.1f}) / ({norm['one']:.1f} - {norm['zero']:.1f}), "
          f"0 = random policy, 1 = Good behaviour policy]: "
          f"{[round(r, 3) for r in result['final_normalised']]}")
    print(f"policy distance (probe windows) per seed: "
          f"{[round(d, 4) for d in result['final_policy_distance']]}")
    print(f"BRUD alignment per seed and agent: "
          f"{[[round(a, 3) for a in seed] for seed in result['final_brud_alignment']]}")
    if result["updates_per_second"]:
        print(f"updates/s (all seeds together): {result['updates_per_second']:.1f}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from brud_analysis.output import (
        check_output_path,
        print_json,
        provenance,
        to_jsonable,
        write_atomic,
    )
    from verify.halfcheetah.figures import plot_diagnostics, plot_figure
    from verify.halfcheetah.run_statistics import (
        load_results,
        pool_runs,
        summarise,
    )

    if args.reps < 100:
        raise BrudError(f"--reps must be >= 100, got {args.reps}")
    out = check_output_path(Path(args.out), directory=True)
    runs = load_results(args.dirs)
    results = pool_runs(runs)  # runs that differ only in their seeds count as one
    summary = summarise(results, reps=args.reps)
    summary["provenance"] = provenance({"dirs": [str(d) for d in args.dirs],
                                        "reps": args.reps, "runs": [r["path"] for r in runs]})
    figure = plot_figure(summary, results, out / "fig6.png")
    summary["figure"] = str(figure)
    summary["diagnostics_figure"] = str(plot_diagnostics(summary, results,
                                                         out / "diagnostics.png"))
    write_atomic(out / "summary.json", json.dumps(to_jsonable(summary), indent=1))
    if args.json:
        print_json(summary)
        return 0
    print(f"normalisation: {summary['normalisation']}")
    for dataset, entry in summary["datasets"].items():
        print(f"\n{dataset}")
        for name, s in entry["systems"].items():
            if s["evaluated"]:
                cells = "  ".join(
                    f"{agg} {s[agg]['estimate']:.3f} [{s[agg]['ci'][0]:.3f}, "
                    f"{s[agg]['ci'][1]:.3f}]" for agg in ("median", "iqm", "mean"))
            else:
                cells = "(trained with --no-eval: no returns)"
            c = s["critic"]
            q = "-" if c["q_data_final"] is None else f"{c['q_data_final']:.0f}"
            mc = "-" if c["data_mc_return"] is None else f"{c['data_mc_return']:.0f}"
            policy = s["policy_distance"]["final"]
            align = s["brud_alignment"]["final"]
            print(f"  {name:18s} {cells}  batch distance (paper) "
                  f"{s['batch_distance']['mean_over_training']:.4f}  policy distance "
                  f"{'-' if policy is None else f'{policy:.4f}'}  BRUD alignment "
                  f"{'-' if align is None else f'{align:.3f}'}"
                  f"  Q(data) {q} vs MC {mc}  ({s['seeds']} seeds, {s['updates']} updates, "
                  f"{s['config']}){'  [not the paper algorithm]' if 'deviation' in s else ''}")
        for key, poi in entry.get("probability_of_improvement", {}).items():
            label = {"pjap_over_baseline": "P(maddpg-cql-pjap > maddpg-cql)",
                     "bc_pjap_over_bc": "P(maddpg-cql-bc-pjap > maddpg-cql-bc)"}[key]
            print(f"  {label} = {poi['estimate']:.3f} [{poi['ci'][0]:.3f}, {poi['ci'][1]:.3f}]")
        for key, tests in entry.get("mann_whitney", {}).items():
            for metric, t in tests.items():
                print(f"  {key} {metric}: exact Mann-Whitney p = {t['p']:.3g}, Holm-adjusted "
                      f"over datasets {t['p_holm']:.3g}: {t['wording']}")
    print(f"\nfigure: {figure}\nsummary: {out / 'summary.json'}")
    return 0
