"""Reference return distributions of the shipped behaviour policies and of a random policy.

A 1000-step MuJoCo return is chaotic: float rounding that differs between CPUs (vector paths,
BLAS kernels) moves one deterministic episode by ~1 % (the Good policy's reset-seed-0 episode
returns 6061.1 on one AMD EPYC and 6131.5 on another, with the same locked versions). What a
policy *does* is its distribution of returns over reset seeds, so the reference is that
distribution (mean, std, n, seeds), and a re-measurement is compared with it by a Welch t-test
whose tolerance comes from the two samples' spread, never one episode to a fixed percentage.

The same file fixes the D4RL-style return normalisation of the HalfCheetah experiment:
0 = the uniformly random policy's mean return, 1 = the Good behaviour policy's mean return,
both measured under the locked versions (not the dataset's own min/max, which one outlier
episode moves).

Re-record (about 40 s of CPU): ``python -m verify.halfcheetah.reference --record``.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brud_analysis.errors import BrudError
from verify.halfcheetah.vault import arrays_sha256 as parameter_hash

REFERENCE_PATH = Path(__file__).parent / "policies" / "reference_returns.json"
POLICIES = ("good", "medium", "random")
REFERENCE_EPISODES = 64  # reset seeds 0..63
CHECK_SEED = 1000  # re-measurements use other reset seeds: an independent sample
CHECK_EPISODES = 16
# two-sided level of the re-measurement test: a correct install on another CPU fails it with
# probability ~1e-3, a shift of ~3.5 standard errors of the difference is caught.
ALPHA = 1e-3
__all__ = ["parameter_hash", "check_returns", "load_reference", "normalisation_reference",
           "policy_function", "policy_returns", "record_reference", "ReturnCheck"]
SIMULATOR_PACKAGES = ("mujoco", "gymnasium-robotics", "gymnasium", "numpy")


def policy_function(name: str, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """The deterministic policy ``good`` / ``medium``, or ``random``: uniform actions in [-1, 1]^6
    from ``numpy.random.default_rng(seed)``.

    Example:
        >>> policy_function("random", seed=0)(np.zeros((2, 12))).shape
        (2, 3)
    """
    from verify.halfcheetah.behaviour import load_policy, numpy_policy
    from verify.halfcheetah.env import ACT_DIM, N_AGENTS

    if name == "random":
        rng = np.random.default_rng(seed)
        return lambda obs: rng.uniform(-1.0, 1.0, (N_AGENTS, ACT_DIM)).astype(np.float32)
    return numpy_policy(load_policy(name))


def policy_returns(name: str, episodes: int, seed: int) -> np.ndarray:
    """Returns of ``episodes`` episodes of policy ``name`` with reset seeds ``seed, seed+1, ...``
    (the random policy's action stream is seeded with ``seed`` too)."""
    from verify.halfcheetah.env import rollout_returns

    return rollout_returns(policy_function(name, seed), episodes=episodes, seed=seed)


def load_reference(path: str | Path = REFERENCE_PATH) -> dict[str, Any]:
    """The recorded reference distributions (see the module docstring).

    Example:
        >>> sorted(load_reference()["policies"])
        ['good', 'medium', 'random']
    """
    try:
        data = json.loads(Path(path).read_text())
        _ = data["policies"]["good"]["mean"], data["policies"]["random"]["mean"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BrudError(f"{path} is not a reference-returns file ({err})") from None
    return data


def normalisation_reference(path: str | Path = REFERENCE_PATH) -> dict[str, Any]:
    """D4RL-style fixed normalisation: 0 = random policy mean, 1 = Good policy mean.

    Example:
        >>> ref = normalisation_reference()
        >>> ref["zero"] < 0 < 5000 < ref["one"]
        True
    """
    data = load_reference(path)
    zero = float(data["policies"]["random"]["mean"])
    one = float(data["policies"]["good"]["mean"])
    return {
        "method": "D4RL-style (return - random-policy mean) / (Good-policy mean - random mean)",
        "zero": zero, "one": one,
        "source": "verify/halfcheetah/policies/reference_returns.json",
        "versions": data.get("versions"),
    }


@dataclass(frozen=True)
class ReturnCheck:
    """A re-measured return sample against a reference distribution (Welch t-test)."""

    mean: float
    n: int
    reference_mean: float
    reference_n: int
    tolerance: float  # half-width: |mean - reference_mean| above it fails at level ALPHA
    p_value: float
    alpha: float

    @property
    def passed(self) -> bool:
        """True when the two means are not separated at level ``alpha``."""
        return self.p_value >= self.alpha

    def describe(self) -> str:
        """One line for logs and assertion messages."""
        return (f"mean {self.mean:.1f} (n={self.n}) vs reference {self.reference_mean:.1f} "
                f"(n={self.reference_n}): difference {self.mean - self.reference_mean:+.1f}, "
                f"tolerance +-{self.tolerance:.1f}, Welch p = {self.p_value:.2g} "
                f"(fails below {self.alpha:g})")


def check_returns(returns: np.ndarray, reference: dict[str, Any],
                  alpha: float = ALPHA) -> ReturnCheck:
    """Welch two-sided t-test of ``returns`` against a recorded ``{mean, std, n}`` entry.

    The tolerance is the ``1 - alpha/2`` Student-t quantile (Welch-Satterthwaite degrees of
    freedom) times the standard error of the difference of the two means.

    Example:
        >>> ref = {"mean": 100.0, "std": 10.0, "n": 64}
        >>> check_returns(np.array([98.0, 104.0, 95.0, 101.0, 99.0, 103.0]), ref).passed
        True
        >>> check_returns(np.array([80.0, 84.0, 75.0, 81.0, 79.0, 83.0]), ref).passed
        False
    """
    from scipy import stats

    returns = np.asarray(returns, float)
    if returns.size < 2:
        raise BrudError("a return check needs at least 2 episodes")
    m, s, n = float(returns.mean()), float(returns.std(ddof=1)), returns.size
    rm, rs, rn = float(reference["mean"]), float(reference["std"]), int(reference["n"])
    test = stats.ttest_ind_from_stats(m, s, n, rm, rs, rn, equal_var=False)
    a, b = s**2 / n, rs**2 / rn
    se = float(np.sqrt(a + b))
    df = (a + b) ** 2 / (a**2 / (n - 1) + b**2 / (rn - 1)) if se > 0 else float(n + rn - 2)
    tolerance = float(stats.t.ppf(1 - alpha / 2, df)) * se
    return ReturnCheck(m, n, rm, rn, tolerance, float(test.pvalue), alpha)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def record_reference(path: str | Path = REFERENCE_PATH,
                     episodes: int = REFERENCE_EPISODES) -> dict[str, Any]:
    """Measure every policy's return distribution over reset seeds ``0..episodes-1``; write it.

    Example (about 40 s of CPU at 64 episodes, so not run as a doctest)::

        record_reference("/tmp/ref.json", episodes=2)
    """
    from importlib import metadata

    from brud_analysis.output import provenance, write_atomic
    from verify.halfcheetah.behaviour import load_policy

    entries = {}
    for name in POLICIES:
        returns = policy_returns(name, episodes, seed=0)
        entry: dict[str, Any] = {
            "mean": float(returns.mean()), "std": float(returns.std(ddof=1)),
            "n": int(returns.size), "reset_seeds": [0, episodes - 1],
            "returns": [round(float(r), 3) for r in returns],
        }
        if name != "random":
            entry["parameter_sha256"] = parameter_hash(load_policy(name))
        entries[name] = entry
    data = {
        "what": ("undiscounted 1000-step return distribution over reset seeds 0..n-1 of each "
                 "shipped deterministic policy and of the uniform random policy (actions from "
                 "default_rng(0)); re-measure with other seeds and compare with "
                 "verify.halfcheetah.reference.check_returns (Welch t-test), never one episode"),
        "versions": {name: metadata.version(name) for name in SIMULATOR_PACKAGES},
        "cpu": _cpu_model(),
        "policies": entries,
        "provenance": provenance({"episodes": episodes}),
    }
    write_atomic(path, dump_json(data))
    return data


def dump_json(data: Any) -> str:
    """Indented JSON with lists of numbers kept on one line (readable reference files).

    Example:
        >>> print(dump_json({"a": [1, 2.5]}))
        {
          "a": [1, 2.5]
        }
        <BLANKLINE>
    """
    text = json.dumps(data, indent=2)
    number_list = re.compile(r"\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]")
    return number_list.sub(lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``--record``: re-measure and write the reference; ``--check``: compare a fresh sample."""
    parser = argparse.ArgumentParser(prog="python -m verify.halfcheetah.reference")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--episodes", type=int, default=CHECK_EPISODES)
    args = parser.parse_args(argv)
    if args.record:
        data = record_reference()
        for name, entry in data["policies"].items():
            print(f"{name}: {entry['mean']:.1f} +- {entry['std']:.1f} (n={entry['n']})")
        return 0
    reference = load_reference()
    failed = 0
    for name in POLICIES:
        check = check_returns(policy_returns(name, args.episodes, CHECK_SEED),
                              reference["policies"][name])
        failed += not check.passed
        print(f"{name}: {'ok' if check.passed else 'FAILED'}: {check.describe()}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
