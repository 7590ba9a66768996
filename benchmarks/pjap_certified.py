"""CPU time of the certified PJAP zero search against the multi-start search, and of one
interval enclosure of the field's numerator per box with NumPy intervals against Arb balls.

    PYTHONPATH=. nice -n 10 python benchmarks/pjap_certified.py

Ratios are taken in the same run (CPU time, ``time.process_time``), the machine being shared.
"""

from __future__ import annotations

import time

import flint
import jax
import numpy as np

from brud_analysis.catalogue import twin_peaks
from brud_analysis.data import Empirical, Normal
from brud_analysis.game import Game
from brud_analysis.pjap import find_fixed_points, numeric_pjap_field
from brud_analysis.pjap_certified import _Field, certified_pjap_zeros
from verify.datasets import sample_dataset


def _rows(data, seed: int) -> np.ndarray:
    return np.asarray(sample_dataset(jax.random.key(seed), data, 300), dtype=float)


def _hull(rows: np.ndarray) -> list[tuple[float, float]]:
    lo, hi = rows.min(axis=0), rows.max(axis=0)
    pad = 0.5 * (hi - lo) + 0.5
    return list(zip((lo - pad).tolist(), (hi + pad).tolist(), strict=True))


CASES = [  # (name, game, rows, alpha, eps, distance, box)
    ("issue: twin peaks N(0.6,1) a16 e1e-4 L2",
     twin_peaks(), np.asarray(sample_dataset(jax.random.split(jax.random.key(11), 3)[0],
                                             Normal([0.6, 0.6], [1, 1]), 300), float),
     16.0, 1e-4, "l2", None),
    ("twin peaks N(0.6,0.3) a4 e1e-3 L1", twin_peaks(), _rows(Normal([0.6, 0.6], [0.3, 0.3]), 5),
     4.0, 1e-3, "l1", None),
    ("cal draw 2: twin peaks a16 e0 L1, clip 2.26", twin_peaks(),
     _rows(Normal([0.6, 0.6], [1, 1]), 129), 16.0, 0.0, "l1", [(-2.262954, 2.262954)] * 2),
    ("cal draw 4-like: 3 agents a16 e1e-3 L1, clip 3",
     Game("-3*x**2 - 4*x*y + 2*x*z - y**2 - 3*z**2"), _rows(Normal([0.5, -0.5, 0], [1, 1, 1]), 4),
     16.0, 1e-3, "l1", [(-3.0, 3.0)] * 3),
]


def _search_times() -> None:
    print("case | certified CPU s | multistart CPU s | ratio | certified zeros (complete) | "
          "multistart zeros")
    for name, game, rows, alpha, eps, dist, box in CASES:
        box = box or _hull(rows)
        t = time.process_time()
        out = certified_pjap_zeros(game, rows, alpha, eps, dist, box=box)
        tc = time.process_time() - t
        field = numeric_pjap_field(game, Empirical(rows), alpha, eps, dist)
        t = time.process_time()
        ms = find_fixed_points(field, box, tol=1e-6)
        tm = time.process_time() - t
        print(f"{name} | {tc:.2f} | {tm:.2f} | {tc / tm:.2f} | {len(out.points)} "
              f"({out.complete}, {out.boxes_processed} boxes) | {len(ms)}")


def _arb_numerator(game: Game, rows: np.ndarray, lo, hi, alpha: float, eps: float) -> list:
    """N_i over one box with Arb balls, a Python loop over rows (L2 distance)."""
    import sympy

    theta = [flint.arb.union(flint.arb(a), flint.arb(b)) for a, b in zip(lo, hi, strict=True)]
    grads = [sympy.lambdify(game.agents, g, "math") for g in game.gradient]
    out = [flint.arb(0)] * game.n_agents
    floor = flint.arb(eps)
    for row in rows:
        a = [flint.arb(float(v)) for v in row]
        d2 = sum(((a[j] - theta[j]) ** 2 for j in range(game.n_agents)), flint.arb(0))
        w = (-alpha * d2).exp()
        w = flint.arb.union(w, floor) if not (w > floor) else w  # enclosure of max(w, eps)
        for i in range(game.n_agents):
            args = [theta[j] if j == i else a[j] for j in range(game.n_agents)]
            out[i] = out[i] + w * grads[i](*args)
    return out


def _enclosure_times() -> None:
    name, game, rows, alpha, eps, dist, _ = CASES[0]
    box = np.array(_hull(rows))
    rng = np.random.default_rng(0)
    centres = rng.uniform(box[:, 0], box[:, 1], size=(256, 2))
    lo, hi = centres - 0.01, centres + 0.01
    fld = _Field(game, rows, alpha, eps, dist)
    t = time.process_time()
    for _ in range(5):
        fld.enclose(lo, hi, fld.shift(lo, hi), [0, 1], False)
    t_np = (time.process_time() - t) / (5 * len(lo))
    t = time.process_time()
    for k in range(20):
        _arb_numerator(game, rows, lo[k], hi[k], alpha, eps)
    t_arb = (time.process_time() - t) / 20
    print(f"one enclosure of N over a box, 300 rows ({name}): NumPy intervals (batches of 256) "
          f"{t_np * 1e6:.0f} us/box, Arb balls {t_arb * 1e6:.0f} us/box, ratio {t_arb / t_np:.0f}")


if __name__ == "__main__":
    _enclosure_times()
    _search_times()
