"""``brud analyse`` with symbols: formulas, their conditions, LaTeX and parameter sweeps.

The symbolic-parameter path of ``brud analyse`` (:func:`analyse_parametric`), kept apart from
the numeric one in :mod:`brud_analysis.cli.symbolic`. JSON contract: ``stationary_points`` entries
carry ``exact`` (one SymPy-parseable string per coordinate), ``kind`` or ``kind_if`` (condition
string -> kind) and ``real_if`` (absent when always real); ``brud_fixed_points`` entries carry
``exact``, ``stable_if`` (and ``stable`` when decided) and ``real_if`` likewise.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import sympy

from brud_analysis.data import DataModel
from brud_analysis.errors import BrudError
from brud_analysis.game import Game, natural_key
from brud_analysis.parametric import (
    Assumptions,
    parametric_brud_fixed_points,
    parametric_stationary_points,
)


def is_parametric(game: Game, data: DataModel | None, regulariser: Any = None) -> bool:
    """Whether the game, the data or the regulariser's weight still hold symbols.

    Example:
        >>> from brud_analysis.data import Normal
        >>> is_parametric(Game("x*y"), Normal(["m", 0], [1, 1])), is_parametric(Game("x*y"), None)
        (True, False)
    """
    return (bool(game.parameters) or (data is not None and bool(data.free_symbols))
            or (regulariser is not None and not regulariser.is_numeric()))


def put_brud_field_moments(out: dict[str, Any], game: Game, regulariser: Any = None) -> None:
    """Set ``brud_field_moments`` (and ``brud_field``, until data replace it) in a report, with
    the regulariser's name and note when there is one (beyond the paper).

    Example:
        >>> out = {"notes": []}
        >>> put_brud_field_moments(out, Game("x*y"))
        >>> out["brud_field"]
        ['E[y]', 'E[x]']
    """
    from brud_analysis.fields import brud_field

    out["brud_field_moments"] = [str(g) for g in brud_field(game, None, regulariser)]
    out["brud_field"] = out["brud_field_moments"]
    if regulariser is not None:  # beyond the paper: brud_analysis.regularisers
        out["regulariser"] = regulariser.describe()
        out["notes"].append(f"BRUD field with the policy penalty {regulariser.describe()} "
                            "(beyond the paper)")


def real_weights(regulariser: Any, assumptions: Assumptions) -> tuple[Any, Assumptions]:
    """The regulariser with its parameters as real symbols (as ``--assume`` and ``--at`` name
    them) and, for a BC weight, the fact ``weight >= 0`` added to ``assumptions``.

    Example:
        >>> from brud_analysis.regularisers import parse_regulariser
        >>> r, facts = real_weights(parse_regulariser("bc=L"), Assumptions("L > 1"))
        >>> r.describe(), facts
        ('bc(lambda=L)', Assumptions('L > 1, L >= 0'))
    """
    if regulariser is None or regulariser.is_numeric():
        return regulariser, assumptions
    real = {p.name: sympy.Symbol(p.name, real=True) for p in regulariser.parameters}
    regulariser = regulariser.with_values(**real)
    facts = list(assumptions.facts)
    if regulariser.name == "bc" and regulariser.weight is not None:
        facts.append(sympy.GreaterThan(regulariser.weight, 0))
    return regulariser, Assumptions(facts)


def _cond(c: sympy.Basic) -> str:
    return str(c)


def _put_condition(entry: dict[str, Any], key: str, cond: sympy.Basic) -> None:
    """``real_if``-style keys are absent when the condition always holds."""
    if cond is not sympy.true:
        entry[key] = _cond(cond)
        entry[key + "_latex"] = sympy.latex(cond)


def _put_degenerate(entry: dict[str, Any], cond: sympy.Basic) -> None:
    """``degenerate_if`` is absent when the point is never a multiple root."""
    if cond is not sympy.false:
        entry["degenerate_if"] = _cond(cond)
        entry["degenerate_if_latex"] = sympy.latex(cond)


def analyse_parametric(game: Game, data: DataModel | None = None,
                       assumptions: Assumptions | None = None,
                       time_budget: float = 10.0, regulariser: Any = None) -> dict[str, Any]:
    """What ``brud analyse`` reports when the game, the data or a regulariser weight hold
    symbols (JSON-ready). ``regulariser`` (beyond the paper) enters the BRUD field.

    Example:
        >>> from brud_analysis.data import Normal
        >>> out = analyse_parametric(Game("twin_peaks(A=A, B=B, C=C)"), Normal(["m", "m"], [1, 1]),
        ...                          Assumptions("A>0, B>0, C>2*A"))
        >>> [(p["exact"][0], p["kind"]) for p in out["stationary_points"]][1]
        ('-sqrt(2)*sqrt((-2*A + C)/B)/2', 'maximum')
        >>> out["brud_fixed_points"][0]["exact"][0], out["brud_fixed_points"][0]["stable_if"]
        ('C*m/(2*(A + B*m**2 + B))', 'True')
    """
    from brud_analysis.solve import stationary_points

    regulariser, assumptions = real_weights(regulariser, assumptions or Assumptions())
    symbols = (set(game.parameters) | (data.free_symbols if data is not None else set())
               | set(regulariser.parameters if regulariser is not None else ()))
    out: dict[str, Any] = {
        "reward": str(game.reward),
        "latex": game.latex(),
        "agents": list(game.agent_names),
        "parameters": [p.name for p in game.parameters],
        "data_symbols": sorted((s.name for s in (data.free_symbols if data else set())),
                               key=natural_key),
        "assumptions": [str(f) for f in assumptions.facts],
        "gradient": [str(d) for d in game.gradient],
        "hessian": [[str(v) for v in row] for row in game.hessian.tolist()],
        "notes": [],
    }
    unknown = sorted(s.name for s in assumptions.symbols if s not in symbols)
    if unknown:
        out["notes"].append(f"assumption(s) about {', '.join(unknown)}, which neither the game "
                            "nor the data contain: ignored")
    if game.parameters:
        st = parametric_stationary_points(game, assumptions, time_budget)
        out["method"] = st.method
        out["stationary_points"] = [_stationary_entry(p) for p in st.points]
        out["stationary_sets"] = [{"equations": [str(e) for e in s], "kind": "unclassified",
                                   "note": "classify at parameter values"} for s in st.sets]
        if st.valid_if is not sympy.true:
            out["valid_if"] = _cond(st.valid_if)
        out["no_closed_form"] = st.no_closed_form
        out["has_maximum"] = _has_maximum(out["stationary_points"], st.sets, st.no_closed_form)
        out["notes"] += st.notes
        reasons = [f"no closed form for {f}: give values" for f in st.no_closed_form]
        reasons += [f"stationary set {{{', '.join(str(e) for e in s)}}} not classified: "
                    "give values" for s in st.sets]
        reasons += [n for n in st.notes if "no closed form" in n]
    else:
        st_num = stationary_points(game, time_budget)
        out["method"] = st_num.method
        out["stationary_points"] = [_numeric_entry(p.point, p.exact, kind=p.kind)
                                    for p in st_num.points]
        out["stationary_sets"] = [{"equations": [str(e) for e in s.equations],
                                   "dimension": s.dimension, "kind": s.kind}
                                  for s in st_num.sets]
        out["has_maximum"] = st_num.has_maximum
        reasons = list(st_num.incomplete_reasons)
    put_brud_field_moments(out, game, regulariser)
    if data is not None:
        from brud_analysis.cli.options import data_json

        out["data"] = data_json(data)
        out["data_text"] = repr(data)  # for the printed report only
        if is_parametric(game, data, regulariser):
            fp = parametric_brud_fixed_points(game, data, assumptions, regulariser)
            out["brud_field"] = [str(g) for g in fp.field]
            out["brud_method"] = "closed-form roots of each agent's BRUD component"
            out["brud_fixed_points"] = [fixed_point_json(p) for p in fp.points]
            out["brud_fixed_points_per_agent"] = [_agent_entry(a) for a in fp.per_agent]
            out["notes"] += fp.notes
            reasons += [f"BRUD fixed points of agent {a.agent}: no closed form for "
                        f"{', '.join(str(f) for f in a.no_closed_form)}: give values"
                        for a in fp.per_agent if a.no_closed_form]
        else:
            from brud_analysis.regularisers import regularised_fixed_points

            fp_num = regularised_fixed_points(game, data, regulariser, time_budget)
            out["brud_field"] = [str(g) for g in fp_num.field]
            out["brud_method"] = fp_num.method
            out["brud_fixed_points"] = [
                {**_numeric_entry(p.point, p.exact), "stable": p.stable,
                 "stable_if": str(sympy.sympify(bool(p.stable))) if p.stable is not None
                 else "degenerate"} for p in fp_num.points]
            reasons += fp_num.incomplete_reasons
    out["complete"], out["incomplete_reasons"] = not reasons, reasons
    return out


def _has_maximum(points: list[dict], sets: list, missing: list) -> bool | None:
    if any(p.get("kind") == "maximum" and "real_if" not in p for p in points):
        return True
    possible = any(p.get("kind") == "maximum" or "maximum" in p.get("kind_if", {}).values()
                   for p in points)
    return None if possible or sets or missing else False


def _stationary_entry(p) -> dict[str, Any]:
    entry: dict[str, Any] = {"exact": [str(v) for v in p.exact],
                             "exact_latex": [sympy.latex(v) for v in p.exact]}
    if p.kind is not None:
        entry["kind"] = p.kind
    else:
        entry["kind_if"] = {_cond(c): k for k, c in p.kind_if.items()}
        entry["kind_if_latex"] = {sympy.latex(c): k for k, c in p.kind_if.items()}
    _put_condition(entry, "real_if", p.real_if)
    if not p.exact_conditions:
        entry["real_if_simplified"] = False
    return entry


def fixed_point_json(p: Any) -> dict[str, Any]:
    """A :class:`~brud_analysis.parametric.ParametricFixedPoint` as JSON: ``exact``,
    ``stable_if`` (``stable`` when decided), ``degenerate_if`` and ``real_if`` when not trivial.

    Example:
        >>> from brud_analysis.parametric import ParametricFixedPoint
        >>> a = sympy.Symbol("a", real=True)
        >>> fixed_point_json(ParametricFixedPoint((a,), sympy.true, a < 1))["stable_if"]
        'a < 1'
    """
    entry: dict[str, Any] = {"exact": [str(v) for v in p.exact],
                             "exact_latex": [sympy.latex(v) for v in p.exact],
                             "stable_if": _cond(p.stable_if),
                             "stable_if_latex": sympy.latex(p.stable_if)}
    if p.stable_if in (sympy.true, sympy.false) and p.degenerate_if is sympy.false:
        entry["stable"] = bool(p.stable_if)
    _put_degenerate(entry, p.degenerate_if)
    _put_condition(entry, "real_if", p.real_if)
    if not p.exact_conditions:
        entry["real_if_simplified"] = False
    return entry


def _agent_entry(a) -> dict[str, Any]:
    roots = []
    degenerate = a.degenerate_if or [sympy.false] * len(a.roots)
    for (r, stable), multiple in zip(a.roots, degenerate, strict=True):
        entry: dict[str, Any] = {"exact": str(r.value), "exact_latex": sympy.latex(r.value),
                                 "stable_if": _cond(stable)}
        _put_degenerate(entry, multiple)
        _put_condition(entry, "real_if", r.real_if)
        roots.append(entry)
    out: dict[str, Any] = {"agent": a.agent, "component": str(a.component), "roots": roots,
                           "no_closed_form": [str(f) for f in a.no_closed_form]}
    if a.every_value_if is not sympy.false:
        out["every_value_if"] = _cond(a.every_value_if)
    return out


def _numeric_entry(point, exact, kind: str | None = None) -> dict[str, Any]:
    values = exact if exact is not None else [sympy.Float(v, 15) for v in point]
    entry: dict[str, Any] = {"point": list(point), "exact": [str(v) for v in values],
                             "exact_latex": [sympy.latex(v) for v in values]}
    if kind is not None:
        entry["kind"] = kind
    return entry


# ------------------------------------------------------------------------------ printing
def _point_text(entry: dict[str, Any], latex: bool) -> str:
    if latex:
        return r"\left(" + ", ".join(entry["exact_latex"]) + r"\right)"
    return "(" + ", ".join(entry["exact"]) + ")"


def _kind_text(entry: dict[str, Any], latex: bool) -> str:
    if "kind" in entry:
        return rf"\text{{{entry['kind']}}}" if latex else entry["kind"]
    if latex:
        return r",\ ".join(rf"\text{{{k} if }} {c}" for c, k in entry["kind_if_latex"].items())
    return "; ".join(f"{k} if {c}" for c, k in entry["kind_if"].items())


def _real_text(entry: dict[str, Any], latex: bool) -> str:
    if "real_if" not in entry:
        return ""
    if latex:
        return rf",\ \text{{real if }} {entry['real_if_latex']}"
    return f"   real if {entry['real_if']}"


def print_parametric(out: dict[str, Any], latex: bool = False) -> None:
    """Print :func:`analyse_parametric`'s result as plain text, or LaTeX lines with ``latex``."""
    agents = ", ".join(out["agents"])
    if latex:
        print(f"% R = {out['reward']}")
        print(rf"R({agents}) = {out['latex']}")
    else:
        print(f"reward      R = {out['reward']}")
        extra = ""
        if out["parameters"]:
            extra += f"   parameters {', '.join(out['parameters'])}"
        if out["data_symbols"]:
            extra += f"   data symbols {', '.join(out['data_symbols'])}"
        print(f"agents      {agents}{extra}")
        if out["assumptions"]:
            print(f"assuming    {', '.join(out['assumptions'])}")
        print(f"grad R      ({', '.join(out['gradient'])})")
        print(f"stationary  ({out['method']})")
    if latex:
        print(f"% stationary points ({out['method']})")
    for p in out["stationary_points"]:
        if latex:
            print(rf"({agents}) = {_point_text(p, True)} \quad {_kind_text(p, True)}"
                  f"{_real_text(p, True)}")
        else:
            print(f"  {_point_text(p, False)}: {_kind_text(p, False)}{_real_text(p, False)}")
    for s in out["stationary_sets"]:
        eqs = ", ".join(f"{e} = 0" for e in s["equations"])
        print(("% " if latex else "  ") + f"set {{{eqs}}}: {s['kind']}")
    if "data" in out:
        if latex:
            print(f"% data {out['data_text']}; BRUD fixed points ({out['brud_method']})")
        else:
            print(f"data        {out['data_text']}")
            print(f"BRUD field  ({', '.join(out['brud_field'])})")
            print(f"BRUD fixed points ({out['brud_method']})")
        for a in out.get("brud_fixed_points_per_agent", []):
            for r in a["roots"]:
                stable = {"True": "stable", "False": "unstable"}.get(r["stable_if"],
                                                                     f"stable if {r['stable_if']}")
                if latex:
                    tex_stable = {"True": r"\text{stable}", "False": r"\text{unstable}"}.get(
                        r["stable_if"],
                        r"\text{stable if } " + sympy.latex(sympy.sympify(r["stable_if"])))
                    real = rf",\ \text{{real if }} {r['real_if_latex']}" if "real_if" in r else ""
                    multiple = (rf",\ \text{{degenerate if }} {r['degenerate_if_latex']}"
                                if "degenerate_if" in r else "")
                    print(rf"{a['agent']}^* = {r['exact_latex']} \quad {tex_stable}{real}"
                          + multiple)
                else:
                    real = f"   real if {r['real_if']}" if "real_if" in r else ""
                    multiple = (f"   degenerate (a multiple root, stability undetermined) if "
                                f"{r['degenerate_if']}" if "degenerate_if" in r else "")
                    print(f"  {a['agent']}* = {r['exact']}: {stable}{real}{multiple}")
        if not out.get("brud_fixed_points_per_agent"):
            for p in out["brud_fixed_points"]:
                text = _point_text(p, latex)
                print(("" if latex else "  ") + f"{text}: stable if {p['stable_if']}")
        elif len(out["agents"]) > 1 and out["brud_fixed_points"] and not latex:
            print(f"  joint fixed points: {len(out['brud_fixed_points'])} (every combination of "
                  "the agents' roots; --json lists them)")
    for note in out["notes"]:
        print(("% " if latex else "") + f"note: {note}")
    if "complete" in out:
        print(("% " if latex else "") + ("complete    yes" if out["complete"] else
                                         "complete    NO: " + "; ".join(
                                             out["incomplete_reasons"])))


