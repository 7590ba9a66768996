"""The package behaves as the Python ecosystem expects (issue 26 item 5): ``brud --version``,
``brud_analysis.__version__`` from the installed metadata, and typed lazy public names."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

import brud_analysis
from brud_analysis.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_version_is_the_installed_distributions():
    assert brud_analysis.__version__ == metadata.version("brud-analysis")


def test_brud_version(capsys):
    with pytest.raises(SystemExit) as stop:  # argparse's version action, as `brud` runs it
        from brud_analysis.cli import build_parser

        build_parser().parse_args(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"brud {metadata.version('brud-analysis')}\n"
    assert main(["--version"]) == 0


def test_lazy_public_names_are_typed(tmp_path, monkeypatch):
    """A user's own mypy, on a file outside the repository, sees Game's real type: the
    lazy ``__getattr__`` alone made every public name ``Any``."""
    from mypy import api

    use = tmp_path / "use.py"
    use.write_text("from brud_analysis import Game, Normal, twin_peaks\n"
                   "reveal_type(Game)\nreveal_type(twin_peaks().n_agents)\n"
                   "reveal_type(Normal)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MYPYPATH", str(ROOT))  # this checkout, not another installed copy
    stdout, stderr, status = api.run([
        "--cache-dir", str(ROOT / ".mypy_cache"), "--follow-imports=silent",
        "--ignore-missing-imports", "--no-error-summary", str(use)])
    assert status == 0, stdout + stderr
    revealed = [line.split("Revealed type is ", 1)[1] for line in stdout.splitlines()
                if "Revealed type is" in line]
    assert len(revealed) == 3, stdout
    assert revealed[0].endswith('-> brud_analysis.game.Game"'), revealed[0]
    assert revealed[1] == '"int"'
    assert "brud_analysis.data.Normal" in revealed[2]


def test_every_public_name_is_exported_and_importable():
    from brud_analysis import _PUBLIC

    assert brud_analysis.__all__ == sorted(_PUBLIC)
    for name in brud_analysis.__all__:
        assert getattr(brud_analysis, name) is not None
