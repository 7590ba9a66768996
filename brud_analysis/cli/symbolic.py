"""``brud analyse`` and ``brud condition``: the symbolic toolkit on the command line."""

from __future__ import annotations

import argparse
import math
from typing import Any

from brud_analysis.cli.options import (
    add_data_options,
    add_parametric_options,
    add_regulariser_option,
    add_time_budget_option,
    check_assumed_symbols,
    data_json,
    data_model_from_args,
    output_file,
    regulariser_from_args,
)
from brud_analysis.errors import BrudError
from brud_analysis.output import eigenvalue_pairs, exact_strings, fixed_point_records

__all__ = ["add_data_options", "data_model_from_args", "register"]


def register(subparsers: Any) -> None:
    """Add the ``analyse`` and ``condition`` subcommands to the ``brud`` parser.

    Example:
        >>> parser = argparse.ArgumentParser(prog="brud")
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["condition", "x*y", "--target", "1", "2"]).target
        ['1', '2']
    """
    p = subparsers.add_parser(
        "analyse",
        help="true field, stationary points/sets, BRUD field (and its fixed points for data)",
        description=(
            "Derive grad R, its stationary points (classified) and non-isolated stationary sets, "
            "and the BRUD field in terms of the data's moments; with --data also the BRUD fixed "
            "points and their stability. EXPR is a polynomial ('x*y', 'x^2*y') or a catalogue "
            "name ('twin_peaks(A=1, B=4, C=5)')."
        ),
    )
    p.add_argument("expr", metavar="EXPR", help="reward polynomial or catalogue name")
    p.add_argument("--agents", default=None, help="comma-separated agent names, in order")
    add_data_options(p)
    p.add_argument("--plot", metavar="PNG", default=None, type=output_file,
                   help="write true vs BRUD vector fields (needs --data, 2 agents)")
    add_time_budget_option(p, 10.0, "exact solving, its numeric fallback and the output")
    add_regulariser_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    add_parametric_options(p)
    from brud_analysis.cli.critic import add_critic_options  # beyond the paper (issue 28)

    add_critic_options(p)
    p.set_defaults(handler=run_analyse)

    c = subparsers.add_parser(
        "condition",
        help="data conditions for BRUD to reach a target joint action (generalised Eq. 5)",
        description=(
            "For each agent, the relation between the other agents' data means and stds that "
            "makes TARGET a BRUD fixed point, every real branch, and the admissible mean "
            "intervals (where a real std >= 0 exists); with three or more agents, when the "
            "relation involves several agents' data, whether data satisfying it exist and an "
            "example. Targets may be exact: 'sqrt(3/8)'."
        ),
    )
    c.add_argument("expr", metavar="EXPR", help="reward polynomial or catalogue name")
    c.add_argument("--agents", default=None, help="comma-separated agent names, in order")
    c.add_argument("--target", nargs="+", required=True, metavar="T",
                   help="target joint action, one value per agent; exact values allowed "
                        "('sqrt(3/8)'); for a leading minus sign use "
                        "--target=-sqrt(3/8),-sqrt(3/8)")
    c.add_argument("--family", default="normal", choices=("normal", "uniform"),
                   help="data family of the other agent, by mean and std (default normal; "
                        "uniform = on [mean - sqrt(3) std, mean + sqrt(3) std])")
    c.add_argument("--plot", metavar="PNG", default=None,
                   help="write the phase diagram over the other agent's data (mean, std): "
                        "BRUD limit, reward lost, condition curve and admissible means "
                        "(docs/theory.md#data-conditions)")
    add_time_budget_option(c, 60.0, "deriving every relation")
    add_regulariser_option(c)
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(handler=run_condition)


def _game(args: argparse.Namespace):
    from brud_analysis.game import Game

    agents = None
    if args.agents is not None:
        agents = [a.strip() for a in args.agents.split(",")]
        if not all(agents):
            raise BrudError(f"empty agent name in --agents {args.agents!r}")
    return Game(args.expr, agents=agents)


def _point_json(p) -> dict[str, Any]:
    """A classified stationary point (kinds and verdicts are certified; see stability.py)."""
    return {"point": list(p.point), "kind": p.kind, "exact": exact_strings(p.exact),
            "eigenvalues": eigenvalue_pairs(p.eigenvalues), "higher_order": p.higher_order,
            "reason": p.reason}


