"""``brud analyse GAME --data ... --critic FEATURES``: the fitted critic on the command line.

The options are added to ``analyse`` by :func:`add_critic_options`; with ``--critic`` the
handler :func:`run_critic_analyse` reports the true field and stationary points (as ``analyse``
does), then the fitted critic (JSON key ``critic``: features, exact weights, expression), the
chosen rule's field, its fixed points and their stability (docs/critics.md).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

from brud_analysis.errors import BrudError


def add_critic_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--critic/--cql/--ood/--ood-box/--ood-std/--rule`` (beyond the paper).

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_critic_options(p)
        >>> p.parse_args(["--critic", "degree=2", "--cql", "0.5", "--ood-box", "-2", "2"]).ood_box
        ['-2', '2']
    """
    g = parser.add_argument_group("fitted critic (beyond the paper; docs/critics.md)")
    g.add_argument("--critic", metavar="FEATURES", default=None,
                   help="fit Q_w = sum_k w_k phi_k to the data instead of using R: degree=K "
                        "(all monomials up to degree K), reward (R's monomials + 1), bilinear, "
                        "or monomials '1,x,y,x*y'")
    g.add_argument("--cql", metavar="ALPHA", default=None,
                   help="CQL weight alpha >= 0 (default 0: least squares); may be a symbol")
    g.add_argument("--ood", default=None, choices=("uniform", "policy"),
                   help="CQL's out-of-distribution actions: uniform on the box (default) or "
                        "the joint policy + N(0, std^2)")
    g.add_argument("--ood-box", nargs=2, metavar=("L", "H"), default=None,
                   help="uniform OOD box [L, H]^n (default -1 1)")
    g.add_argument("--ood-std", metavar="S", default=None,
                   help="policy OOD noise std (default 0.3)")
    g.add_argument("--rule", default=None, choices=("brud", "joint", "sequential"),
                   help="actor update under the critic: brud (data for the others, default), "
                        "joint (critic at the joint policy), sequential (earlier agents' "
                        "policies, later agents' data)")


def critic_spec_from_args(args: argparse.Namespace) -> Any:
    """The :class:`brud_analysis.critic.CriticSpec` of the options, ``None`` without
    ``--critic`` (the other critic options alone are an error).

    Example:
        >>> ns = argparse.Namespace(critic="degree=2", cql="1", ood=None, ood_box=None,
        ...                         ood_std=None, rule="joint")
        >>> critic_spec_from_args(ns).describe()
        'critic degree=2, CQL alpha=1, OOD uniform on [-1, 1]^n, rule joint'
    """
    from brud_analysis.critic import CriticSpec

    extra = [flag for flag, name in (("--cql", "cql"), ("--ood", "ood"), ("--ood-box", "ood_box"),
                                     ("--ood-std", "ood_std"), ("--rule", "rule"))
             if getattr(args, name, None) is not None]
    if getattr(args, "critic", None) is None:
        if extra:
            raise BrudError(f"{extra[0]} needs --critic FEATURES")
        return None
    if args.ood_std is not None and args.ood != "policy":
        raise BrudError("--ood-std is for --ood policy")
    if args.ood_box is not None and args.ood == "policy":
        raise BrudError("--ood-box is for --ood uniform")
    kwargs: dict[str, Any] = {"features": args.critic}
    for key, value in (("alpha", args.cql), ("ood", args.ood), ("std", args.ood_std),
                       ("rule", args.rule)):
        if value is not None:
            kwargs[key] = value
    if args.ood_box is not None:
        kwargs["box"] = tuple(args.ood_box)
    return CriticSpec(**kwargs)


def critic_json(analysis: Any, eig: Callable[[Any], Any] = list,
                exact: Callable[[Any], Any] = list) -> dict[str, Any]:
    """The critic part of ``brud analyse --critic --json`` (docs/critics.md#commands);
    ``eig`` and ``exact`` render eigenvalues and exact values as ``brud analyse`` does (passed in
    by :mod:`brud_analysis.commands`, which imports this module).

    Example:
        >>> from brud_analysis.critic import CriticSpec, analyse_critic
        >>> from brud_analysis.data import Normal
        >>> from brud_analysis.game import Game
        >>> out = critic_json(analyse_critic(Game("x*y"), Normal([1, 1], [1, 1]),
        ...                                  CriticSpec("1,x*y", alpha=1)))
        >>> out["critic"]["weights"], out["critic_fixed_points"]
        (['-1/3', '4/3'], [])
    """
    c = analysis.critic
    out: dict[str, Any] = {
        "critic": {
            "features": [str(f) for f in c.features],
            "weights": [str(w) for w in c.weights],
            "expression": str(c.expression),
            "alpha": str(c.spec.alpha),
            "ood": ({"kind": "uniform", "box": [str(v) for v in c.spec.box]}
                    if c.spec.ood == "uniform" else {"kind": "policy", "std": str(c.spec.std)}),
            "rule": analysis.rule,
        },
        "critic_field": [str(g) for g in analysis.field],
        "critic_notes": list(analysis.notes),
    }
    if analysis.fixed is not None:
        fp = analysis.fixed
        out["critic_fixed_points"] = [
            {"point": list(p.point), "stable": p.stable,
             "exact": None if p.exact is None else exact(p.exact),
             "eigenvalues": eig(p.eigenvalues), "reason": p.reason} for p in fp.points]
        out["critic_fixed_sets"] = [
            {"equations": [str(e) for e in s.equations], "dimension": s.dimension,
             "kind": s.kind} for s in fp.sets]
        out["critic_method"] = fp.method
        if not fp.points and not fp.sets:
            out["critic_notes"].append("no fixed point: the policy drifts")
    if analysis.formulas is not None:
        f = analysis.formulas
        out["critic_fixed_point_formula"] = {
            "point": None if f["point"] is None else [str(v) for v in f["point"]],
            "valid_if": f.get("valid_if"), "stable_iff": f.get("stable_iff"),
            "note": f.get("note")}
    return out


