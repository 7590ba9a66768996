"""Every PNG the toolkit writes carries the provenance its JSON results carry (issue 26 item 8):
package versions, git commit, command line and the figure's configuration, in the PNG's text
chunks (brud_analysis.figure_files)."""

from __future__ import annotations

from importlib import metadata

import sympy

from brud_analysis.catalogue import twin_peaks
from brud_analysis.data import Normal
from brud_analysis.figure_files import read_png_provenance


def _check(path, figure: str) -> dict:
    block = read_png_provenance(path)
    assert block["versions"]["brud-analysis"] == metadata.version("brud-analysis")
    assert block["versions"]["sympy"] == metadata.version("sympy")
    assert {"commit", "dirty", "argv", "python"} <= set(block)
    assert block["config"]["figure"] == figure
    from PIL import Image

    with Image.open(path) as image:
        assert image.info["Software"] == f"brud-analysis {metadata.version('brud-analysis')}"
    return block["config"]


def test_field_plot(tmp_path):
    from brud_analysis.plots import plot_fields

    path = plot_fields(twin_peaks(), Normal([0.5, 0.5], [0.2, 0.2]), tmp_path / "f.png",
                       resolution=5)
    config = _check(path, "true vs BRUD field")
    assert config["reward"] == str(twin_peaks().reward)
    assert config["data"] == "Normal(mean=[1/2, 1/2], std=[1/5, 1/5])"


def test_phase_diagrams(tmp_path):
    from brud_analysis.phase_diagrams import condition_phase_diagram, pjap_phase_diagram

    a = sympy.sqrt(sympy.Rational(3, 8))
    path = condition_phase_diagram(twin_peaks(), [a, a], tmp_path / "c.png", resolution=11)
    assert _check(path, "BRUD phase diagram")["target"] == ["sqrt(6)/4", "sqrt(6)/4"]
    path = pjap_phase_diagram(twin_peaks(), [0, 0], tmp_path / "p.png", resolution=5, steps=100)
    assert _check(path, "PJAP phase diagram")["steps"] == 100


def test_paper_figures(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from paper_checks.figures import _save

    path = _save(plt.figure(), tmp_path / "fig9_demo.png")
    assert _check(path, "fig9_demo")["source"] == "brud paper-checks"


def test_every_other_figure_writer(tmp_path):
    # The verifier's plots, the HalfCheetah figures and the claims' figures (beyond the paper,
    # fitted critics) write through save_png too: each PNG names itself in its provenance.
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for module in ("verify.plots", "verify.halfcheetah.figures", "paper_checks.beyond_paper",
                   "paper_checks.critic_claims"):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        path = tmp_path / f"{module}.png"
        importlib.import_module(module)._save(fig, path)
        _check(path, path.name)


def test_save_png_skips_the_placeholder_layout_draw_with_the_same_pixels(tmp_path):
    """save_png drops the inert layout engine a one-shot tight_layout leaves (savefig would
    lay the figure out a second time for it): same pixels as Matplotlib's own savefig, one
    figure draw instead of two, and the figure keeps its engine afterwards."""
    import io

    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from brud_analysis.figure_files import save_png

    def figure():
        fig, axes = plt.subplots(1, 2, figsize=(6, 3))
        for k, ax in enumerate(axes):
            ax.plot([0, 1, 2], [k, 2, 1], label=f"run {k}")
            ax.set_title(f"panel {k}")
            ax.legend(loc="best")
            fig.colorbar(ax.scatter([0, 1], [1, 0], c=[0, 1]), ax=ax, label="value")
        fig.suptitle("demo")
        fig.tight_layout()
        return fig

    reference = io.BytesIO()
    figure().savefig(reference, format="png", dpi=50)
    fig = figure()
    engine = fig.get_layout_engine()
    draws = []
    fig.canvas.mpl_connect("draw_event", lambda event: draws.append(event))
    path = save_png(fig, tmp_path / "f.png", {"figure": "demo"}, close=False, dpi=50)
    assert len(draws) == 1
    assert fig.get_layout_engine() is engine
    pixels = [np.asarray(Image.open(p).convert("RGBA")) for p in (reference, path)]
    assert pixels[0].shape == pixels[1].shape and np.array_equal(*pixels)
    plt.close(fig)