def _set_json(s) -> dict[str, Any]:
    """A stationary set with its pieces of constant kind and its special points."""
    return {"equations": [str(e) for e in s.equations], "dimension": s.dimension,
            "kind": s.kind,
            "pieces": [{"sample": list(pc.sample), "kind": pc.kind, "where": pc.where}
                       for pc in s.pieces],
            "special_points": [_point_json(p) for p in s.special_points],
            "reason": s.reason}


def analyse(game, data=None, time_budget: float = 10.0, assumptions=None,
            regulariser=None) -> dict[str, Any]:
    """Everything ``brud analyse`` reports, as a JSON-ready dict.

    With symbols in the game or the data the answer is formulas with conditions
    (:func:`brud_analysis.cli.parametric.analyse_parametric`; ``assumptions`` is an
    :class:`~brud_analysis.parametric.Assumptions`).

    Example:
        >>> from brud_analysis.game import Game
        >>> out = analyse(Game("-(x - y)**2"))
        >>> out["stationary_sets"][0]["equations"], out["has_maximum"]
        (['x - y'], True)
    """
    from brud_analysis.cli.parametric import (
        analyse_parametric,
        is_parametric,
        put_brud_field_moments,
    )
    from brud_analysis.fields import brud_field
    from brud_analysis.solve import brud_fixed_points, stationary_points

    if is_parametric(game, data, regulariser):
        return analyse_parametric(game, data, assumptions, time_budget, regulariser)
    out: dict[str, Any] = {
        "reward": str(game.reward),
        "latex": game.latex(),
        "agents": list(game.agent_names),
        "parameters": [p.name for p in game.parameters],
        "gradient": [str(d) for d in game.gradient],
        "hessian": [[str(v) for v in row] for row in game.hessian.tolist()],
        "notes": [],
    }
    if game.parameters:
        out.update(stationary_points=[], stationary_sets=[], has_maximum=None, method=None)
        out["notes"].append("symbolic parameters: give values to find stationary points")
    else:
        st = stationary_points(game, time_budget)
        out["stationary_points"] = [_point_json(p) for p in st.points]
        out["stationary_sets"] = [_set_json(s) for s in st.sets]
        out["has_maximum"] = st.has_maximum
        out["method"] = st.method
        out["complete"], out["incomplete_reasons"] = st.complete, list(st.incomplete_reasons)
        if st.has_maximum is False:
            out["notes"].append("the game has no maximum (every stationary point and set "
                                "found and classified)")
        elif st.has_maximum is None:
            out["notes"].append("whether the game has a maximum is not decided: none is "
                                "certified, and the answer is incomplete (see "
                                "incomplete_reasons)")
    put_brud_field_moments(out, game, regulariser)
    if data is not None:
        out["data"] = data_json(data)
        out["brud_field"] = [str(g) for g in brud_field(game, data, regulariser)]
        if game.parameters:
            out["brud_fixed_points"] = []
            out["notes"].append("symbolic parameters: give values to find BRUD fixed points")
        else:
            if regulariser is None:
                fp = brud_fixed_points(game, data, time_budget)
            else:
                from brud_analysis.regularisers import regularised_fixed_points

                fp = regularised_fixed_points(game, data, regulariser, time_budget)
            out["brud_fixed_points"], out["brud_fixed_sets"] = fixed_point_records(fp)
            out["brud_method"] = fp.method
            if not fp.complete:
                out["complete"] = False
                out["incomplete_reasons"] = [*out.get("incomplete_reasons", []),
                                             *fp.incomplete_reasons]
            if not fp.points and not fp.sets:
                out["notes"].append("BRUD has no fixed point for these data: the policy drifts")
    return out


def _set_text(s: dict[str, Any]) -> str:
    if s["equations"] == ["0"]:
        return f"of every joint action (dimension {s['dimension']})"
    eqs = ", ".join(f"{e} = 0" for e in s["equations"])
    return f"{{{eqs}}} (dimension {s['dimension']})"


