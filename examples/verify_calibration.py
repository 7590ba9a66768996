"""Calibration of `brud verify`: how often does it say FAILED for an honest trainer?

Draws held-out cases with Hypothesis over every option of :func:`verify.harness.verify_game`:
2- and 3-agent games (linear fields from :func:`brud_analysis.strategies.
games_with_stable_brud_fixed_point`, cubic multi-basin fields, Twin Peaks), every data family
of :func:`brud_analysis.strategies.data_models` (normal, uniform, point, mixture), learning
rates 0.3x-1.3x the SGD stability limit ``2 / h_max``, uniform or PJAP sampling (L1/L2,
alpha 1-16, eps 0-1e-2, with and without importance weights) and no clip box, a wide one, one
whose wall cuts the fixed point off, or one whose wall lies within 1e-3 of it. Each case runs
the honest trainer and records the status and its reasons; every FAIL is a false alarm. Run
once (tens of minutes on 2 cores), not in CI:

    python examples/verify_calibration.py --cases 100 --output calibration.json
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import time

import jax
import numpy as np
import sympy
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from brud_analysis.catalogue import twin_peaks
from brud_analysis.data import Empirical, Mixture, Normal, PointMass, Uniform
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from brud_analysis.output import write_atomic
from brud_analysis.strategies import (
    games_with_nonlinear_brud_field,
    games_with_stable_brud_fixed_point,
)
from verify.datasets import sample_dataset
from verify.harness import verify_game
from verify.reference import ReferenceField, agent_orbits
from verify.sampling import PJAPConfig

PJAPS = st.one_of(st.none(), st.builds(
    PJAPConfig, alpha=st.sampled_from([1.0, 4.0, 16.0]),
    eps=st.sampled_from([0.0, 1e-4, 1e-3, 1e-2]), distance=st.sampled_from(["l1", "l2"]),
    importance_weights=st.booleans()))
CLIPS = st.sampled_from(["none", "wide", "cut", "near"])


def _twin_peaks_cases(draw_std):
    return st.tuples(st.just(twin_peaks()), draw_std.map(
        lambda s: Normal([0.6, 0.6], [s, s])))


CASES = st.one_of(
    games_with_stable_brud_fixed_point(2), games_with_stable_brud_fixed_point(3),
    games_with_nonlinear_brud_field(2), games_with_nonlinear_brud_field(3),
    _twin_peaks_cases(st.sampled_from([0.3, 0.6, 1.0])))


def _stable_roots(ref: ReferenceField, lr: float) -> list[float]:
    return [abs(o.values[0]) for i in range(ref.n) for o in agent_orbits(ref.polys[i], lr, None)
            if o.period == 1 and o.flow_stable]


def _summary(records: list[dict]) -> dict:
    counts = collections.Counter(rec["status"] for rec in records)
    return {"cases": len(records), "counts": counts,
            "false_fail_rate": counts["failed"] / max(1, len(records)),
            "inconclusive_reasons": collections.Counter(
                rec["reasons"][-1][:90] for rec in records if rec["status"] == "inconclusive"),
            "trajectory_checked": sum(rec.get("trajectory_passed") is not None
                                      for rec in records)}


def _check(record: dict, game, data, dataset: np.ndarray, pjap, draw: int, records: list,
           args: argparse.Namespace) -> None:
    """Run one honest check, append its record (and save all records so far)."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        r = verify_game(game, Empirical(dataset), seeds=args.seeds, steps=args.steps,
                        lr=record["lr"], seed=record["seed"], pjap=pjap, clip=record["clip"])
    except BrudError as err:  # e.g. PJAP weights underflow: a refusal, not a verdict
        record.update(status="refused", reasons=[str(err)], mode="")
    else:
        trajectory = r.details.get("trajectory", {})
        record.update(status=r.status, verdict=r.verdict, reasons=r.reasons, mode=r.mode,
                      compared_points=r.compared_points,
                      trajectory_passed=trajectory.get("passed"))
    record["seconds"] = round(time.perf_counter() - start, 1)
    record["cpu_seconds"] = round(time.process_time() - cpu, 1)
    record["draw"] = draw
    records.append(record)
    print(f"{draw:3d} {record['status']:12s} {record['mode']:11s} lr={record['lr']:.4g} "
          f"clip={record['clip_kind']} pjap={pjap is not None} R = {game.reward}", flush=True)
    if record["status"] != "passed":
        print("    " + json.dumps(record, default=str), flush=True)
    if args.output:  # save as we go: a killed run keeps every finished draw
        write_atomic(args.output, json.dumps({"summary": _summary(records),
                                              "records": records}, indent=1, default=str))


