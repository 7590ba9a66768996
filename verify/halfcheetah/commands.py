"""``brud halfcheetah ...``: datasets, stats and behaviour-policy training for 2-agent HalfCheetah.

Heavy imports (JAX, MuJoCo, flashbax, matplotlib) happen inside the handlers so that
``brud --help`` stays fast. ``train`` / ``report`` (the offline-learning experiment) are
registered by :mod:`verify.halfcheetah.experiment_commands`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from brud_analysis.errors import BrudError

VAULT_NAME = "2halfcheetah.vlt"
DATASETS = ("Good", "Medium", "GoodMedium")
# Separate seed streams for the two behaviour policies (episode e of Good is reset with
# seed + e, of Medium with seed + MEDIUM_SEED_OFFSET + e), so their episodes never share a reset.
MEDIUM_SEED_OFFSET = 500_000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``halfcheetah`` and its subcommands to the ``brud`` parser.

    Example:
        >>> parser = argparse.ArgumentParser(prog="brud")
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["halfcheetah", "stats", "x", "--json"]).json
        True
    """
    parser = subparsers.add_parser(
        "halfcheetah",
        help="2-agent HalfCheetah: datasets, dataset stats, behaviour policies",
        description="2-agent Multi-Agent MuJoCo HalfCheetah (2x3): record Good / Medium / "
        "GoodMedium datasets as flashbax Vaults, inspect any such Vault (ours or OG-MARL's), "
        "re-train the behaviour policies.",
    )
    sub = parser.add_subparsers(dest="halfcheetah_command", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda args: _print_help(parser))

    p = sub.add_parser("datasets", help="record Good, Medium and GoodMedium vaults",
                       description="Roll out the shipped (or given) behaviour policies with "
                       "Gaussian action noise and write DIR/2halfcheetah.vlt/{Good,Medium,"
                       "GoodMedium}. Datasets already present are kept (resume).")
    p.add_argument("--out", required=True, help="directory that receives 2halfcheetah.vlt/")
    p.add_argument("--episodes", type=int, default=1000, help="episodes per policy (1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of resets and noise (0)")
    p.add_argument("--noise", type=float, default=0.2, help="action noise std (0.2)")
    p.add_argument("--good-policy", default="good", help="shipped name or .npz path (good)")
    p.add_argument("--medium-policy", default="medium", help="shipped name or .npz (medium)")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    p.set_defaults(handler=_datasets)

    p = sub.add_parser("stats", help="episode-return and action statistics of a vault",
                       description="Statistics of a Vault dataset <dir>/<name>.vlt/<uid> "
                       "(ours or OG-MARL's).")
    p.add_argument("path", help="dataset directory, e.g. data/2halfcheetah.vlt/Good")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="PNG", help="write a return histogram here")
    p.set_defaults(handler=_stats)

    p = sub.add_parser("train-behaviour", help="train behaviour policies (online MATD3)",
                       description="Train the online multi-agent TD3 behaviour learner, then "
                       "export good.npz (best return under the recording noise) and medium.npz "
                       "(an earlier snapshot, noisy return closest to --medium-target) into "
                       "--out. Resumes from --run-dir if it holds a run.")
    p.add_argument("--steps", type=int, default=300_000, help="environment steps (300000)")
    p.add_argument("--seed", type=int, default=0, help="seed (0)")
    p.add_argument("--out", required=True, help="directory for good.npz / medium.npz")
    p.add_argument("--run-dir", help="checkpoints and progress log (default OUT/run)")
    p.add_argument("--eval-every", type=int, default=10_000,
                   help="steps between evaluations / actor snapshots (10000)")
    p.add_argument("--export", choices=("both", "good", "medium"), default="both",
                   help="which policies to write into --out (both)")
    p.add_argument("--medium-target", type=float, default=1500.0,
                   help="return (with action noise 0.2) wanted for medium.npz (1500)")
    p.add_argument("--json", action="store_true", help="print the evaluation log as JSON")
    p.set_defaults(handler=_train_behaviour)

    # `train` and `report`; imported by name so that a broken module fails loudly
    importlib.import_module("verify.halfcheetah.experiment_commands").register(sub)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _stats(args: argparse.Namespace) -> int:
    from brud_analysis.output import print_json
    from verify.halfcheetah.stats import dataset_stats, plot_return_histogram
    from verify.halfcheetah.vault import episode_returns, load_vault

    transitions = load_vault(args.path)
    stats = {"path": str(Path(args.path).expanduser()), **dataset_stats(transitions)}
    if args.plot:
        name = Path(args.path).expanduser().absolute()
        plot_return_histogram(episode_returns(transitions), args.plot,
                              title=f"{name.parent.name}/{name.name}")
        stats["plot"] = args.plot
    if args.json:
        print_json(stats)
    else:
        print(_format_stats(stats))
    return 0