# ------------------------------------------------------------------------------ CLI
def _parse_at(text: str) -> dict[str, sympy.Expr]:
    from brud_analysis.cli.options import parse_value

    values = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise BrudError(f"--at wants NAME=VALUE pairs, got {part.strip()!r}")
        if name in values:  # the later value would silently win
            raise BrudError(f"--at gives {name} twice: {text.strip()!r}")
        parsed = parse_value(value, "--at")
        if not parsed.is_number:
            raise BrudError(f"--at {name}: give a number, got {value.strip()!r}")
        values[name] = parsed
    return values


def apply_at(game: Game, data: DataModel | None, text: str | None, regulariser: Any = None
             ) -> tuple[Game, DataModel | None, Any]:
    """Substitute ``--at`` values into the game's parameters, the data's symbols and the
    regulariser's weight.

    Example:
        >>> g, d, r = apply_at(Game("twin_peaks(A=A, B=B, C=C)"), None, "A=1, B=4")
        >>> g.parameters
        (C,)
    """
    if not text:
        return game, data, regulariser
    values = _parse_at(text)
    weights = {p.name for p in regulariser.parameters} if regulariser is not None else set()
    known = ({p.name for p in game.parameters} | weights
             | {s.name for s in (data.free_symbols if data else set())})
    unknown = [k for k in values if k not in known]
    if unknown:
        raise BrudError(f"--at: unknown symbol(s) {', '.join(unknown)} (symbols: "
                        f"{', '.join(sorted(known, key=natural_key)) or 'none'})")
    game_values = {k: v for k, v in values.items() if k in {p.name for p in game.parameters}}
    game = game.with_parameters(**game_values) if game_values else game
    weight_values = {k: v for k, v in values.items() if k in weights}
    if weight_values:
        from brud_analysis.regularisers import parse_regulariser

        regulariser = regulariser.with_values(**weight_values)
        if regulariser.name == "bc":  # the same checks as a number given to --regulariser
            parse_regulariser(f"bc={regulariser.weight}")
    return game, (data.subs(values) if data is not None else None), regulariser


