"""Record small Good / Medium / GoodMedium HalfCheetah datasets and print their statistics.

Run from the repository root:

    .venv/bin/python examples/halfcheetah_datasets.py --out /tmp/hc-data --episodes 5

Equivalent CLI: ``brud halfcheetah datasets --out /tmp/hc-data --episodes 5`` (which also
records its settings and refuses to mix them). The datasets are flashbax Vaults in OG-MARL's
layout; :func:`verify.halfcheetah.vault.load_vault` reads them (and OG-MARL's own
``mamujoco/2halfcheetah`` vaults) into time-major arrays for offline learners, and
:func:`verify.halfcheetah.vault.combine_vaults` concatenates datasets
(``brud halfcheetah combine``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from brud_analysis.output import provenance
from verify.halfcheetah.behaviour import load_policy, numpy_policy
from verify.halfcheetah.dataset_statistics import dataset_stats
from verify.halfcheetah.env import record_transitions
from verify.halfcheetah.vault import combine_vaults, episode_starts, load_vault, write_vault


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/hc-data")
    parser.add_argument("--episodes", type=int, default=5)
    args = parser.parse_args()
    root = Path(args.out) / "2halfcheetah.vlt"
    for seed, name in enumerate(("good", "medium")):
        path = root / name.capitalize()
        if not path.exists():
            config = {"policy": name, "episodes": args.episodes, "seed": 1000 * seed,
                      "noise": 0.2}
            data = record_transitions(numpy_policy(load_policy(name)), args.episodes,
                                      seed=1000 * seed, noise_std=0.2)
            write_vault(path, data, metadata={"provenance": provenance(config)})
    if not (root / "GoodMedium").exists():
        combine_vaults([root / "Good", root / "Medium"], root / "GoodMedium")
    for name in ("Good", "Medium", "GoodMedium"):
        data = load_vault(root / name)
        s = dataset_stats(data)
        print(f"{name:>10}: {s['episodes']} episodes ({len(episode_starts(data))} starts), "
              f"{s['transitions']} transitions, return {s['return_mean']:.0f} +- "
              f"{s['return_std']:.0f} [{s['return_min']:.0f}, {s['return_max']:.0f}]")


if __name__ == "__main__":
    main()
