"""``brud analyse GAME --data ... --critic FEATURES``: the fitted critic on the command line.

The options are added to ``analyse`` by :func:`add_critic_options`; with ``--critic`` the
handler (`brud_analysis.cli.symbolic`) reports the true field and stationary points (as ``analyse``
does), then the fitted critic (JSON key ``critic``: features, exact weights, expression), the
chosen rule's field, its fixed points and their stability (docs/critics.md).
"""

from __future__ import annotations

import argparse
import dataclasses
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


def critic_symbol_names(spec: Any) -> set[str]:
    """The names of the symbols in a critic spec's alpha, OOD std and box (what ``--assume``
    may talk about besides the game's and the data's); empty for ``None``.

    Example:
        >>> import sympy
        >>> from brud_analysis.critic import CriticSpec
        >>> sorted(critic_symbol_names(CriticSpec("reward", alpha=sympy.Symbol("K"))))
        ['K']
    """
    if spec is None:
        return set()
    # the std only matters for policy OOD, the box only for uniform OOD
    values = (spec.alpha, *((spec.std,) if spec.ood == "policy" else spec.box))
    return {s.name for v in values for s in v.free_symbols}


def critic_json(analysis: Any) -> dict[str, Any]:
    """The critic part of ``brud analyse --critic --json`` (docs/critics.md#json).

    Example:
        >>> from brud_analysis.critic import CriticSpec, analyse_critic
        >>> from brud_analysis.data import Normal
        >>> from brud_analysis.game import Game
        >>> out = critic_json(analyse_critic(Game("x*y"), Normal([1, 1], [1, 1]),
        ...                                  CriticSpec("1,x*y", alpha=1)))
        >>> out["critic"]["weights_exact"], out["critic_fixed_points"]
        (['-1/3', '4/3'], [])
    """
    from brud_analysis.output import fixed_point_records

    c = analysis.critic
    n = c.game.n_agents
    ood = _ood_json(c.spec, n)
    out: dict[str, Any] = {
        "critic": {
            "features": [str(f) for f in c.features],
            "weights": [_number(w, only_numbers=True) for w in c.weights],
            "weights_exact": [str(w) for w in c.weights],
            "expression": str(c.expression),
            "cql_alpha": str(c.spec.alpha),
            "ood": ood,
            "rule": analysis.rule,
        },
        "critic_field": [str(g) for g in analysis.field],
        "critic_notes": list(analysis.notes),
    }
    if analysis.fixed is not None:
        fp = analysis.fixed
        out["critic_fixed_points"], out["critic_fixed_sets"] = fixed_point_records(fp)
        out["critic_method"] = fp.method
        if not fp.points and not fp.sets:
            out["critic_notes"].append("no fixed point: the policy drifts")
    if analysis.formulas is not None:
        f = analysis.formulas
        out["critic_fixed_point_formula"] = {
            "exact": None if f["point"] is None else [str(v) for v in f["point"]],
            "valid_if": f.get("valid_if"), "stable_if": f.get("stable_iff"),
            "note": f.get("note")}
    return out


def _ood_json(spec: Any, n: int) -> dict[str, Any]:
    """rho as a data-model object (docs/json.md): uniform with per-agent bounds, or the policy
    with per-agent noise std."""
    if spec.ood == "uniform":
        return {"family": "uniform", "low": [_number(spec.box[0])] * n,
                "high": [_number(spec.box[1])] * n}
    return {"family": "policy", "std": [_number(spec.std)] * n}


def _number(value: Any, only_numbers: bool = False) -> Any:
    """A JSON number for an exact value; with symbols left its text (``None`` with
    ``only_numbers``: the exact text is then under the ``_exact`` key)."""
    if getattr(value, "free_symbols", None):
        return None if only_numbers else str(value)
    return float(value)


def _readable(text: str, limit: int = 40) -> str:
    """An exact number or expression as text, in 6 significant digits when it is long and
    has no symbols (exact rationals of an empirical dataset run to 30 digits; JSON keeps them)."""
    if len(text) <= limit:
        return text
    import sympy

    value = sympy.sympify(text)
    return str(sympy.N(value, 6)) if value.is_number or len(str(sympy.N(value, 6))) < len(
        text) else text


def print_critic(out: dict[str, Any]) -> None:
    c = out["critic"]
    def text(v: Any) -> str:  # a number of the JSON (or a symbol's text) as typed
        return f"{v:g}" if isinstance(v, float) else str(v)

    ood = (f"uniform on [{text(c['ood']['low'][0])}, {text(c['ood']['high'][0])}]^n"
           if c["ood"]["family"] == "uniform" else f"policy + N(0, {text(c['ood']['std'][0])}^2)")
    print(f"critic      Q = {_readable(c['expression'])}")
    print(f"            features ({', '.join(c['features'])}), CQL alpha {c['cql_alpha']}, "
          f"OOD {ood}")
    print(f"            weights ({', '.join(_readable(w) for w in c['weights_exact'])})")
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
        if formula["exact"]:
            print(f"  point ({', '.join(formula['exact'])}) if {formula['valid_if']}")
            print(f"  stable iff {formula['stable_if']}")
        else:
            print(f"  {formula['note']}")
    for note in out["critic_notes"]:
        print(f"note: {note}")


