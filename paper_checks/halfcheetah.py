"""Paper Sec. 4.2: PJAP in 2-agent HalfCheetah (Eq. 8, Fig. 6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from paper_checks.claims import Context, NotRun, Outcome, claim, fmt, require

BASELINE, PJAP = "maddpg-cql", "maddpg-cql-pjap"
HOW_TO_RUN = ("run `brud halfcheetah train --system maddpg-cql[-pjap] --dataset VAULT --out DIR` "
              "for both systems on the Good and Good-Medium vaults, then `brud halfcheetah "
              "report DIR... --out RESULTS`, and pass `--halfcheetah-results RESULTS/summary.json`")


def find_results(ctx: Context) -> Path | None:
    """The ``brud halfcheetah report`` summary to use: the given path, or a conventional one."""
    candidates = [ctx.halfcheetah_results] if ctx.halfcheetah_results else [
        ctx.out_dir / "halfcheetah" / "summary.json", Path("results/halfcheetah/summary.json")]
    for path in candidates:
        if path is not None:
            path = Path(path)
            if path.is_dir():
                path = path / "summary.json"
            if path.is_file():
                return path
    return None


@claim("eq8.sequence_distance", "Sec. 4.2, Eq. 8",
       "For sequences, d(mu_k, beta_tau) = 1/(N T) sum_i sum_t |mu_i(o_t^i) - a_t^i|: the mean "
       "absolute gap between the policy's and the data's actions over agents and time.",
       paper_value="d = 1/(N.T) sum_i sum_t ||mu(o_i(t)), a_i(t)||_1")
def check_eq8(ctx: Context) -> Outcome:
    jax = require("jax")
    sampling = require("verify.sampling")
    rng = np.random.default_rng(13)
    policy = rng.uniform(-1, 1, size=(5, 20, 2, 3))  # (sequences, T, agents, action dims)
    data = rng.uniform(-1, 1, size=(5, 20, 2, 3))
    by_hand = np.array([
        sum(np.abs(policy[b, t, i] - data[b, t, i]).sum() / 3 for i in range(2)
            for t in range(20)) / (2 * 20) for b in range(5)])
    got = np.asarray(sampling.sequence_distance(jax.numpy.asarray(policy),
                                                jax.numpy.asarray(data)))
    ok = np.allclose(got, by_hand, rtol=1e-5)
    return Outcome(
        "confirmed" if ok else "refuted",
        derived={"d": "mean over agents, time (and action dimensions) of |mu - a|"},
        numeric={"max |sampler - by hand|": float(np.max(np.abs(got - by_hand)))},
        why="" if ok else "the sampler's sequence distance differs from Eq. 8")


@claim("fig6.halfcheetah", "Sec. 4.2, Fig. 6",
       "On 2-agent HalfCheetah (Good and Good-Medium datasets), MADDPG+CQL+PJAP lowers the mean "
       "distance between sampled and policy actions and reaches a higher normalised return "
       "(median, IQM, mean) than MADDPG+CQL.")
def check_fig6(ctx: Context) -> Outcome:
    path = find_results(ctx)
    if path is None:
        raise NotRun("no HalfCheetah results yet (the full experiment needs a GPU): " + HOW_TO_RUN)
    summary = json.loads(path.read_text())
    rows, better_all, closer_all, configs = {}, True, True, set()
    for dataset, entry in summary.get("datasets", {}).items():
        systems = entry.get("systems", {})
        if BASELINE not in systems or PJAP not in systems:
            continue
        base, pjap = systems[BASELINE], systems[PJAP]
        configs.update({str(base.get("config")), str(pjap.get("config"))})
        better = {agg: pjap[agg]["estimate"] > base[agg]["estimate"]
                  for agg in ("median", "iqm", "mean")}
        closer = pjap["mean_distance_over_training"] < base["mean_distance_over_training"]
        rows[dataset] = {
            **{f"{agg} (baseline -> PJAP)": [fmt(base[agg]["estimate"]),
                                              fmt(pjap[agg]["estimate"])]
               for agg in ("median", "iqm", "mean")},
            "mean distance (baseline -> PJAP)": [fmt(base["mean_distance_over_training"]),
                                                 fmt(pjap["mean_distance_over_training"])],
            "P(PJAP > baseline)": fmt(entry.get("probability_of_improvement", {})
                                      .get("pjap_over_baseline", {}).get("estimate")),
            "seeds": [base.get("seeds"), pjap.get("seeds")],
            "updates": [base.get("updates"), pjap.get("updates")],
        }
        better_all &= all(better.values())
        closer_all &= closer
    if not rows:
        raise NotRun(f"{path} has no dataset with both systems: " + HOW_TO_RUN)
    figures = [summary["figure"]] if summary.get("figure") else []
    numeric = {"results": str(path), "configs": sorted(configs), **rows}
    scaled = configs != {"paper"}
    held = (f"PJAP lowered the distance on every dataset: {closer_all}; raised median, IQM "
            f"and mean on every dataset: {better_all}")
    if len(rows) < 2:
        held += f"; only {sorted(rows)} checked (the paper used Good and Good-Medium)"
    caveat = (f" (scaled configuration {sorted(configs)}, not the paper's 500k updates x 10 "
              "seeds: a direction, not a reproduction)") if scaled else ""
    if closer_all and better_all and not scaled and len(rows) >= 2:
        return Outcome("confirmed", numeric=numeric, figures=figures)
    if closer_all or better_all:
        return Outcome("partly", numeric=numeric, figures=figures, why=held + caveat)
    return Outcome("refuted", numeric=numeric, figures=figures, why=held + caveat)
