"""Every subcommand's ``--json`` speaks the one vocabulary of docs/json.md.

The vocabulary is read from the tables of docs/json.md, so the page and the commands cannot drift
apart: a key that is not documented there fails here. Besides the names, the shapes that used to
differ between commands are checked: eigenvalues are ``[real, imag]`` pairs, a data model is an
object with a ``family``, ``reward`` is a string, a ``point`` is a list of numbers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from brud_analysis.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "json.md"


def _table_keys(section: str) -> set[str]:
    text = DOC.read_text()
    start = text.index(f"## {section}")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end != -1 else None]
    return set(re.findall(r"^\| `([^`]+)` \|", body, flags=re.M))


VOCABULARY = _table_keys("Vocabulary")
DATA_KEYED = _table_keys("Mappings keyed by data")
FREE_FORM = _table_keys("Free-form objects")


def violations(obj: Any, path: str = "$", data_keyed: bool = False) -> list[str]:
    """Keys outside the vocabulary and shapes that break its conventions, with their paths."""
    found: list[str] = []
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            found += violations(item, f"{path}[{i}]")
        return found
    if not isinstance(obj, dict):
        return found
    for key, value in obj.items():
        where = f"{path}.{key}"
        if data_keyed:  # the key is a name from the data; its value speaks the vocabulary
            found += violations(value, where)
            continue
        if " " in key:
            found.append(f"{where}: key with a space")
        if key in FREE_FORM:
            continue
        if key not in VOCABULARY | DATA_KEYED:
            found.append(f"{where}: not in docs/json.md")
        found += _shape(key, value, where)
        found += violations(value, where, data_keyed=key in DATA_KEYED)
    return found


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, int | float) and not isinstance(v, bool))


def _shape(key: str, value: Any, where: str) -> list[str]:
    if key == "eigenvalues" and not (isinstance(value, list) and all(
            isinstance(e, list) and len(e) == 2 and all(map(_is_number, e)) for e in value)):
        return [f"{where}: eigenvalues must be [real, imag] pairs, got {value!r}"]
    if key == "data" and not (isinstance(value, dict) and "family" in value):
        return [f"{where}: a data model must be an object with a family, got {value!r}"]
    if key == "reward" and not isinstance(value, str):
        return [f"{where}: reward must be a string"]
    if key in ("point", "observed_mean") and not (
            isinstance(value, list) and all(map(_is_number, value))):
        return [f"{where}: {key} must be a list of numbers, got {value!r}"]
    return []


def run_json(capsys, argv: list[str]) -> Any:
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


NORMAL = ["--data", "normal", "--mean", "0.3", "-0.2", "--std", "0.5", "1"]
FAST_COMMANDS = {
    "analyse": ["analyse", "x**2*y - y**3 + x*y", *NORMAL],
    "analyse-sets": ["analyse", "-(x - y)**2", "--data", "uniform", "--low", "0", "1",
                     "--high", "2", "3"],
    "condition": ["condition", "twin_peaks(A=1, B=4, C=5)", "--target", "sqrt(3/8)",
                  "sqrt(3/8)"],
    "pjap-field": ["pjap-field", "twin_peaks(A=1, B=4, C=5)", "--data", "normal", "--mean",
                   "0.5", "0.5", "--std", "1", "1", "--alpha", "2"],
    "pjap-field-parametric": ["pjap-field", "twin_peaks", "--data", "normal", "--mean", "0",
                              "0", "--std", "1", "1", "--alpha", "a", "--regulariser", "bc=L",
                              "--time-budget", "300"],
    "paper-checks --list": ["paper-checks", "--list"],
    "analyse-parametric": ["analyse", "twin_peaks(A=A, B=B, C=C)", "--data", "normal", "--mean",
                           "m", "m", "--std", "s", "s", "--assume", "A>0, B>0, C>2*A, s>0"],
    # beyond the paper: a fitted critic (docs/critics.md), numeric and with symbols left
    "analyse-critic": ["analyse", "twin_peaks", *NORMAL, "--critic", "reward", "--cql", "1",
                       "--ood", "policy"],
    "analyse-critic-formula": ["analyse", "twin_peaks", *NORMAL, "--critic", "reward", "--cql",
                               "K", "--assume", "K>=0"],
    "pjap-field-critic": ["pjap-field", "twin_peaks", *NORMAL, "--alpha", "4", "--critic",
                          "reward", "--cql", "1"],
}


@pytest.mark.parametrize("name", FAST_COMMANDS)
def test_symbolic_commands_speak_the_vocabulary(name: str, capsys) -> None:
    assert violations(run_json(capsys, FAST_COMMANDS[name])) == []


def test_verify_and_online_speak_the_vocabulary(capsys, tmp_path) -> None:
    out = run_json(capsys, ["verify", "-(x - y)**2", *NORMAL, "--seeds", "4", "--steps", "20",
                            "--dataset-size", "50", "--batch-size", "8",
                            "--output", str(tmp_path / "v.json")])
    assert violations(out) == []
    assert violations(json.loads((tmp_path / "v.json").read_text())) == []
    out = run_json(capsys, ["online", "x*y", "--buffer-sizes", "16", "--steps", "20",
                            "--batch-size", "4"])
    assert violations(out) == []


def test_verify_critic_speaks_the_vocabulary(capsys) -> None:
    # beyond the paper (docs/critics.md): derived steps, so that its points are reported
    out = run_json(capsys, ["verify", "-(x - y)**2", "--data", "normal", "--mean", "1", "-1",
                            "--std", "1", "1", "--critic", "degree=2", "--cql", "1",
                            "--seeds", "2", "--dataset-size", "200"])
    assert out["points"] and violations(out) == []


def test_paper_checks_run_speaks_the_vocabulary(capsys, tmp_path) -> None:
    out = run_json(capsys, ["paper-checks", "--claim", "games.decoupled", "--no-figures",
                            "--quick", "--out", str(tmp_path)])
    assert violations(out) == []
    assert violations(json.loads((tmp_path / "results.json").read_text())) == []


def test_checker_catches_drift() -> None:
    # the check itself can fail: each drift named in issue 10 is caught
    bad = {"game": "x*y", "data": "Normal(mean=[0, 0], std=[1, 1])",
           "fixed_points": [{"point": [0.0, 0.0], "eigenvalues": [-1.0, -2.0]}],
           "final policy": [0.0, 0.0]}
    found = "\n".join(violations(bad))
    for fragment in ("$.game: not in", "$.data: a data model", "eigenvalues must be",
                     "$.final policy: key with a space"):
        assert fragment in found


@pytest.mark.slow
def test_halfcheetah_commands_speak_the_vocabulary(capsys, tmp_path) -> None:
    # `halfcheetah train` and `report`: tests/test_halfcheetah_experiment.py checks their --json
    # on the outputs of its end-to-end run (the learners are compiled once for both checks).
    found = violations(run_json(capsys, ["halfcheetah", "datasets", "--out", str(tmp_path),
                                         "--episodes", "1"]))
    good = tmp_path / "2halfcheetah.vlt" / "Good"
    found += violations(run_json(capsys, ["halfcheetah", "stats", str(good)]))
    distinct = sorted({re.sub(r"\[\d+\]", "[]", f) for f in found})
    print("\n".join(distinct))
    assert distinct == []
