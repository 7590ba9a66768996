"""``brud halfcheetah ...``: datasets, stats and behaviour-policy training for 2-agent HalfCheetah.

Heavy imports (JAX, MuJoCo, flashbax, matplotlib) happen inside the handlers so that
``brud --help`` stays fast. ``train`` / ``report`` (the offline experiment) are registered from
:mod:`brud_analysis.cli.halfcheetah_experiment`, imported here by name: a broken import fails
loudly instead of hiding the subcommands.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

from brud_analysis.cli import halfcheetah_experiment as experiment_commands
from brud_analysis.errors import BrudError

VAULT_NAME = "2halfcheetah.vlt"
DATASETS = ("Good", "Medium", "GoodMedium")
# Separate seed streams for the two behaviour policies (episode e of Good is reset with
# seed + e, of Medium with seed + MEDIUM_SEED_OFFSET + e), so their episodes never share a reset.
MEDIUM_SEED_OFFSET = 500_000
# Recording holds every dataset in memory (~0.2 MB per 1000-step episode, twice for GoodMedium):
# 10 000 episodes per policy is ~8 GB at the peak; more is refused rather than swapped.
MAX_EPISODES = 10_000


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
                       "GoodMedium} (GoodMedium = Good then Medium, as `combine` builds it). "
                       "Datasets already present are kept when their recorded settings equal "
                       "the request; otherwise the command refuses unless --force.")
    p.add_argument("--out", required=True, help="directory that receives 2halfcheetah.vlt/")
    p.add_argument("--episodes", type=int, default=1000, help="episodes per policy (1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of resets and noise (0)")
    p.add_argument("--noise", type=float, default=0.2, help="action noise std (0.2)")
    p.add_argument("--good-policy", default="good", help="shipped name or .npz path (good)")
    p.add_argument("--medium-policy", default="medium", help="shipped name or .npz (medium)")
    p.add_argument("--force", action="store_true",
                   help="re-record datasets whose recorded settings differ from the request")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    p.set_defaults(handler=_datasets)

    p = sub.add_parser("combine", help="concatenate vaults into one (Good + Medium -> GoodMedium)",
                       description="Concatenate datasets <dir>/<name>.vlt/<uid> in the order "
                       "given into one new Vault, every leaf copied (OG-MARL's layout kept), "
                       "e.g. OG-MARL's Good and Medium into GoodMedium.")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="datasets to concatenate, in order")
    p.add_argument("--out", required=True,
                   help="new dataset, e.g. vaults/2halfcheetah.vlt/GoodMedium")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=_combine)

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

    experiment_commands.register(sub)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _stats(args: argparse.Namespace) -> int:
    from brud_analysis.output import check_output_path, print_json
    from verify.halfcheetah.dataset_statistics import dataset_stats, plot_return_histogram
    from verify.halfcheetah.vault import episode_returns, load_vault

    if args.plot:
        check_output_path(args.plot)
    transitions = load_vault(args.path)
    stats = {"path": str(Path(args.path).expanduser()), **dataset_stats(transitions)}
    if args.plot:
        name = Path(args.path).expanduser().absolute()
        plot_return_histogram(episode_returns(transitions), args.plot,
                              title=f"{name.parent.name}/{name.name}",
                              config={"command": "stats", "path": str(args.path)})
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

    from brud_analysis.output import check_output_path, print_json, provenance
    from verify.halfcheetah.behaviour import load_policy, numpy_policy, policy_path
    from verify.halfcheetah.dataset_statistics import dataset_stats
    from verify.halfcheetah.env import record_transitions
    from verify.halfcheetah.vault import (
        Transitions,
        combine_vaults,
        episode_starts,
        load_vault,
        write_vault,
    )

    if not 1 <= args.episodes <= MAX_EPISODES:
        raise BrudError(f"--episodes must be in [1, {MAX_EPISODES}] (about 0.2 MB in memory per "
                        f"episode), got {args.episodes}")
    if not 0 <= args.seed < 2**31 - MEDIUM_SEED_OFFSET - MAX_EPISODES:
        raise BrudError(f"--seed must be in [0, {2**31 - MEDIUM_SEED_OFFSET - MAX_EPISODES}), "
                        f"got {args.seed}")
    if not np.isfinite(args.noise) or args.noise < 0:
        raise BrudError(f"--noise must be a finite number >= 0, got {args.noise}")
    root = Path(args.out).expanduser() / VAULT_NAME
    check_output_path(root, directory=True)
    configs = {
        "Good": _recording_config("Good", args.good_policy, args, args.seed),
        "Medium": _recording_config("Medium", args.medium_policy, args,
                                    args.seed + MEDIUM_SEED_OFFSET),
    }
    configs["GoodMedium"] = {"dataset": "GoodMedium", "combined_from": ["Good", "Medium"],
                             "sources": [configs["Good"], configs["Medium"]]}
    # Decide for every dataset before any long work: keep it, refuse, or (re-)record it.
    todo = [name for name in DATASETS
            if not (root / name).exists() or not _same_settings(root / name, configs[name],
                                                                 args.force)]
    params = {name: load_policy(policy_path(configs[name]["policy"]))
              for name in ("Good", "Medium") if name in todo}
    data: dict[str, Transitions] = {}
    for name in ("Good", "Medium"):
        path = root / name
        if name not in todo:
            data[name] = load_vault(path)
            _check_episodes(data[name], path, args.episodes, episode_starts)
            print(f"{path} exists with the same settings: kept", file=sys.stderr)
            continue
        config = configs[name]
        data[name] = record_transitions(numpy_policy(params[name]), args.episodes,
                                        config["reset_seed"], args.noise, progress=True,
                                        desc=name)
        write_vault(path, data[name], metadata={"provenance": provenance(config)},
                    overwrite=args.force)
        print(f"wrote {path}", file=sys.stderr)
    path = root / "GoodMedium"
    if "GoodMedium" in todo:
        combine_vaults([root / "Good", root / "Medium"], path,
                       metadata={"provenance": provenance(configs["GoodMedium"])},
                       overwrite=args.force)
        print(f"wrote {path}", file=sys.stderr)
    else:
        print(f"{path} exists with the same settings: kept", file=sys.stderr)
    data["GoodMedium"] = Transitions(*(np.concatenate([g, m]) for g, m in
                                       zip(data["Good"], data["Medium"], strict=True)))
    result = {name: {"path": str(root / name), **dataset_stats(data[name])} for name in DATASETS}
    if args.json:  # keyed by uid under `datasets`, as in `halfcheetah report` (docs/json.md)
        print_json({"datasets": result})
    else:
        for name in DATASETS:
            print(_format_stats(result[name]))
    return 0


def _recording_config(dataset: str, policy: str, args: argparse.Namespace,
                      reset_seed: int) -> dict[str, Any]:
    """The settings that determine a recorded dataset (stored in its provenance)."""
    from verify.halfcheetah.behaviour import policy_path

    path = policy_path(policy)
    return {
        "dataset": dataset,
        "policy": str(policy),
        "policy_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "episodes": args.episodes,
        "seed": args.seed,
        "reset_seed": reset_seed,
        "noise": args.noise,
    }


def _same_settings(path: Path, requested: dict[str, Any], force: bool) -> bool:
    """True when the dataset at ``path`` was recorded with ``requested``; False when it differs
    and ``force`` is set (re-record it); otherwise a one-line refusal."""
    from verify.halfcheetah.vault import vault_metadata

    recorded = vault_metadata(path).get("provenance", {}).get("config")
    if recorded is not None and _without_names(recorded) == _without_names(requested):
        return True
    if force:
        return False
    if recorded is None:
        why = "records no settings (written by another tool or an older version)"
    else:
        why = "was recorded with " + _differences(recorded, requested)
    raise BrudError(f"{path} {why}; choose another --out, or --force to re-record it")


def _without_names(config: Any) -> Any:
    """A recording config without the policy's display name: the same file given by name or by
    path (same ``policy_sha256``) is the same setting."""
    if isinstance(config, dict):
        return {k: _without_names(v) for k, v in config.items() if k != "policy"}
    if isinstance(config, list):
        return [_without_names(v) for v in config]
    return config


def _differences(recorded: dict[str, Any], requested: dict[str, Any]) -> str:
    """``key recorded (requested value)`` for each differing setting; nested sources by name."""
    parts = []
    recorded, requested = _without_names(recorded), _without_names(requested)
    for key in sorted(set(recorded) | set(requested)):
        old, new = recorded.get(key), requested.get(key)
        if old == new:
            continue
        if key == "sources" and isinstance(old, list) and isinstance(new, list):
            names = [n.get("dataset", "?") for n in new]
            parts.append(f"other {'/'.join(names)} data")
        elif key == "policy_sha256":
            parts.append("another policy file")
        else:
            parts.append(f"{key} {old} (requested {new})")
    return ", ".join(parts)


def _check_episodes(transitions, path: Path, episodes: int, episode_starts) -> None:
    found = len(episode_starts(transitions))
    if found != episodes:
        raise BrudError(f"{path} holds {found} episodes, but its settings say {episodes}: a "
                        "damaged dataset; remove it or use --force")


def _combine(args: argparse.Namespace) -> int:
    from brud_analysis.output import print_json, provenance
    from verify.halfcheetah.vault import combine_vaults, vault_info

    config = {"command": "combine", "sources": list(args.sources), "out": args.out}
    out = Path(args.out).expanduser()  # shown as given (relative stays relative)
    combine_vaults(args.sources, out, metadata={"provenance": provenance(config)},
                   overwrite=args.force)
    info = vault_info(out)
    result = {"path": str(out), "transitions": info.transitions, "sources": list(args.sources),
              "environment": info.environment}
    if args.json:
        print_json(result)
    else:
        print(f"wrote {out}: {info.transitions} transitions from {len(args.sources)} datasets "
              f"({info.environment})")
    return 0


def _train_behaviour(args: argparse.Namespace) -> int:
    from brud_analysis.output import check_output_path, print_json
    from verify.halfcheetah.behaviour import TD3Config, export_best_policies, train_behaviour

    if args.steps < 20_000:
        raise BrudError(f"--steps must be >= 20000 (10000 random steps come first), got "
                        f"{args.steps}")
    out = Path(args.out).expanduser()
    run_dir = Path(args.run_dir).expanduser() if args.run_dir else out / "run"
    if args.eval_every < 1000 or args.eval_every % 1000:
        raise BrudError(f"--eval-every must be a positive multiple of 1000, got {args.eval_every}")
    check_output_path(out, directory=True)  # before hours of training, not after
    check_output_path(run_dir, directory=True)
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