_FRACTION = re.compile(r"(?<![\w.])(\d+)/(\d+)")


def _replay(path: str, only: list[int] | None, part: int, parts: int, records: list,
            args: argparse.Namespace) -> None:
    """Rerun the cases recorded in an earlier calibration's JSON (game, data model, lr, PJAP,
    clip box, seed), so that two versions of the verifier are compared on the same cases
    (Hypothesis's draws change whenever a strategy's code does)."""
    names = {"Normal": Normal, "Uniform": Uniform, "PointMass": PointMass, "Mixture": Mixture,
             "PJAPConfig": PJAPConfig, "None": None, "R": sympy.Rational}
    recorded = {rec["draw"]: rec for rec in json.load(open(path))["records"]}
    # in the order given (most informative first), split over the parts after filtering
    order = [d for d in (only or recorded) if d in recorded]
    for k, draw in enumerate(order):
        old = recorded[draw]
        if k % parts != part:
            continue
        game = Game(old["game"])
        data = eval(_FRACTION.sub(r"R(\1, \2)", old["data"]), {"__builtins__": {}}, names)
        pjap = eval(old["pjap"], {"__builtins__": {}}, names)
        dataset = np.asarray(sample_dataset(jax.random.key(old["seed"]), data, 300))
        record = {key: old[key] for key in ("game", "data", "lr", "fraction", "pjap", "clip",
                                            "clip_kind", "seed")}
        record["before"] = old["status"]
        _check(record, game, data, dataset, pjap, draw, records, args)


def main() -> None:
    """Run the calibration and print the status counts (and every failure)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--output", help="write every record as JSON (atomically)")
    parser.add_argument("--part", default="0/1", help="K/P: run only draws K, K+P, ... (the "
                        "same draws in every process: P processes share one calibration)")
    parser.add_argument("--replay", help="an earlier calibration's JSON: rerun its recorded "
                        "cases instead of drawing new ones (compares two versions of the code)")
    parser.add_argument("--draws", help="comma-separated draw numbers: run only these (to "
                        "reproduce one draw alone; the draws are the same in every process)")
    args = parser.parse_args()
    part, parts = (int(v) for v in args.part.split("/"))
    only = [int(v) for v in args.draws.split(",")] if args.draws else None
    records: list[dict] = []
    drawn = [0]

    @settings(max_examples=args.cases, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=CASES, fraction=st.sampled_from([0.3, 0.6, 0.9, 1.1, 1.3]), pjap=PJAPS,
           clip=CLIPS, seed=st.integers(0, 1000))
    def one(case, fraction, pjap, clip, seed):
        drawn[0] += 1
        if (drawn[0] - 1) % parts != part or (only is not None and drawn[0] not in only):
            return
        game, data = case
        dataset = np.asarray(sample_dataset(jax.random.key(seed), data, 300))
        ref = ReferenceField(game, dataset)  # the uniform BRUD field: rates and roots
        rates = [-ref.polys[i].deriv()(o.values[0]) for i in range(ref.n)
                 for o in agent_orbits(ref.polys[i], 1e-3, None) if o.flow_stable]
        lr = fraction * 2 / max(rates) if rates and max(rates) > 0 else 0.01
        roots = _stable_roots(ref, lr)
        box = None
        if clip == "wide":
            box = 2.0 + max(roots, default=0.0)
        elif clip == "cut" and roots and max(roots) > 0.1:
            box = 0.8 * max(roots)
        elif clip == "near" and roots and max(roots) > 0.1:
            box = max(roots) + 1e-3 * (1 if seed % 2 else -1)  # just outside, or just inside
        record = {"game": str(game.reward), "data": repr(data), "lr": lr, "fraction": fraction,
                  "pjap": repr(pjap), "clip": box, "clip_kind": clip, "seed": seed}
        _check(record, game, data, dataset, pjap, drawn[0], records, args)

    if args.replay:
        _replay(args.replay, only, part, parts, records, args)
    else:
        one()
    summary = _summary(records)
    print(json.dumps(summary, indent=1))
    for rec in records:
        if rec["status"] == "failed":
            print(json.dumps(rec))
    if args.output:
        write_atomic(args.output, json.dumps({"summary": summary, "records": records},
                                             indent=1, default=str))


if __name__ == "__main__":
    main()