def _readable(text: str, limit: int = 40) -> str:
    """An exact number or expression as text, in 6 significant digits when it is long and
    has no symbols (exact rationals of an empirical dataset run to 30 digits; JSON keeps them)."""
    if len(text) <= limit:
        return text
    import sympy

    value = sympy.sympify(text)
    return str(sympy.N(value, 6)) if value.is_number or len(str(sympy.N(value, 6))) < len(
        text) else text


def _print(out: dict[str, Any]) -> None:
    c = out["critic"]
    ood = (f"uniform on [{c['ood']['box'][0]}, {c['ood']['box'][1]}]^n"
           if c["ood"]["kind"] == "uniform" else f"policy + N(0, {c['ood']['std']}^2)")
    print(f"critic      Q = {_readable(c['expression'])}")
    print(f"            features ({', '.join(c['features'])}), CQL alpha {c['alpha']}, "
          f"OOD {ood}")
    print(f"            weights ({', '.join(_readable(w) for w in c['weights'])})")
    print(f"{c['rule']:<11} field ({', '.join(_readable(g) for g in out['critic_field'])})")
    if "critic_method" in out:
        print(f"fixed points ({out['critic_method']})")
    for p in out.get("critic_fixed_points", []):
        point = ", ".join(f"{v:.6g}" for v in p["point"])
        short = p["exact"] and sum(len(e) for e in p["exact"]) <= 60
        exact = f"  = ({', '.join(p['exact'])})" if short else ""
        stable = {True: "stable", False: "unstable", None: "degenerate"}[p["stable"]]
        print(f"  point ({point}){exact}: {stable}")
    for s in out.get("critic_fixed_sets", []):
        eqs = ", ".join(f"{e} = 0" for e in s["equations"])
        print(f"  set {{{eqs}}} (dimension {s['dimension']}): {s['kind']}")
    formula = out.get("critic_fixed_point_formula")
    if formula:
        if formula["point"]:
            print(f"  point ({', '.join(formula['point'])}) if {formula['valid_if']}")
            print(f"  stable iff {formula['stable_iff']}")
        else:
            print(f"  {formula['note']}")
    for note in out["critic_notes"]:
        print(f"note: {note}")


def run_critic_analyse(args: argparse.Namespace, game: Any, data: Any,
                       host: dict[str, Callable[..., Any]] | None = None) -> int:
    """``brud analyse ... --critic``: the base analysis, then the fitted critic's.

    ``host``: ``analyse``, ``print_analysis``, ``eig`` and ``exact`` of
    :mod:`brud_analysis.commands` (which calls this; importing it here would make a circle).

    Example:
        >>> ns = argparse.Namespace(critic="reward", cql="1", ood=None, ood_box=None,
        ...     ood_std=None, rule=None, at=None, json=True, time_budget=10.0, plot=None,
        ...     regulariser=None, sweep=None, latex=False)
        >>> from brud_analysis.data import Normal
        >>> from brud_analysis.game import Game
        >>> import contextlib, io
        >>> buffer = io.StringIO()
        >>> with contextlib.redirect_stdout(buffer):
        ...     code = run_critic_analyse(ns, Game("x*y"), Normal([1, 1], [1, 1]))
        >>> # (without ``host`` the base analysis is R and grad R only)
        >>> code, '"critic_field": [' in buffer.getvalue()
        (0, True)
    """
    from brud_analysis.critic import analyse_critic
    from brud_analysis.output import print_json
    from brud_analysis.parametric_report import apply_at, is_parametric

    spec = critic_spec_from_args(args)
    if data is None:
        raise BrudError("--critic needs --data (the critic is fitted to the data)")
    for flag, name in (("--plot", "plot"), ("--regulariser", "regulariser"),
                       ("--sweep", "sweep"), ("--latex", "latex")):
        if getattr(args, name, None):
            raise BrudError(f"{flag} does not combine with --critic yet")
    game, data, _ = apply_at(game, data, getattr(args, "at", None), None)
    if getattr(args, "at", None):  # (apply_at has checked the NAME=VALUE pairs)
        subs = {k.strip(): v for k, v in (p.split("=", 1) for p in args.at.split(","))}
        spec = dataclasses.replace(spec, alpha=_at(spec.alpha, subs), std=_at(spec.std, subs),
                                   box=tuple(_at(v, subs) for v in spec.box))
    budget = args.time_budget * 0.3
    host = host or {}
    parametric = is_parametric(game, data, None)
    if "analyse" in host and not game.parameters:
        base = host["analyse"](game, data if not parametric else None, budget)
    else:
        base = {"reward": str(game.reward), "agents": list(game.agent_names),
                "gradient": [str(d) for d in game.gradient], "notes": []}
    out = base | critic_json(analyse_critic(game, data, spec, budget),
                             host.get("eig", list), host.get("exact", list))
    if args.json:
        print_json(out)
        return 0
    if "stationary_points" in base:
        host["print_analysis"](base)
    else:
        print(f"reward      R = {base['reward']}")
        print(f"grad R      ({', '.join(base['gradient'])})")
    _print(out)
    return 0


def _at(value: Any, subs: dict[str, str]) -> Any:
    """``value`` with the ``--at`` values of its symbols."""
    from brud_analysis.game import parse_text

    mapping = {s: parse_text(subs[s.name]) for s in getattr(value, "free_symbols", ())
               if s.name in subs}
    return value.xreplace(mapping) if mapping else value
