"""``brud verify`` and ``brud online``: train agents and check the symbolic predictions.

JAX and matplotlib are imported inside the handlers so that ``brud --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from brud_analysis.cli.options import (
    add_data_options,
    add_regulariser_option,
    data_model_from_args,
    output_file,
    regulariser_from_args,
)
from brud_analysis.errors import BrudError

_PJAP_KEYS = ("alpha", "eps", "distance", "exponent", "refresh", "importance")


def parse_pjap(text: str):
    """Parse ``alpha=16,eps=1e-3,distance=l1`` (also ``exponent``, ``refresh``, ``importance``).

    Example:
        >>> parse_pjap("alpha=16,eps=1e-3,distance=l2").distance
        'l2'
    """
    import math

    from verify.sampling import PJAPConfig

    values: dict[str, Any] = {}
    if not text.strip():  # `--pjap ""` must not silently train without PJAP
        raise BrudError("--pjap is empty: give alpha=.. (e.g. --pjap alpha=16,eps=1e-3)")
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep or name not in _PJAP_KEYS:
            raise BrudError(f"bad --pjap item {part!r}: use alpha=..,eps=..,distance=l1|l2 "
                            "(optional exponent=.., refresh=K, importance=true)")
        if name in values:
            raise BrudError(f"--pjap gives {name} twice")
        try:
            if name in ("alpha", "eps", "exponent"):
                values[name] = float(value)
            elif name == "refresh":
                values[name] = None if value.lower() in ("all", "none") else int(value)
            elif name == "importance":
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                values["importance_weights"] = value.lower() in ("true", "1", "yes")
            else:
                values[name] = value.lower()
        except ValueError:
            raise BrudError(f"bad --pjap value {part!r}") from None
        if isinstance(values.get(name), float) and not math.isfinite(values[name]):
            raise BrudError(f"--pjap {name} must be a finite number, got {value!r}")  # 1e400
    if "alpha" not in values:
        raise BrudError("--pjap needs alpha=.. (e.g. --pjap alpha=16,eps=1e-3,distance=l1)")
    return PJAPConfig(**values)


class _Progress:
    """Training progress on stderr (only once a run has taken a few seconds) and, on Ctrl-C or
    SIGTERM, one line saying what was done before the interrupt is re-raised (exit 130)."""

    QUIET_S = 3.0   # short runs print nothing
    EVERY_S = 5.0   # then one line at most this often

    def __init__(self, what: str, show: bool) -> None:
        self.what, self.show = what, show
        self.start = self.last = time.monotonic()
        self.done = self.total = 0
        self.finished: list[str] = []

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        now = time.monotonic()
        if self.show and now - self.start > self.QUIET_S and (
                now - self.last > self.EVERY_S or done == total):
            self.last = now
            print(f"{self.what}: {done}/{total} updates ({100 * done / total:.0f}%, "
                  f"{now - self.start:.0f} s)", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[Callable[[int, int], None]]:
        import signal

        def on_term(signum, frame):  # SIGTERM: the same clean stop as Ctrl-C
            raise KeyboardInterrupt

        try:
            previous = signal.signal(signal.SIGTERM, on_term)
        except ValueError:  # not the main thread: leave SIGTERM alone
            previous = None
        try:
            yield self
        except KeyboardInterrupt:
            done = "; ".join(self.finished + [f"{self.done}/{self.total or '?'} updates"])
            print(f"{self.what}: interrupted after {time.monotonic() - self.start:.1f} s "
                  f"({done}); no verdict, nothing written", file=sys.stderr, flush=True)
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _game(expr: str):
    from brud_analysis.game import Game

    game = Game(expr)
    game.require_numeric()
    return game


def _fmt(point) -> str:
    return "(" + ", ".join(f"{float(v):.4f}" for v in point) + ")"


def run_verify(args: argparse.Namespace) -> int:
    """Handler of ``brud verify``."""
    import numpy as np

    from brud_analysis.output import check_output_path, print_json, provenance, write_atomic
    from verify.harness import verify_game
    from verify.verdicts import TRAJECTORY_PERSISTENCE

    if args.output:  # before any training: a bad path is a one-line error, not lost work
        check_output_path(args.output)
    game = _game(args.expr)
    data = data_model_from_args(args, game)
    if data is None:
        raise BrudError("brud verify needs a data model: --data normal|uniform|PATH")
    from brud_analysis.cli.critic import critic_spec_from_args

    if critic_spec_from_args(args) is not None:  # a fitted critic: docs/critics.md
        from brud_analysis.cli.verify_critic import run_critic_verify

        return run_critic_verify(args, game, data)
    pjap = parse_pjap(args.pjap) if args.pjap is not None else None
    if getattr(args, "animate", None):  # refuse a bad path or format before training
        from verify.animation import check_animation_path

        check_animation_path(args.animate, game)
    regulariser = regulariser_from_args(args)  # beyond the paper; None without the flag
    if regulariser is not None and not regulariser.is_numeric():
        raise BrudError("brud verify needs a numeric regulariser weight (e.g. bc=0.5)")
    if args.plot and game.n_agents != 2:  # say so before training, not after
        raise BrudError(f"--plot draws the reward surface of 2-agent games; this one has "
                        f"{game.n_agents}")
    init = None
    if args.init is not None:
        if len(args.init) != game.n_agents:
            raise BrudError(f"--init needs {game.n_agents} values, got {len(args.init)}")
        init = np.array(args.init, np.float32)
    with _Progress("brud verify: training", show=True).interruptible() as progress:
        result = verify_game(
            game, data, seeds=args.seeds, steps=args.steps, lr=args.lr,
            batch_size=args.batch_size, pjap=pjap, init=init, dataset_size=args.dataset_size,
            seed=args.seed, clip=args.clip, bound=args.bound, progress=progress,
            **({"regulariser": regulariser} if regulariser is not None else {}),
        )
    summary = result.summary()
    if args.plot:
        from verify.plots import plot_verification

        summary["plot"] = str(plot_verification(result, game, args.plot))
    if getattr(args, "animate", None):
        from verify.animation import animate_verification

        summary["animation"] = str(animate_verification(result, game, args.animate, pjap=pjap,
                                                        batch_size=args.batch_size,
                                                        seed=args.seed))
    if args.output:
        import json

        from brud_analysis.output import to_jsonable

        config = {k: v for k, v in vars(args).items() if k != "handler"}
        write_atomic(args.output, json.dumps(to_jsonable(
            {**summary, "provenance": provenance(config)}), indent=2))
    if args.json:
        print_json(summary)
        return 0
    what = "PJAP" if pjap else "BRUD"
    if regulariser is not None:
        what += f"+{regulariser.describe()}"
    assert result.dataset is not None  # verify_game always returns the dataset it trained on
    print(f"game: R = {game.reward}   data: {data!r}, dataset N={result.dataset.shape[0]}")
    print(f"trained {args.seeds} runs x {args.steps} updates (lr {args.lr}, batch "
          f"{args.batch_size}{', ' + repr(pjap) if pjap else ''})")
    if result.predicted:
        for p in result.predicted:
            kind = {True: "stable", False: "unstable", None: "degenerate"}[p.stable]
            print(f"predicted {what} fixed point {_fmt(p.point)}  {kind} for SGD with lr "
                  f"{args.lr}")
    else:
        print(f"predicted: no {what} fixed point")
    for orbit in result.orbits:
        print(f"predicted period-2 orbit {_fmt(orbit['points'][0])} <-> "
              f"{_fmt(orbit['points'][1])}  stable for SGD with lr {args.lr}")
    if result.mode == "drift":
        print("no stable attractor: drift mode, the runs are compared with the reference map "
              "(symbolic field in NumPy, same step) from the same starts")
    for b in result.basins:
        if b.runs:
            # the one number the verdict compares: max(runs vs reference, prediction residual)
            print(f"  {b.kind} {_fmt(b.point)}: {b.runs} runs, observed {_fmt(b.observed_mean)}"
                  f", reference {_fmt(b.reference_mean)}, error {b.error:.2e} (runs "
                  f"{b.run_error:.2e}, prediction {b.prediction_error:.2e}) <= tolerance "
                  f"{b.tolerance:.2e}? {'yes' if b.passed else 'NO'}")
    if result.mode == "drift" and "reference_mean" in result.details:
        print(f"  mean final policy {_fmt(result.observed_mean)} vs reference map "
              f"{_fmt(result.details['reference_mean'])}: error {result.details['error']:.2e}, "
              f"tolerance {result.tolerance:.2e}")
    if "finite_data_shift" in result.details:
        population = "; ".join(_fmt(p) for p in result.details["population_predicted"])
        shift = max(result.details["finite_data_shift"])
        expected = max(result.details["finite_data_shift_expected"])
        print(f"  (population prediction {population}: the finite dataset moves it by "
              f"{shift:.1e}, expected ~{expected:.1e} = s / (h sqrt(N)))")
    unassigned = summary["unassigned_runs"]
    print(f"divergent runs: {result.divergent_runs} (the reference map predicts "
          f"{result.expected_divergent_runs}); runs near no prediction: {unassigned}")
    trajectory = result.details.get("trajectory", {})
    if trajectory.get("passed") is not None:
        # The rule as applied: a log point over the limit fails only within a stretch of
        # TRAJECTORY_PERSISTENCE in a row (printing "worst <= limit" read as false when one
        # outlying log point was over it and the check passed).
        print(f"  trajectory: {trajectory['compared_runs']} runs x {trajectory['log_points']} "
              f"log points vs the reference map's paths, chi-square limit "
              f"{trajectory['limit']:.3g} per log point: worst "
              f"{trajectory['worst_statistic']:.3g}, {trajectory['failed_logs']} over it, at most "
              f"{trajectory['longest_failing_stretch']} in a row < {TRAJECTORY_PERSISTENCE}? "
              f"{'yes' if trajectory['passed'] else 'NO'}")
    for reason in result.reasons:
        print(f"  - {reason}")
    status, _, note = result.verdict.partition(" ")
    print(f"verdict: {status.upper()}{' ' + note if note else ''}")
    if args.plot:
        print(f"plot: {summary['plot']}")
    if "animation" in summary:
        print(f"animation: {summary['animation']}")
    return 0


def run_online(args: argparse.Namespace) -> int:
    """Handler of ``brud online`` (paper Fig. 2)."""
    import jax
    import jax.numpy as jnp

    from brud_analysis.output import print_json
    from verify.polygames import OnlineConfig

    game = _game(args.expr)
    init = args.init if args.init is not None else ([-0.5, 0.6] + [0.0] * game.n_agents)[
        :game.n_agents]
    if len(init) != game.n_agents:
        raise BrudError(f"--init needs {game.n_agents} values, got {len(init)}")
    if not args.buffer_sizes:
        raise BrudError("--buffer-sizes needs at least one size")
    if args.steps < args.batch_size:  # updates wait for a full batch: none would ever run
        raise BrudError(f"--steps {args.steps} is below --batch-size {args.batch_size}: updates "
                        "start once the buffer holds a full batch, so no update would run")
    if getattr(args, "animate", None):  # refuse a bad path or format before training
        from verify.animation import check_animation_path

        check_animation_path(args.animate, game)
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    theta0 = jnp.broadcast_to(jnp.asarray(init, jnp.float32), (args.seeds, game.n_agents))
    rows, runs = [], {}
    progress = _Progress("brud online: training", show=True)
    with progress.interruptible():
        for size in args.buffer_sizes:
            traj, buffers = _train_online(game, size, args, keys, theta0, progress)
            progress.finished.append(f"buffer {size} done")
            rows.append(_online_row(size, traj, buffers))
            runs[size] = (jax.tree.map(lambda a: a[0], traj), buffers[0])
    out: dict[str, Any] = {"reward": str(game.reward), "steps": args.steps,
                           "batch_size": args.batch_size, "seeds": args.seeds, "init": init,
                           "results": rows}
    if args.plot:
        from verify.plots import plot_online

        out["plot"] = str(plot_online(game, runs, args.plot, steps=args.steps))
    if getattr(args, "animate", None):
        from verify.animation import animate_online

        # the first seed's run of each buffer size, replayed step by step (same keys)
        configs = [OnlineConfig(buffer_size=size, batch_size=args.batch_size, steps=args.steps,
                                noise_std=args.noise, updates_per_step=args.updates_per_step,
                                lr=args.lr, clip=args.clip) for size in args.buffer_sizes]
        out["animation"] = str(animate_online(game, configs, keys[0], init, args.animate))
    if args.json:
        print_json(out)
        return 0
    print(f"online MADDPG on R = {game.reward}: {args.steps} env steps, batch {args.batch_size}, "
          f"noise {args.noise}, {args.seeds} seed(s), start {init}")
    print("| buffer size | final policy | final reward | mean sample-policy L1 distance |")
    print("|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['buffer_size']} | {_fmt(r['observed_mean'])} | {r['final_reward']:.4f} "
              f"| {r['mean_distance']:.4f} |")
    if args.plot:
        print(f"plot: {out['plot']}")
    if "animation" in out:
        print(f"animation: {out['animation']}")
    return 0


def _train_online(game, size: int, args: argparse.Namespace, keys, theta0,
                  progress: Callable[[int, int], None]):
    """All seeds of one buffer size, in chunks of about a second (Ctrl-C lands between)."""
    import jax
    import numpy as np

    from verify.online_programs import chunk_programs, online_settings
    from verify.polygames import OnlineConfig, Trajectory, reward_function, run_in_chunks

    config = OnlineConfig(buffer_size=size, batch_size=args.batch_size, steps=args.steps,
                          noise_std=args.noise, updates_per_step=args.updates_per_step,
                          lr=args.lr, clip=args.clip, log_every=_divisor(args.steps))
    # one compiled trainer for every buffer size, learning rate and noise (same runs)
    init, advance, final_buffer = chunk_programs(game, config)
    settings = online_settings(config)
    n_logs = config.steps // config.log_every
    # ~2e6 (runs x updates x batch rows) per chunk: well under a second of CPU
    fit = max(1, int(2e6 // (len(keys) * config.log_every * config.updates_per_step
                             * config.batch_size)))
    size_logs = max(d for d in range(1, n_logs + 1) if n_logs % d == 0 and d <= fit)
    starts = np.arange(n_logs, dtype=np.uint32) * np.uint32(config.log_every)
    state, (policy, rew, dist) = run_in_chunks(
        lambda state, part: advance(state, part, settings), init(keys, theta0),
        starts, size_logs, config.log_every, progress)
    th0 = np.asarray(theta0)
    reward0 = np.asarray(jax.jit(reward_function(game))(theta0))  # jit: one compile, not per op
    traj = Trajectory(np.concatenate([th0[:, None], policy], axis=1),  # type: ignore[arg-type]
                      np.concatenate([reward0[:, None], rew], axis=1),  # type: ignore[arg-type]
                      dist)
    return traj, np.asarray(final_buffer(state, settings))[:, :size]


def _online_row(size: int, traj, buffers) -> dict[str, Any]:
    import numpy as np

    final = traj.policy[:, -1]
    buffer_gap = np.nanmean(np.abs(buffers - final[:, None, :]).sum(axis=2), axis=1)
    return {
        "buffer_size": size,
        "observed_mean": final.mean(axis=0).tolist(),
        "final_reward": float(traj.reward[:, -1].mean()),
        "mean_distance": float(np.nanmean(traj.distance)),
        "final_buffer_distance": float(buffer_gap.mean()),
    }


def _divisor(steps: int, points: int = 200) -> int:
    # at most 250 env steps per log (a chunk is >= 1 log: Ctrl-C lands within ~a second)
    # unless that makes more than 2000 logs
    every = max(1, steps // 2000, min(steps // points, 250))
    while steps % every:
        every -= 1
    return every


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _finite_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):  # inf would train nothing and "pass"
        raise argparse.ArgumentTypeError(f"expected a finite positive number, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``verify`` and ``online`` to the ``brud`` command.

    Example:
        >>> p = argparse.ArgumentParser(); register(p.add_subparsers())
        >>> p.parse_args(["verify", "x*y", "--seeds", "8"]).seeds
        8
    """
    p = subparsers.add_parser(
        "verify", help="train offline BRUD (or PJAP) agents and check the predicted fixed points",
        description="Sample a dataset from the data model, predict the BRUD (or PJAP) fixed "
                    "points of that finite dataset, train many seeds and compare within a "
                    "tolerance derived from the run.")
    p.add_argument("expr", help="polynomial reward, e.g. 'x*y' or 'twin_peaks(A=1, B=4, C=5)'")
    add_data_options(p)
    p.add_argument("--pjap", metavar="alpha=..,eps=..,distance=l1|l2",
                   help="train with PJAP prioritised sampling (docs/theory.md#pjap)")
    add_regulariser_option(p)
    p.add_argument("--seeds", type=_positive_int, default=256, help="independent runs")
    p.add_argument("--steps", type=_positive_int, default=2000, help="updates per run")
    p.add_argument("--lr", type=_positive_float, default=0.01, help="SGD learning rate")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--dataset-size", type=_positive_int, default=1000,
                   help="rows sampled from the data model (ignored for --data PATH)")
    p.add_argument("--init", type=_finite_float, nargs="+", metavar="THETA",
                   help="initial policy for every run (default: random around the data)")
    p.add_argument("--clip", type=_positive_float, default=None,
                   help="keep the policy in [-clip, clip]")
    p.add_argument("--bound", type=_positive_float, default=1e3,
                   help="|theta| beyond which a run counts as divergent")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed (dataset, inits, minibatches)")
    p.add_argument("--plot", metavar="PNG", type=output_file,
                   help="write trajectories / reward / distance plot")
    p.add_argument("--animate", metavar="FILE", type=output_file, help="write an animation (.gif, "
                   "or .mp4 with ffmpeg): policies moving over the reward surface with a sampled "
                   "minibatch and, with --pjap, the data's priorities")
    p.add_argument("--output", metavar="JSON", type=output_file,
                   help="also write the JSON summary to this file")
    p.add_argument("--json", action="store_true", help="print JSON")
    from brud_analysis.cli.critic import add_critic_options  # beyond the paper (issue 28)

    add_critic_options(p)
    p.set_defaults(handler=run_verify)

    q = subparsers.add_parser(
        "online", help="online MADDPG with a FIFO replay buffer (paper Fig. 2)",
        description="Train online MADDPG with Gaussian exploration for each buffer size and "
                    "show how stale buffers cause miscoordination.")
    q.add_argument("expr", help="polynomial reward, e.g. 'x*y'")
    q.add_argument("--buffer-sizes", type=_positive_int, nargs="+", default=[128, 256, 512, 1024])
    q.add_argument("--batch-size", type=_positive_int, default=64)
    q.add_argument("--steps", type=_positive_int, default=1000, help="environment steps")
    q.add_argument("--updates-per-step", type=_positive_int, default=1)
    q.add_argument("--noise", type=_finite_float, default=0.1, help="exploration noise std")
    q.add_argument("--lr", type=_positive_float, default=0.01)
    q.add_argument("--clip", type=_positive_float, default=1.0, help="action box [-clip, clip]")
    q.add_argument("--init", type=_finite_float, nargs="+", metavar="THETA",
                   help="initial policy (default -0.5 0.6)")
    q.add_argument("--seeds", type=_positive_int, default=1, help="runs per buffer size")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--plot", metavar="PNG", type=output_file, help="write the Fig. 2 style plot")
    q.add_argument("--animate", metavar="FILE", type=output_file, help="write an animation (.gif, "
                   "or .mp4 with ffmpeg): per buffer size, the policy, the FIFO buffer and each "
                   "minibatch")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(handler=run_online)
