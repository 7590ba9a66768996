"""``brud analyse`` and ``brud condition``: the symbolic toolkit on the command line."""

from __future__ import annotations

import argparse
import math
from typing import Any

from brud_analysis.cli_options import (
    add_data_options,
    add_regulariser_option,
    data_model_from_args,
    regulariser_from_args,
)
from brud_analysis.errors import BrudError

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
    p.add_argument("--plot", metavar="PNG", default=None,
                   help="write true vs BRUD vector fields (needs --data, 2 agents)")
    p.add_argument("--time-budget", type=float, default=10.0, metavar="S",
                   help="seconds for the exact solver before the numeric fallback (default 10)")
    add_regulariser_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_analyse)

    c = subparsers.add_parser(
        "condition",
        help="data conditions for BRUD to reach a target joint action (generalised Eq. 5)",
        description=(
            "For each agent, the relation between the other agent's data mean and std that "
            "makes TARGET a BRUD fixed point, every real branch, and the admissible mean "
            "intervals (where a real std >= 0 exists). Targets may be exact: 'sqrt(3/8)'."
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


def _eig(values) -> list[Any]:
    return [v.real if abs(v.imag) <= 1e-12 * max(1.0, abs(v)) else str(complex(v))
            for v in values]


def _exact(values) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


def analyse(game, data=None, time_budget: float = 10.0, regulariser=None) -> dict[str, Any]:
    """Everything ``brud analyse`` reports, as a JSON-ready dict.

    Example:
        >>> from brud_analysis.game import Game
        >>> out = analyse(Game("-(x - y)**2"))
        >>> out["stationary_sets"][0]["equations"], out["has_maximum"]
        (['x - y'], True)
    """
    from brud_analysis.fields import brud_field
    from brud_analysis.solve import brud_fixed_points, stationary_points

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
        out["stationary_points"] = [
            {"point": list(p.point), "kind": p.kind, "exact": _exact(p.exact),
             "eigenvalues": _eig(p.eigenvalues), "higher_order": p.higher_order}
            for p in st.points
        ]
        out["stationary_sets"] = [
            {"equations": [str(e) for e in s.equations], "dimension": s.dimension,
             "kind": s.kind} for s in st.sets
        ]
        out["has_maximum"] = st.has_maximum
        out["method"] = st.method
        if not st.has_maximum:
            out["notes"].append("the game has no maximum")
    out["brud_field_moments"] = [str(g) for g in brud_field(game, None, regulariser)]
    out["brud_field"] = out["brud_field_moments"]
    if regulariser is not None:  # beyond the paper: brud_analysis.regularisers
        out["regulariser"] = regulariser.describe()
        out["notes"].append(f"BRUD field with the policy penalty {regulariser.describe()} "
                            "(beyond the paper)")
    if data is not None:
        out["data"] = repr(data)
        out["brud_field"] = [str(g) for g in brud_field(game, data, regulariser)]
        if regulariser is not None and not regulariser.is_numeric() and not game.parameters:
            from brud_analysis.regularisers import fixed_point_formulas

            roots = fixed_point_formulas(game, data, regulariser)
            out["brud_fixed_points"] = []
            out["brud_fixed_point_formulas"] = (
                None if roots is None else [[str(r) for r in rs] for rs in roots])
            out["notes"].append("symbolic regulariser weight: give a value to find BRUD fixed "
                                "points (per-agent root formulas in brud_fixed_point_formulas)")
        elif game.parameters:
            out["brud_fixed_points"] = []
            out["notes"].append("symbolic parameters: give values to find BRUD fixed points")
        else:
            if regulariser is None:
                fp = brud_fixed_points(game, data, time_budget)
            else:
                from brud_analysis.regularisers import regularised_fixed_points

                fp = regularised_fixed_points(game, data, regulariser, time_budget)
            out["brud_fixed_points"] = [
                {"point": list(p.point), "stable": p.stable, "exact": _exact(p.exact),
                 "eigenvalues": _eig(p.eigenvalues)} for p in fp.points
            ]
            out["brud_fixed_sets"] = [
                {"equations": [str(e) for e in s.equations], "dimension": s.dimension,
                 "kind": s.kind} for s in fp.sets
            ]
            out["brud_method"] = fp.method
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
        higher = f" (sampled higher order: {p['higher_order']})" if p["higher_order"] else ""
        print(f"  point ({point}){exact}: {p['kind']}{higher}")
    for s in out["stationary_sets"]:
        print(f"  set {_set_text(s)}: {s['kind']}")
    print(f"BRUD field  ({', '.join(out['brud_field_moments'])})   [moments of the data]")
    if "data" in out:
        print(f"data        {out['data']}")
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
        for name, roots in zip(out["agents"], out.get("brud_fixed_point_formulas") or [],
                               strict=False):
            print(f"  theta_{name} in {{{', '.join(roots)}}}")
    for note in out["notes"]:
        print(f"note: {note}")


def run_analyse(args: argparse.Namespace) -> int:
    """Handler of ``brud analyse``."""
    from brud_analysis.output import print_json

    game = _game(args)
    data = data_model_from_args(args, game)
    if args.time_budget <= 0 or not math.isfinite(args.time_budget):
        raise BrudError("--time-budget must be a positive number of seconds")
    if args.plot and data is None:
        raise BrudError("--plot needs --data (the BRUD field depends on the data)")
    regulariser = regulariser_from_args(args)
    if args.plot and regulariser is not None:
        raise BrudError("--plot does not draw regularised fields yet; drop --plot or "
                        "--regulariser")
    out = analyse(game, data, args.time_budget, regulariser)
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
        "target": [str(t) for t in cond.target],
        "target_float": [float(t) if t.is_number else None for t in cond.target],
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
    from brud_analysis.game import parse_text
    from brud_analysis.output import print_json

    game = _game(args)
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
    out = condition(game, target, args.family, regulariser)
    if args.json:
        print_json(out)
        return 0
    print(f"target      ({', '.join(out['target'])})   family {out['family']}")
    if "regulariser" in out:
        print(f"regulariser {out['regulariser']}; {out['assumption']}")
    for a in out["per_agent"]:
        print(f"agent {a['agent']}: needs the data of {a['data_of']} to satisfy")
        for r in a["relations"]:
            print(f"    {r}")
        if a["possible"]:
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
        elif a["possible"] is None:
            print("    admissible means: give the parameters values to decide")
        elif not a["relations"][0].startswith("impossible"):
            print("    impossible: no real std >= 0 satisfies this for any mean")
    verdict = "undecided (symbolic parameters)" if out["possible"] is None else out["possible"]
    print(f"possible    {verdict}")
    return 0