def _parse_sweep(text: str) -> tuple[str, list[float]]:
    name, sep, span = text.partition("=")
    parts = span.split(":")
    if not sep or not name.strip().isidentifier() or len(parts) not in (2, 3):
        raise BrudError(f"--sweep wants NAME=LO:HI[:N], got {text!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
        n = int(parts[2]) if len(parts) == 3 else 21
    except ValueError:
        raise BrudError(f"--sweep wants numbers in NAME=LO:HI[:N], got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not 2 <= n <= 1000:
        raise BrudError(f"--sweep needs finite LO, HI and 2 <= N <= 1000, got {text!r}")
    return name.strip(), [lo + (hi - lo) * k / (n - 1) for k in range(n)]


def run_parametric(args: argparse.Namespace, game: Game, data: DataModel | None,
                   regulariser: Any = None) -> int:
    """The symbolic path of ``brud analyse`` (formulas, LaTeX, sweeps), after ``--at``."""
    from brud_analysis.cli.options import assumptions_from_args
    from brud_analysis.output import check_output_path, print_json

    assumptions = assumptions_from_args(args)
    if getattr(args, "sweep", None):
        if regulariser is not None:
            raise BrudError("--sweep does not take --regulariser yet: give its weight a value "
                            "and sweep a game or data symbol, or use --at")
        from brud_analysis.parametric import plot_sweep, sweep

        name, values = _parse_sweep(args.sweep)
        if args.plot:
            check_output_path(args.plot)
        rows = sweep(game, data, name, values, args.time_budget)
        out: dict[str, Any] = {"sweep": name, "rows": [
            {"value": r.value, "stationary_points": r.kinds, "stationary_sets": r.sets,
             **({"brud_fixed_points": r.brud} if r.brud is not None else {})} for r in rows]}
        if args.plot:
            out["plot"] = plot_sweep(rows, name, args.plot)
        if args.json:
            print_json(out)
            return 0
        print(f"{name:>10}  stationary points (by kind)" + ("   BRUD fixed points" if data
                                                           else ""))
        for r in out["rows"]:
            kinds = ", ".join(f"{k} {v}" for k, v in r["stationary_points"].items()) or "none"
            if r["stationary_sets"]:
                kinds += f", sets {r['stationary_sets']}"
            brud = ""
            if "brud_fixed_points" in r:
                brud = "   " + (", ".join(f"{k} {v}" for k, v in r["brud_fixed_points"].items())
                                or "none")
            print(f"{r['value']:>10.4g}  {kinds}{brud}")
        if args.plot:
            print(f"plot        {out['plot']}")
        return 0
    if args.plot:
        if is_parametric(game, data, regulariser):
            raise BrudError("--plot with symbols needs --sweep NAME=LO:HI (or --at values for "
                            "every symbol)")
        raise BrudError("--plot with --latex/--assume: drop those to plot the fields")
    out = analyse_parametric(game, data, assumptions, args.time_budget, regulariser)
    if args.json:
        print_json(out)
    else:
        print_parametric(out, latex=args.latex)
    return 0
