"""Run every claim, regenerate the figures and write ``report.md`` + ``results.json``."""

from __future__ import annotations

import json
import os
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Any

from paper_checks.claims import STATUSES, ClaimResult, Context, load_all, run_claims
from paper_checks.errata import errata

TITLE = "Coordination Failure in Cooperative Offline MARL (Tilbury, Formanek et al., 2024)"


def run_report(out_dir: str | os.PathLike[str], *, quick: bool = False,
               halfcheetah_results: str | os.PathLike[str] | None = None,
               only: list[str] | None = None, figures: bool = True,
               progress: bool = False) -> dict[str, Any]:
    """Check the claims (all, or the ids in ``only``), draw the figures, write the report.

    Returns the JSON payload (also written to ``OUT/results.json``); ``payload["errors"]`` counts
    checks and figures that raised.

    Example:
        >>> import tempfile
        >>> p = run_report(tempfile.mkdtemp(), quick=True, only=["tp.optimum"], figures=False)
        >>> p["claims"][0]["status"], p["errors"]
        ('confirmed', 0)
    """
    from brud_analysis.bounded import cpu_clock
    from brud_analysis.errors import BrudError
    from brud_analysis.output import check_output_path, provenance, to_jsonable, write_atomic

    start, cpu_start = time.perf_counter(), cpu_clock()
    out = check_output_path(out_dir, directory=True)
    if halfcheetah_results is not None and not Path(halfcheetah_results).is_file():
        raise BrudError(f"--halfcheetah-results: no such file: {halfcheetah_results}")
    out.mkdir(parents=True, exist_ok=True)
    registry = load_all()
    if only:
        unknown = [c for c in only if c not in registry]
        if unknown:
            raise BrudError(f"unknown claim id(s) {', '.join(unknown)}; known: "
                            f"{', '.join(registry)}")
        claims = [registry[c] for c in only]
    else:
        claims = list(registry.values())
    ctx = Context.for_mode(out, quick, Path(halfcheetah_results) if halfcheetah_results else None)
    results = run_claims(ctx, claims, progress=progress)
    written: dict[str, str] = {}  # figure label -> path
    failed: dict[str, str] = {}   # figure label -> error
    figures_cpu = cpu_clock()
    if figures:
        from paper_checks.figures import make_figures

        if progress:
            import sys

            print("figures ...", file=sys.stderr, flush=True)  # one line; tqdm is per claim
        written, failed = make_figures(ctx)
    seen = set(written.values())
    for r in results:  # figures produced by checks themselves (Fig. 6 from HalfCheetah, ...)
        for k, f in enumerate([] if r.outcome is None else r.outcome.figures):
            if f in seen:  # one figure shared by two claims is listed once
                continue
            seen.add(f)
            written[r.claim.id if k == 0 else f"{r.claim.id} ({k + 1})"] = f
    figures_cpu = cpu_clock() - figures_cpu
    seconds, cpu_seconds = time.perf_counter() - start, cpu_clock() - cpu_start
    counts = Counter(r.status for r in results)
    payload = {
        "paper": TITLE,
        "mode": "quick" if quick else "full",
        "seeds": ctx.seeds, "steps": ctx.steps,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "figures_cpu_seconds": round(figures_cpu, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}",
        "counts": {s: counts.get(s, 0) for s in STATUSES},
        "errors": counts.get("error", 0) + len(failed),
        "claims": [r.to_json() for r in results],
        "figures": list(written.values()),
        "figure_errors": failed,
        "errata": [e.__dict__ for e in errata()],
        "provenance": provenance({"quick": quick, "only": only, "figures": figures,
                                  "halfcheetah_results": halfcheetah_results,
                                  "seeds": ctx.seeds, "steps": ctx.steps}),
    }
    payload = to_jsonable(payload)
    write_atomic(out / "results.json", json.dumps(payload, indent=1))
    write_atomic(out / "report.md", render_markdown(payload, results, written, out))
    return payload


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(payload: dict[str, Any], results: list[ClaimResult],
                    figures: dict[str, str], out: Path) -> str:
    """The human-readable report: verdict table, figures, claim details, errata."""
    lines = [f"# Paper checks: {payload['paper']}", ""]
    lines += [f"Mode **{payload['mode']}** ({payload['seeds']} seeds, {payload['steps']} "
              f"updates per run where not stated otherwise); took **{payload['seconds']:.0f} s** "
              f"of wall time and **{payload['cpu_seconds']:.0f} s of CPU** (figures "
              f"{payload['figures_cpu_seconds']:.0f} s) on {payload['machine']}.", ""]
    counts = ", ".join(f"{n} {s}" for s, n in payload["counts"].items() if n)
    lines += [f"Verdicts: {counts}.", ""]
    lines += ["Each claim is derived with the symbolic core (`brud_analysis`) and, where "
              "training can show it, confirmed with the JAX verifier (`verify`). *confirmed*: "
              "derivation and training agree with the paper; *partly*: true with caveats the "
              "paper leaves out; *refuted*: contradicted; *inconclusive*: ran, but on less "
              "evidence than the check states it needs (reason given); *not run*: could not "
              "run (reason given); *error*: the check itself failed.", ""]
    beyond = [r for r in results if r.claim.section == "beyond_paper"]  # not the paper's
    for title, group in (("Verdicts", [r for r in results if r not in beyond]),
                         ("Beyond the paper (not claims of the paper)", beyond)):
        if not group:
            continue
        lines += [f"## {title}", "", "| Claim | Paper | Verdict | CPU s | Why / note |",
                  "|---|---|---|---|---|"]
        for r in group:
            j = r.to_json()
            note = j["why"].splitlines()[0] if j["why"] else j.get("note", "")
            lines.append(f"| `{j['id']}` | {_cell(j['location'])} | **{j['status']}** | "
                         f"{j['cpu_seconds']:.1f} | {_cell(note)} |")
        lines.append("")
    if figures:
        lines += ["## Figures", ""]
        for label, path in figures.items():
            rel = os.path.relpath(path, out)
            lines += [f"### {label}", "", f"![{label}]({rel})", ""]
    if payload.get("figure_errors"):
        lines += ["Figure errors:", ""]
        lines += [f"- {k}: `{_cell(v.splitlines()[0])}`" for k, v in
                  payload["figure_errors"].items()]
        lines.append("")
    lines += ["## Claims in detail", ""]
    for r in results:
        j = r.to_json()
        lines += [f"### `{j['id']}`: {j['status']}", "", f"*{j['location']}*: {j['statement']}",
                  ""]
        if j["paper_value"]:
            lines += [f"Paper: `{j['paper_value']}`", ""]
        lines += [f"Refuted if: {j['refuted_if']}", ""]
        if j["derived"] is not None:
            lines += ["Derived (symbolic):", "", "```json",
                      json.dumps(j["derived"], indent=1, default=str), "```", ""]
        if j["numeric"] is not None:
            lines += ["Numeric (training):", "", "```json",
                      json.dumps(j["numeric"], indent=1, default=str), "```", ""]
        if j["why"]:
            lines += ["Why: " + (j["why"] if r.status != "error" else
                                 f"\n```\n{j['why']}\n```"), ""]
        lines += [f"({j['cpu_seconds']} s of CPU, {j['seconds']} s of wall time)", ""]
    lines += ["## Errata and omissions", "", "| Where | Paper says | Read as | Evidence |",
              "|---|---|---|---|"]
    for e in payload["errata"]:
        lines.append(f"| {_cell(e['location'])} | {_cell(e['paper_text'])} | "
                     f"{_cell(e['reading'])} | {_cell(e['evidence'])} |")
    lines.append("")
    prov = payload.get("provenance") or {}
    lines += ["## Provenance", "", "```json", json.dumps(prov, indent=1, default=str), "```", ""]
    return "\n".join(lines)
