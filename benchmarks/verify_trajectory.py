"""What the trajectory check costs: `verify_game` CPU time with and without it, same run.

Each setting is verified alternately with ``check_trajectory=True`` and ``False`` (after one
warm-up of each, so compilation is not timed), ``--repeats`` times; the ratio of the medians
per setting and the median of those ratios are printed (a ratio, never an absolute time: the
machine is shared; CPU time of the process, all threads, which a loaded machine inflates far
less than wall time; ``--wall`` for wall time). Run:

    python benchmarks/verify_trajectory.py --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from brud_analysis.catalogue import sign_agreement, twin_peaks
from brud_analysis.data import Normal, Uniform
from brud_analysis.game import Game
from verify.harness import verify_game
from verify.sampling import PJAPConfig

SETTINGS = {
    "twin peaks, 256 x 2000 (CLI default)": (twin_peaks(), Normal([0.6, 0.6], [0.3, 0.3]),
                                             dict(seeds=256, steps=2000, lr=0.01)),
    "twin peaks PJAP L1": (twin_peaks(), Normal([0.6, 0.6], [0.4, 0.4]),
                           dict(seeds=64, steps=800, lr=0.02, dataset_size=300,
                                pjap=PJAPConfig(alpha=16.0, eps=1e-3))),
    "sign agreement (drift)": (sign_agreement(), Uniform([-1, -1], [1, 1]),
                               dict(seeds=128, steps=1000)),
    "3 agents, clip": (Game("-x**2 - y**2 - z**2 + x*y + y*z"),
                       Normal([0.6, -0.4, 0.2], [0.3, 0.4, 0.3]),
                       dict(seeds=128, steps=1000, lr=0.02, clip=0.5)),
}


def main() -> None:
    """Time every setting both ways and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--wall", action="store_true", help="time wall clock, not CPU")
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    ratios = []
    for name, (game, data, kwargs) in SETTINGS.items():
        times: dict[bool, list[float]] = {True: [], False: []}
        for check in (True, False):  # warm-up: compile the trainer once
            verify_game(game, data, check_trajectory=check, **kwargs)
        for _ in range(args.repeats):
            for check in (True, False):
                start = clock()
                verify_game(game, data, check_trajectory=check, **kwargs)
                times[check].append(clock() - start)
        ratio = statistics.median(times[True]) / statistics.median(times[False])
        ratios.append(ratio)
        print(f"{name}: with {statistics.median(times[True]):.2f} s, without "
              f"{statistics.median(times[False]):.2f} s (medians of {args.repeats}), "
              f"ratio {ratio:.2f}", flush=True)
    print(f"median ratio over {len(ratios)} settings: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