def _format_stats(s: dict) -> str:
    lines = [
        f"{s['path']}",
        f"  environment  {s['environment']}",
        f"  episodes     {s['episodes']}   transitions {s['transitions']}   "
        f"(N={s['n_agents']}, obs {s['obs_dim']}, act {s['act_dim']}, state {s['state_dim']})",
        f"  return       {s['return_mean']:.1f} +- {s['return_std']:.1f}  "
        f"(min {s['return_min']:.1f}, max {s['return_max']:.1f})",
    ]
    for a in s["actions"]:
        mean = ", ".join(f"{x:+.2f}" for x in a["mean"])
        std = ", ".join(f"{x:.2f}" for x in a["std"])
        lines.append(f"  agent {a['agent']} actions  mean [{mean}]  std [{std}]  "
                     f"saturated {100 * a['saturated_fraction']:.1f}%")
    if "plot" in s:
        lines.append(f"  histogram    {s['plot']}")
    return "\n".join(lines)


def _datasets(args: argparse.Namespace) -> int:
    import numpy as np

    from brud_analysis.output import print_json
    from verify.halfcheetah.behaviour import load_policy, numpy_policy
    from verify.halfcheetah.env import record_transitions
    from verify.halfcheetah.stats import dataset_stats
    from verify.halfcheetah.vault import Transitions, load_vault, write_vault

    if args.episodes < 1:
        raise BrudError(f"--episodes must be >= 1, got {args.episodes}")
    if args.noise < 0:
        raise BrudError(f"--noise must be >= 0, got {args.noise}")
    root = Path(args.out).expanduser() / VAULT_NAME
    policies = {"Good": (args.good_policy, args.seed),
                "Medium": (args.medium_policy, args.seed + MEDIUM_SEED_OFFSET)}
    data: dict[str, Transitions] = {}
    for name, (policy, seed) in policies.items():
        path = root / name
        if path.exists():
            data[name] = _existing(load_vault(path), path, args.episodes)
            print(f"{path} exists: kept", file=sys.stderr)
            continue
        params = load_policy(policy)
        data[name] = record_transitions(numpy_policy(params), args.episodes, seed, args.noise,
                                        progress=True, desc=name)
        write_vault(path, data[name])
        print(f"wrote {path}", file=sys.stderr)
    path = root / "GoodMedium"
    if path.exists():
        data["GoodMedium"] = _existing(load_vault(path), path, 2 * args.episodes)
        print(f"{path} exists: kept", file=sys.stderr)
    else:
        data["GoodMedium"] = Transitions(*(np.concatenate([g, m]) for g, m in
                                           zip(data["Good"], data["Medium"], strict=True)))
        write_vault(path, data["GoodMedium"])
        print(f"wrote {path}", file=sys.stderr)
    result = {name: {"path": str(root / name), **dataset_stats(data[name])} for name in DATASETS}
    if args.json:  # keyed by uid under `datasets`, as in `halfcheetah report` (docs/json.md)
        print_json({"datasets": result})
    else:
        for name in DATASETS:
            print(_format_stats(result[name]))
    return 0


def _existing(transitions, path: Path, episodes: int):
    from verify.halfcheetah.vault import episode_starts

    found = len(episode_starts(transitions))
    if found != episodes:
        raise BrudError(f"{path} exists with {found} episodes, not {episodes}; remove it or "
                        "choose another --out")
    return transitions


def _train_behaviour(args: argparse.Namespace) -> int:
    from brud_analysis.output import print_json
    from verify.halfcheetah.behaviour import TD3Config, export_best_policies, train_behaviour

    if args.steps < 20_000:
        raise BrudError(f"--steps must be >= 20000 (10000 random steps come first), got "
                        f"{args.steps}")
    out = Path(args.out).expanduser()
    run_dir = Path(args.run_dir).expanduser() if args.run_dir else out / "run"
    if args.eval_every < 1000 or args.eval_every % 1000:
        raise BrudError(f"--eval-every must be a positive multiple of 1000, got {args.eval_every}")
    config = TD3Config(steps=args.steps, seed=args.seed, eval_every=args.eval_every)
    log = train_behaviour(config, run_dir)
    which = ("good", "medium") if args.export == "both" else (args.export,)
    exported = export_best_policies(run_dir, out, medium_target=args.medium_target, which=which)
    if args.json:
        print_json({"run_dir": str(run_dir), "log": log, **exported})
    else:
        for name, info in exported.items():
            print(f"{name}: {info['path']} (step {info['step']}, return "
                  f"{info['eval_return']:.1f} deterministic, {info['noisy_return']:.1f} with "
                  f"action noise 0.2)")
    return 0
