"""``brud paper-checks`` and ``brud pjap-field``."""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``paper-checks`` and ``pjap-field`` to the ``brud`` command.

    Example:
        >>> parser = argparse.ArgumentParser(prog="brud")
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["paper-checks", "--quick"]).quick
        True
    """
    p = subparsers.add_parser(
        "paper-checks", help="check every claim of the paper and regenerate its figures",
        description="Derive each analytic claim of the paper symbolically, confirm it by JAX "
        "training, give a verdict (confirmed / refuted / partly / not run) and regenerate "
        "Figs. 1-5 into OUT/report.md (+ results.json, PNGs). Exit code 1 only if a check "
        "errors; a refuted claim is a result.",
    )
    from brud_analysis.cli.options import output_directory

    p.add_argument("--out", default="report", type=output_directory,
                   help="output directory (default: report/); checked before any work")
    p.add_argument("--quick", action="store_true",
                   help="small numeric runs (16 seeds, 400 updates; < 5 min on 2 cores)")
    p.add_argument("--claim", action="append", metavar="ID",
                   help="only this claim (repeatable), e.g. --claim tp.eq5")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--halfcheetah-results", metavar="PATH",
                   help="summary.json of `brud halfcheetah report` (for Fig. 6)")
    p.add_argument("--list", action="store_true", help="list the claim ids and exit")
    p.add_argument("--json", action="store_true",
                   help="print {claims: [...], figures: [...]} as JSON")
    p.set_defaults(handler=_paper_checks)

    p = subparsers.add_parser(
        "pjap-field", help="the PJAP (prioritised) field of a game, its fixed points",
        description="The field BRUD follows under PJAP sampling, G_i(theta) = E_rho[dR/da_i]. "
        "With --distance l2, --eps 0 and normal data it is the closed form of "
        "docs/theory.md#the-pjap-field "
        "(printed symbolically) and all its real fixed points are found by certified root "
        "isolation; otherwise the field is integrated numerically and fixed points are found by "
        "multi-start Newton in a box (default: data mean +- 3 std, at least [-1, 1]).",
    )
    p.add_argument("reward", metavar="EXPR", help="reward polynomial or catalogue name")
    from brud_analysis.cli.options import add_data_options, add_time_budget_option

    add_data_options(p)
    p.add_argument("--alpha", type=_alpha_value, required=True,
                   help="PJAP temperature: a number >= 0, or a symbol name (e.g. a) for the "
                   "fixed points as formulas in it (closed form: normal data, l2, eps 0)")
    p.add_argument("--eps", type=float, default=0.0, help="priority floor (default 0)")
    p.add_argument("--distance", choices=["l1", "l2"], default="l2",
                   help="l2 (closed form with eps 0 and normal data; default) or l1 (paper)")
    p.add_argument("--box", type=float, nargs=2, metavar=("LO", "HI"),
                   help="search box for fixed points, the same for every agent")
    p.add_argument("--plot", metavar="PNG", default=None,
                   help="write the phase diagram over (alpha, std) for normal data with the "
                        "given means: where the closed-form PJAP flow ends, reward lost, escape "
                        "threshold (L2 kernel, eps 0; --alpha/--std only set the printed field)")
    add_time_budget_option(p, 60.0, "the field and its fixed-point search")
    from brud_analysis.cli.options import add_regulariser_option

    add_regulariser_option(p)
    from brud_analysis.cli.options import add_assume_option

    add_assume_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    from brud_analysis.cli.critic import add_critic_options  # beyond the paper (issue 28)

    add_critic_options(p)
    p.set_defaults(handler=_pjap_field)


def _alpha_value(text: str):
    """``--alpha``: a finite number >= 0, or a symbol name (a real symbol, taken >= 0)."""
    import math

    import sympy

    try:
        value = float(text)
    except ValueError:
        if not text.strip().isidentifier():
            raise argparse.ArgumentTypeError(
                f"--alpha wants a number >= 0 or a symbol name, got {text!r}") from None
        return sympy.Symbol(text.strip(), real=True)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"--alpha must be a finite number >= 0, got {text!r}")
    return value


def _paper_checks(args: argparse.Namespace) -> int:
    from brud_analysis.output import print_json

    if args.list:
        from paper_checks.claims import load_all

        claims = load_all()
        if args.json:  # the same keys as the claims of a full run (docs/json.md)
            print_json({"claims": [{"id": cid, "location": c.location, "statement": c.statement,
                                    "refuted_if": c.refuted_if} for cid, c in claims.items()]})
            return 0
        for cid, c in claims.items():
            print(f"{cid:28s} {c.location}")
        return 0
    from paper_checks.report import run_report

    payload = run_report(args.out, quick=args.quick, only=args.claim,
                         halfcheetah_results=args.halfcheetah_results,
                         figures=not args.no_figures, progress=not args.json)
    if args.json:
        print_json(payload)
    else:
        width = max(len(c["id"]) for c in payload["claims"])
        for c in payload["claims"]:
            why = c["why"].splitlines()[0] if c["why"] else ""
            print(f"{c['id']:{width}s}  {c['status']:9s}  {why[:110]}")
        counts = ", ".join(f"{n} {s}" for s, n in payload["counts"].items() if n)
        print(f"\n{counts}; {len(payload['figures'])} figures; {payload['seconds']:.0f} s "
              f"({payload['mode']} mode)\nreport: {os.path.join(args.out, 'report.md')}")
        for label, err in payload["figure_errors"].items():
            print(f"figure {label} failed: {err.splitlines()[0]}", file=sys.stderr)
    return 1 if payload["errors"] else 0


def _mean_escape_alpha(game, normal, regulariser):
    """The alpha below which the data mean is a stable PJAP fixed point, or ``None`` where the
    mean is not a fixed point for every alpha (or no eigenvalue crosses zero)."""
    from brud_analysis.errors import BrudError
    from brud_analysis.pjap import origin_escape_alpha

    try:
        return origin_escape_alpha(game, normal, regulariser=regulariser)
    except BrudError:
        return None


def _print_field_header(game, out: dict, method: str, data_line: str, field: list,
                        threshold: object) -> None:
    """What both ``pjap-field`` paths print first: the reward and method, the regulariser (if
    any), the data, each agent's field, and the data mean's escape threshold (if known)."""
    print(f"PJAP field of R = {game.reward}  ({method})")
    if "regulariser" in out:
        print(f"with the policy penalty {out['regulariser']} on the prioritised batch "
              "(beyond the paper)")
    print(data_line)
    for name, g in zip(game.agent_names, field, strict=False):  # no field: numeric path
        print(f"  G_{name} = {g}")
    if threshold is not None:
        print(f"the data mean is a fixed point for every alpha; it is stable for alpha < "
              f"{threshold}")


def _parametric_pjap_field(args: argparse.Namespace, game, data, regulariser) -> int:
    """``pjap-field`` with symbols: the closed-form field and its fixed points as formulas."""
    import sympy

    from brud_analysis.cli.options import assumptions_from_args, data_json
    from brud_analysis.cli.parametric import fixed_point_json, real_weights
    from brud_analysis.data import Normal
    from brud_analysis.errors import BrudError
    from brud_analysis.exact import to_exact
    from brud_analysis.output import print_json
    from brud_analysis.pjap import parametric_pjap_fixed_points

    if not (args.distance == "l2" and args.eps == 0 and isinstance(data, Normal)):
        raise BrudError("symbols need the closed-form PJAP field: --data normal, --distance l2 "
                        "and --eps 0 (else give every symbol a value)")
    if getattr(args, "plot", None):
        raise BrudError("--plot draws numbers: give --alpha and every symbol a value (the "
                        "phase diagram already sweeps alpha)")
    regulariser, assumptions = real_weights(regulariser, assumptions_from_args(args))
    alpha = args.alpha if isinstance(args.alpha, sympy.Symbol) else to_exact(args.alpha)
    if isinstance(alpha, sympy.Symbol):  # a temperature: never negative
        from brud_analysis.parametric import Assumptions

        assumptions = Assumptions([*assumptions.facts, sympy.GreaterThan(alpha, 0)])
    found = parametric_pjap_fixed_points(game, data, alpha, assumptions, regulariser,
                                         time_budget=0.5 * args.time_budget)
    out: dict = {
        "reward": str(game.reward), "agents": list(game.agent_names), "data": data_json(data),
        "alpha": str(alpha), "eps": args.eps, "distance": args.distance,
        "assumptions": [str(f) for f in assumptions.facts],
        "method": "closed form (L2 kernel, eps 0, normal data); fixed points: groebner over "
                  "Q(parameters) + closed forms, stability by Routh-Hurwitz",
        "field": [str(sympy.factor(g)) for g in found.field],
        "fixed_points": [fixed_point_json(p) for p in found.points],
        "no_closed_form": found.no_closed_form,
        "notes": list(found.notes),
    }
    if found.valid_if is not sympy.true:
        out["valid_if"] = str(found.valid_if)
    threshold = _mean_escape_alpha(game, data, regulariser)
    if threshold is not None:
        out["mean_stable_below_alpha"] = str(threshold)
    if regulariser is not None:
        out["regulariser"] = regulariser.describe()
    if args.json:
        print_json(out)
        return 0
    _print_field_header(game, out, "closed form: L2 kernel, eps 0, normal data",
                        f"data: {data!r}; alpha = {alpha}"
                        + (f"; assuming {', '.join(out['assumptions'])}"
                           if out["assumptions"] else ""),
                        out["field"], out.get("mean_stable_below_alpha"))
    print("fixed points (formulas):" if out["fixed_points"] else "fixed points: none in "
          "closed form")
    for p in out["fixed_points"]:
        stable = {"True": "stable", "False": "unstable"}.get(p["stable_if"],
                                                             f"stable if {p['stable_if']}")
        extra = "".join(f"; {label} if {p[key]}" for key, label in
                        (("degenerate_if", "degenerate"), ("real_if", "real")) if key in p)
        print(f"  ({', '.join(p['exact'])}): {stable}{extra}")
    for note in out["notes"]:
        print(f"note: {note}")
    return 0


def _pjap_field(args: argparse.Namespace) -> int:
    import sympy

    from brud_analysis.cli.options import (
        check_assumed_symbols,
        data_json,
        data_model_from_args,
        regulariser_from_args,
    )
    from brud_analysis.data import Normal
    from brud_analysis.errors import BrudError
    from brud_analysis.exact import to_exact
    from brud_analysis.game import Game
    from brud_analysis.output import print_json
    from brud_analysis.pjap import (
        default_box,
        pjap_field,
        pjap_fixed_points,
    )

    if not 0 <= args.eps < 1:  # the priority max(exp(-alpha d^2), eps) floors at eps < 1
        raise BrudError(f"--eps is the priority floor and must lie in [0, 1), got {args.eps}")
    game = Game(args.reward)
    if getattr(args, "plot", None):
        from brud_analysis.output import check_output_path

        check_output_path(args.plot)  # before any work
    data = data_model_from_args(args, game)
    if data is None:
        raise BrudError("pjap-field needs data: --data normal --mean .. --std .., "
                        "--data uniform --low .. --high .., or --data FILE")
    from brud_analysis.cli.critic import critic_spec_from_args, run_critic_pjap_field

    if critic_spec_from_args(args) is not None:  # a fitted critic: docs/critics.md
        return run_critic_pjap_field(args, game, data)
    regulariser = regulariser_from_args(args)  # beyond the paper; None without the flag
    if (isinstance(args.alpha, sympy.Symbol) or game.parameters or data.free_symbols
            or (regulariser is not None and not regulariser.is_numeric())):
        symbols = {p.name for p in game.parameters} | {s.name for s in data.free_symbols}
        symbols |= {p.name for p in (regulariser.parameters if regulariser else ())}
        if isinstance(args.alpha, sympy.Symbol):
            symbols.add(args.alpha.name)
        check_assumed_symbols(args, symbols)
        return _parametric_pjap_field(args, game, data, regulariser)
    if getattr(args, "assume", None):
        raise BrudError("--assume is for symbols (in --alpha, the game, the data or the "
                        "regulariser); this command has none")
    # The closed form (and the phase diagram) exist only for normal data: ``normal`` is the data
    # when they apply, else None.
    normal = (data if args.distance == "l2" and args.eps == 0 and isinstance(data, Normal)
              else None)
    closed = normal is not None
    if getattr(args, "plot", None) and not closed:  # say so before any work
        raise BrudError("--plot draws the closed-form PJAP flow: it needs --data normal, "
                        "--distance l2 and --eps 0")
    box = ([tuple(args.box)] * game.n_agents if args.box else default_box(data, game))
    if args.box and not args.box[0] < args.box[1]:
        raise BrudError(f"--box needs LO < HI, got {args.box}")
    points = pjap_fixed_points(game, data, args.alpha, args.eps, args.distance, box=box,
                               regulariser=regulariser)
    out: dict = {
        "reward": str(game.reward), "agents": list(game.agent_names), "data": data_json(data),
        "alpha": args.alpha, "eps": args.eps, "distance": args.distance,
        "method": "closed form (L2 kernel, eps 0, normal data)" if closed else
        "numeric quadrature / finite sum",
        "field": None,
        "fixed_points": [{"point": [float(v) for v in p.point], "exact": None, "stable": p.stable,
                          "eigenvalues": [[float(e.real), float(e.imag)] for e in p.eigenvalues]}
                         for p in points],
        "box": None if closed else [list(b) for b in box],
    }
    field = None
    if normal is not None:
        field = [sympy.expand(g)
                 for g in pjap_field(game, normal, to_exact(args.alpha), regulariser)]
        out["field"] = [str(g) for g in field]
        threshold = _mean_escape_alpha(game, normal, regulariser)
        if threshold is not None:
            out["mean_stable_below_alpha"] = float(threshold)
    if regulariser is not None:
        out["regulariser"] = regulariser.describe()
    if getattr(args, "plot", None) and normal is not None:  # --plot without it raised above
        from brud_analysis.phase_diagrams import pjap_phase_diagram

        top = max([1.5] + [1.5 * float(s) for s in normal.std])
        out["plot"] = str(pjap_phase_diagram(game, [float(m) for m in normal.mean], args.plot,
                                             std_range=(0.05, top)))
    if args.json:
        print_json(out)
        return 0
    threshold = out.get("mean_stable_below_alpha")
    _print_field_header(game, out, out["method"],
                        f"data: {data!r}; alpha = {args.alpha:g}, eps = {args.eps:g}, "
                        f"distance = {args.distance}",
                        [sympy.N(g, 6) for g in field or []],
                        None if threshold is None else f"{threshold:.6g}")
    if closed:
        print("fixed points (all real ones, certified root isolation):")
    else:
        print(f"fixed points found by multi-start Newton in "
              f"{[tuple(round(v, 3) for v in b) for b in box]}:")
    if not points:
        print("  none found")
    for p in points:
        coords = ", ".join(f"{v:.6g}" for v in p.point)
        print(f"  ({coords})  {'stable' if p.stable else 'unstable'}")
    if out.get("plot"):
        print(f"plot: {out['plot']}")
    return 0