def critic_spec_at(spec: Any, at: str | None) -> Any:
    """``spec`` with the ``--at NAME=VALUE,...`` values of its symbols (alpha, std, box).

    Example:
        >>> import sympy
        >>> from brud_analysis.critic import CriticSpec
        >>> critic_spec_at(CriticSpec("reward", alpha=sympy.Symbol("K")), "K=2").alpha
        2
    """
    if not at:
        return spec
    subs = {k.strip(): v for k, v in (p.split("=", 1) for p in at.split(","))}
    return dataclasses.replace(spec, alpha=_at(spec.alpha, subs), std=_at(spec.std, subs),
                               box=tuple(_at(v, subs) for v in spec.box))


def _at(value: Any, subs: dict[str, str]) -> Any:
    """``value`` with the ``--at`` values of its symbols."""
    from brud_analysis.parsing import parse_text

    mapping = {s: parse_text(subs[s.name]) for s in getattr(value, "free_symbols", ())
               if s.name in subs}
    return value.xreplace(mapping) if mapping else value


def run_critic_pjap_field(args: argparse.Namespace, game: Any, data: Any) -> int:
    """``brud pjap-field ... --critic``: BRUD (or the rule) under the critic fitted, with CQL,
    to the PJAP-prioritised data (:mod:`brud_analysis.critic_pjap`; docs/critics.md): the
    exact field, and its fixed points by multi-start Newton in the box (not certified).

    Example:
        >>> ns = argparse.Namespace(critic="reward", cql="1", ood=None, ood_box=None,
        ...     ood_std=None, rule=None, alpha=2.0, eps=0.0, distance="l2", box=None,
        ...     plot=None, regulariser=None, assume=None, json=True)
        >>> from brud_analysis.data import Normal
        >>> from brud_analysis.game import Game
        >>> import contextlib, io, json
        >>> buffer = io.StringIO()
        >>> with contextlib.redirect_stdout(buffer):
        ...     code = run_critic_pjap_field(ns, Game("-x**2 - y**2 + x*y"), Normal([1, 0], [1, 1]))
        >>> code, [p["stable"] for p in json.loads(buffer.getvalue())["fixed_points"]]
        (0, [False, True, False])
    """
    import sympy

    from brud_analysis.cli.options import data_json
    from brud_analysis.critic_pjap import prioritised_critic_field
    from brud_analysis.data import Normal
    from brud_analysis.output import print_json
    from brud_analysis.pjap import default_box, find_fixed_points

    spec = critic_spec_from_args(args)
    for flag, name in (("--plot", "plot"), ("--regulariser", "regulariser"),
                       ("--assume", "assume")):
        if getattr(args, name, None):
            raise BrudError(f"{flag} does not combine with --critic in pjap-field yet")
    if args.distance != "l2" or args.eps != 0 or not isinstance(data, Normal):
        raise BrudError("pjap-field --critic needs the closed form of the prioritised data: "
                        "--data normal, --distance l2 and --eps 0")
    if (isinstance(args.alpha, sympy.Basic) and args.alpha.free_symbols) or game.parameters \
            or data.free_symbols or any(not sympy.sympify(v).is_number for v in
                                        (spec.alpha, spec.std, *spec.box)):
        raise BrudError("pjap-field --critic needs numbers (game, data, --alpha, --cql, "
                        "--ood-std, --ood-box)")
    if args.box and not args.box[0] < args.box[1]:
        raise BrudError(f"--box needs LO < HI, got {args.box}")
    box = [tuple(args.box)] * game.n_agents if args.box else default_box(data, game)
    out_field = prioritised_critic_field(game, data, spec, args.alpha)
    f, jac = out_field.numeric()
    points = find_fixed_points(f, box, jacobian=jac)
    ood = _ood_json(spec, game.n_agents)
    out: dict[str, Any] = {
        "reward": str(game.reward), "agents": list(game.agent_names), "data": data_json(data),
        "alpha": float(args.alpha), "eps": 0.0, "distance": "l2",
        "critic": {"features": [str(sympy.sympify(e)) for e in _features(game, spec)],
                   "cql_alpha": str(spec.alpha), "ood": ood, "rule": spec.rule},
        "method": "closed-form field under the critic fitted to the prioritised data (L2 "
                  "kernel, eps 0, normal data); fixed points by multi-start Newton in the box "
                  "(not certified complete)",
        "field": [str(g) for g in out_field.field()],
        "fixed_points": [{"point": [float(v) for v in p.point], "exact": None,
                          "stable": p.stable,
                          "eigenvalues": [[float(e.real), float(e.imag)] for e in p.eigenvalues]}
                         for p in points],
        "box": [list(b) for b in box],
    }
    if args.json:
        print_json(out)
        return 0
    print(f"reward      R = {out['reward']}")
    print(f"PJAP        alpha {args.alpha}, L2 kernel, eps 0; data {data!r}")
    print(f"critic      features ({', '.join(out['critic']['features'])}), CQL alpha "
          f"{spec.alpha}, {spec.describe().split(', ', 2)[2]}")
    print(f"data seen   {out_field.seen!r}   [prioritised: means move with theta]")
    print("field       exact, rational in theta (--json prints it)")
    print(f"fixed points (multi-start Newton in {out['box']}; not certified complete)")
    for p in out["fixed_points"]:
        stable = {True: "stable", False: "unstable", None: "degenerate"}[p["stable"]]
        print(f"  point ({', '.join(f'{v:.6g}' for v in p['point'])}): {stable}")
    return 0


def _features(game: Any, spec: Any) -> list[Any]:
    from brud_analysis.critic import feature_exponents, monomial

    return [monomial(game, e) for e in feature_exponents(game, spec.features)]
