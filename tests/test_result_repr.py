"""Compact reprs and notebook tables of result objects (a notebook must not print 25k chars)."""

from __future__ import annotations

import numpy as np

from brud_analysis.catalogue import twin_peaks
from brud_analysis.phase_diagrams import brud_plane
from brud_analysis.solve import FixedPoint
from verify.harness import Basin, VerificationResult


def _result(runs: int = 256) -> VerificationResult:
    p = FixedPoint((0.5348, 0.5332), None, True, (-4.3 + 0j, -4.3 + 0j))
    q = FixedPoint((0.0, 0.0), None, False, (1 + 0j, 1 + 0j))
    basin = Basin((0.5348, 0.5332), runs, (0.5349, 0.5332), 5.6e-5, 2.3e-4, True)
    traj_like = np.zeros((runs, 201, 2))  # what makes the default dataclass repr huge
    return VerificationResult("passed", [], [p, q], basin.observed_mean, 2.3e-4, 0,
                              traj_like[:, 0],
                              [basin], np.zeros(runs, int), "fixed_point", 0,
                              details={"per_point": [{"x": list(range(500))}]},
                              dataset=np.zeros((1000, 2)), initial_policies=traj_like[:, 0])


def test_verification_result_repr_is_one_short_line():
    text = repr(_result())
    assert "\n" not in text and len(text) < 300
    assert text.startswith("VerificationResult(PASSED, fixed_point, 256 runs, 0 divergent")
    assert "(0.5348, 0.5332): 256 runs, error 5.60e-05 <= 2.30e-04? yes" in text


def test_verification_result_tables():
    r = _result()
    md = r._repr_markdown_()
    assert "| (0.5348, 0.5332) | stable | 256 | (0.5349, 0.5332) | 5.60e-05 | 2.30e-04 ok |" in md
    assert "| (0.0000, 0.0000) | unstable |" in md
    html = r._repr_html_()
    assert html.count("<tr>") == 3 and "<b>PASSED</b>" in html


def test_plane_repr():
    text = repr(brud_plane(twin_peaks(), [0.6124, 0.6124], resolution=5))
    assert text.startswith("BrudPlane(target=(0.6124, 0.6124)") and len(text) < 200