def _print_analysis(out: dict[str, Any]) -> None:
    print(f"reward      R = {out['reward']}")
    print(f"agents      {', '.join(out['agents'])}"
          + (f"   parameters {', '.join(out['parameters'])}" if out["parameters"] else ""))
    print(f"grad R      ({', '.join(out['gradient'])})")
    if out.get("method"):
        print(f"stationary  ({out['method']})")
    for p in out["stationary_points"]:
        exact = f"  = ({', '.join(p['exact'])})" if p["exact"] else ""
        point = ", ".join(f"{v:.6g}" for v in p["point"])
        higher = f" (higher order: {p['higher_order']})" if p["higher_order"] else ""
        reason = f" [{p['reason']}]" if p.get("reason") else ""
        print(f"  point ({point}){exact}: {p['kind']}{higher}{reason}")
    for s in out["stationary_sets"]:
        print(f"  set {_set_text(s)}: {s['kind']}")
        for pc in s.get("pieces", []):
            sample = ", ".join(f"{v:.6g}" for v in pc["sample"])
            where = f" where {pc['where']}" if pc["where"] else ""
            print(f"    piece{where}: {pc['kind']} (sample point ({sample}))")
        for q in s.get("special_points", []):
            point = ", ".join(f"{v:.6g}" for v in q["point"])
            higher = f" (higher order: {q['higher_order']})" if q["higher_order"] else ""
            print(f"    special point ({point}): {q['kind']}{higher}")
        if s.get("reason"):
            print(f"    note: {s['reason']}")
    print(f"BRUD field  ({', '.join(out['brud_field_moments'])})   [moments of the data]")
    if "data" in out:
        print("data        " + ", ".join(f"{k} {v}" for k, v in out["data"].items()))
        print(f"BRUD field  ({', '.join(out['brud_field'])})")
        if out.get("brud_method"):
            print(f"fixed points ({out['brud_method']})")
        for p in out["brud_fixed_points"]:
            point = ", ".join(f"{v:.6g}" for v in p["point"])
            exact = f"  = ({', '.join(p['exact'])})" if p["exact"] else ""
            stable = {True: "stable", False: "unstable", None: "degenerate"}[p["stable"]]
            print(f"  point ({point}){exact}: {stable}")
        for s in out.get("brud_fixed_sets", []):
            print(f"  set {_set_text(s)}: {s['kind']}")
    for note in out["notes"]:
        print(f"note: {note}")
    if "complete" in out:
        print("complete    yes" if out["complete"] else "complete    NO: "
              + "; ".join(out.get("incomplete_reasons", [])))


def run_analyse(args: argparse.Namespace) -> int:
    """Handler of ``brud analyse``."""
    from brud_analysis.output import print_json

    game = _game(args)
    data = data_model_from_args(args, game)
    regulariser = regulariser_from_args(args)
    from brud_analysis.cli.critic import critic_spec_from_args, critic_symbol_names

    spec = critic_spec_from_args(args)
    check_assumed_symbols(args, _symbol_names(game, data, regulariser)
                          | critic_symbol_names(spec))
    if spec is not None:  # a fitted critic: docs/critics.md
        return _run_critic_analyse(args, game, data)
    game, data, regulariser, code = _parametric_path(args, game, data, regulariser)
    if code is not None:
        return code
    if args.plot and data is None:
        raise BrudError("--plot needs --data (the BRUD field depends on the data)")
    if args.plot and regulariser is not None:
        raise BrudError("--plot does not draw regularised fields yet; drop --plot or "
                        "--regulariser")
    # --time-budget bounds the whole command (brud stops its worker at the deadline): each exact
    # solve gets a share, so that the numeric fallback, classification and output fit in it too.
    out = analyse(game, data, args.time_budget * (0.3 if data is not None else 0.5),
                  regulariser=regulariser)
    if args.plot:
        from brud_analysis.plots import plot_fields

        marks = {
            "stationary points": [p["point"] for p in out["stationary_points"]],
            "BRUD fixed points": [p["point"] for p in out.get("brud_fixed_points", [])],
        }
        out["plot"] = str(plot_fields(game, data, args.plot, marks=marks))
    if args.json:
        print_json(out)
    else:
        _print_analysis(out)
        if args.plot:
            print(f"plot        {out['plot']}")
    return 0


def _symbol_names(game, data, regulariser) -> set[str]:
    """The names of the symbols the game, the data and the regulariser's weight hold."""
    symbols = {p.name for p in game.parameters}
    symbols |= {s.name for s in (data.free_symbols if data is not None else set())}
    return symbols | {p.name for p in (regulariser.parameters if regulariser else ())}


