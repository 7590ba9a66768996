"""``brud verify GAME --data ... --critic FEATURES [...]``: train a CQL critic and actors and
check them against the derivation (:func:`verify.critic_training.verify_critic`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from brud_analysis.errors import BrudError

# brud verify's own defaults: with --critic the steps and learning rates are derived instead,
# so an option left at its default is not taken as a request
_VERIFY_DEFAULTS = {"steps": 2000, "lr": 0.01, "dataset_size": 1000}
_NOT_WITH_CRITIC = (("--pjap", "pjap"), ("--regulariser", "regulariser"), ("--init", "init"),
                    ("--clip", "clip"), ("--plot", "plot"), ("--animate", "animate"))


def run_critic_verify(args: argparse.Namespace, game: Any, data: Any) -> int:
    """``brud verify ... --critic``: one line per predicted point, or JSON; exit 0 whatever the
    verdict (the verdict is the output), 2 for bad input.

    Example:
        >>> ns = argparse.Namespace(critic="degree=2", cql="1", ood=None, ood_box=None,
        ...     ood_std=None, rule=None, seeds=2, steps=2000, lr=0.01, batch_size=64,
        ...     dataset_size=1000, seed=0, json=True, output=None, pjap=None, regulariser=None,
        ...     init=None, clip=None, plot=None, animate=None)
        >>> from brud_analysis.data import Normal
        >>> from brud_analysis.game import Game
        >>> import contextlib, io
        >>> buffer = io.StringIO()
        >>> with contextlib.redirect_stdout(buffer):
        ...     code = run_critic_verify(ns, Game("-(x - y)**2"), Normal([1, -1], [1, 1]))
        >>> code, json.loads(buffer.getvalue())["status"]
        (0, 'passed')
    """
    from brud_analysis.cli.critic import critic_spec_from_args
    from brud_analysis.output import print_json, provenance, to_jsonable, write_atomic
    from verify.critic_training import CriticTrainConfig, verify_critic

    for flag, name in _NOT_WITH_CRITIC:
        if getattr(args, name, None) is not None:
            raise BrudError(f"{flag} does not combine with --critic yet")
    if args.lr != _VERIFY_DEFAULTS["lr"]:
        raise BrudError("--lr is not used with --critic: the critic's and actors' learning "
                        "rates are derived (docs/critics.md#verification)")
    spec = critic_spec_from_args(args)
    config = CriticTrainConfig(
        steps=None if args.steps == _VERIFY_DEFAULTS["steps"] else args.steps,
        seeds=args.seeds, batch_size=args.batch_size, seed=args.seed,
        dataset_size=max(args.dataset_size, 2))
    result = verify_critic(game, data, spec, config)
    summary = result.to_json()
    if args.output:
        write_atomic(args.output, json.dumps(to_jsonable(
            summary | {"provenance": provenance(summary["config"] | {"spec": spec.describe()})}),
            indent=2))
    if args.json:
        print_json(summary)
    else:
        print(f"trained {args.seeds} runs x {result.steps} updates (critic lr "
              f"{result.critic_lr:.4g}, actor lr {result.actor_lr:.4g}, batch "
              f"{args.batch_size}); SGD map spectral radius {result.spectral_radius}")
        print(result.summary())
    return 0