def _parametric_path(args: argparse.Namespace, game, data, regulariser=None
                     ) -> tuple[Any, Any, Any, int | None]:
    """Formulas (symbols left after --at), --latex or --sweep: the parametric report's job.

    Returns the game, data and regulariser with the --at values, and the exit code when it
    handled them.
    """
    from brud_analysis.cli.parametric import apply_at, is_parametric, run_parametric

    game, data, regulariser = apply_at(game, data, getattr(args, "at", None), regulariser)
    if (is_parametric(game, data, regulariser) or getattr(args, "sweep", None)
            or getattr(args, "latex", False)):
        return game, data, regulariser, run_parametric(args, game, data, regulariser)
    return game, data, regulariser, None


def _interval_json(lo: float, hi: float) -> list[float | None]:
    return [lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None]


def condition(game, target, family: str = "normal", regulariser=None) -> dict[str, Any]:
    """Everything ``brud condition`` reports, as a JSON-ready dict (null = unbounded end).

    Example:
        >>> from brud_analysis.game import Game
        >>> condition(Game("decoupled"), [0, 0])["possible"]
        False
    """
    from brud_analysis.conditions import data_conditions

    cond = data_conditions(game, target, family, regulariser=regulariser)
    extra: dict[str, Any] = {}
    if regulariser is not None:  # beyond the paper: its term reads the agent's own data
        extra = {"regulariser": regulariser.describe(),
                 "assumption": "exchangeable data: both agents' data have the same mean and "
                               "std (the regulariser reads each agent's own data)"}
    return extra | {
        "target": [float(t) if t.is_number else None for t in cond.target],
        "target_exact": [str(t) for t in cond.target],
        "family": cond.family,
        "possible": cond.possible,
        "per_agent": [
            {
                "agent": a.agent,
                "data_of": a.other,
                "possible": a.possible,
                "mean_intervals": [_interval_json(lo, hi) for lo, hi in a.mean_intervals],
                "mean_intervals_exact": [list(e) for e in a.exact_endpoints],
                "stable_mean_intervals": [_interval_json(lo, hi)
                                          for lo, hi in a.stable_mean_intervals],
                "relations": a.relations,
                "witness": a.witness,
                "reason": a.reason,
            }
            for a in cond.per_agent
        ],
    }


def _is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "." in text or "e" in text  # a float repr: no exact form was found


def _spans(intervals: list[list[float | None]]) -> str:
    def fmt(v: float | None, low: bool) -> str:
        return ("-inf" if low else "inf") if v is None else f"{v:.6g}"

    return ", ".join(f"[{fmt(lo, True)}, {fmt(hi, False)}]" for lo, hi in intervals)


def run_condition(args: argparse.Namespace) -> int:
    """Handler of ``brud condition``."""
    from brud_analysis.output import print_json
    from brud_analysis.parsing import parse_text

    game = _game(args)
    if getattr(args, "plot", None):
        from brud_analysis.output import check_output_path

        check_output_path(args.plot)  # before any work
    target = []
    # "--target=-sqrt(3/8),-sqrt(3/8)": argparse would read a bare "-sqrt(..)" as an option
    tokens = [part for t in args.target for part in t.split(",") if part.strip()]
    for t in tokens:
        value = parse_text(t)
        params = {p.name for p in game.parameters}
        symbolic_ok = value.free_symbols and {v.name for v in value.free_symbols} <= params
        if not symbolic_ok and (not value.is_number or not value.is_real):
            raise BrudError(
                f"--target values must be real numbers (or expressions in the game's parameters),"
                f" got {t!r}"
            )
        target.append(value)
    regulariser = regulariser_from_args(args)
    if getattr(args, "plot", None) and regulariser is not None:
        raise BrudError("--plot does not draw regularised conditions yet; drop --plot or "
                        "--regulariser")
    out = condition(game, target, args.family, regulariser)
    if getattr(args, "plot", None):
        from brud_analysis.phase_diagrams import condition_phase_diagram

        game.require_numeric()
        out["plot"] = str(condition_phase_diagram(game, target, args.plot, family=args.family))
    if args.json:
        print_json(out)
        return 0
    print(f"target      ({', '.join(out['target_exact'])})   family {out['family']}")
    if "regulariser" in out:
        print(f"regulariser {out['regulariser']}; {out['assumption']}")
    for a in out["per_agent"]:
        print(f"agent {a['agent']}: needs the data of {a['data_of']} to satisfy")
        for r in a["relations"]:
            print(f"    {r}")
        if a["possible"] and a["mean_intervals"]:
            spans = _spans(a["mean_intervals"])
            exact = ", ".join(f"[{lo}, {hi}]" for lo, hi in a["mean_intervals_exact"])
            symbolic = all(not _is_plain_number(e) for pair in a["mean_intervals_exact"]
                           for e in pair)
            if exact and symbolic and "oo" not in exact and len(exact) <= 60:
                spans += f"   exactly {exact}"
            print(f"    admissible mean_{a['data_of']}: {spans}")
            stable = _spans(a["stable_mean_intervals"])
            print(f"    target is a stable BRUD fixed point for mean_{a['data_of']} in: "
                  f"{stable or 'none'}")
        elif a.get("witness"):
            data = ", ".join(f"{k} = {v:.6g}" for k, v in a["witness"].items())
            print(f"    satisfied, for example, by data with {data} (a solution lies within "
                  "2^-45 of it on a certified segment)")
        elif a["possible"] is None:
            why = a.get("reason") or "give the parameters values to decide"
            print(f"    admissible means: {why}")
        elif a["possible"] is False and not any(r.startswith("impossible")
                                                for r in a["relations"]):
            print("    impossible: no real std >= 0 satisfies this for any mean")
    verdict = "undecided (symbolic parameters)" if out["possible"] is None else out["possible"]
    print(f"possible    {verdict}")
    if out.get("plot"):
        print(f"plot        {out['plot']}")
    return 0


def _run_critic_analyse(args: argparse.Namespace, game: Any, data: Any) -> int:
    """``brud analyse ... --critic``: the base analysis, then the fitted critic's.

    Example:
        >>> ns = argparse.Namespace(critic="reward", cql="1", ood=None, ood_box=None,
        ...     ood_std=None, rule=None, at=None, json=True, time_budget=10.0, plot=None,
        ...     regulariser=None, sweep=None, latex=False)
        >>> from brud_analysis.data import Normal
        >>> from brud_analysis.game import Game
        >>> import contextlib, io
        >>> buffer = io.StringIO()
        >>> with contextlib.redirect_stdout(buffer):
        ...     code = _run_critic_analyse(ns, Game("x*y"), Normal([1, 1], [1, 1]))
        >>> code, '"critic_field": [' in buffer.getvalue()
        (0, True)
    """
    from brud_analysis.cli.critic import (
        critic_json,
        critic_spec_at,
        critic_spec_from_args,
        print_critic,
    )
    from brud_analysis.cli.parametric import apply_at, is_parametric
    from brud_analysis.critic import analyse_critic
    from brud_analysis.output import print_json

    spec = critic_spec_from_args(args)
    if data is None:
        raise BrudError("--critic needs --data (the critic is fitted to the data)")
    for flag, name in (("--plot", "plot"), ("--regulariser", "regulariser"),
                       ("--sweep", "sweep"), ("--latex", "latex")):
        if getattr(args, name, None):
            raise BrudError(f"{flag} does not combine with --critic yet")
    game, data, _ = apply_at(game, data, getattr(args, "at", None), None)
    # (apply_at has checked the NAME=VALUE pairs)
    spec = critic_spec_at(spec, getattr(args, "at", None))
    budget = args.time_budget * 0.3
    parametric = is_parametric(game, data, None)
    from brud_analysis.cli.options import assumptions_from_args

    assumptions = assumptions_from_args(args)  # as the non-critic path: for symbols left
    if game.parameters:  # the game's own stationary points as formulas, as without --critic
        from brud_analysis.cli.parametric import analyse_parametric, print_parametric
        from brud_analysis.parametric import Assumptions

        # the facts about the game's parameters (those about the data or critic are used below)
        base = analyse_parametric(game, None, Assumptions(
            [f for f in assumptions.facts if f.free_symbols <= set(game.parameters)]), budget)
        base["assumptions"] = [str(f) for f in assumptions.facts]
    else:
        base = analyse(game, data if not parametric else None, budget)
        base["assumptions"] = [str(f) for f in assumptions.facts]
    out = base | critic_json(analyse_critic(game, data, spec, budget, assumptions))
    if args.json:
        print_json(out)
        return 0
    if game.parameters:
        print_parametric(base)
    else:
        _print_analysis(base)
        if base["assumptions"]:
            print(f"assuming    {', '.join(base['assumptions'])}")
    print_critic(out)
    return 0
