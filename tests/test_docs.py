"""Documentation that cannot rot: the API reference builds with warnings as errors, every
section of the theory page cited in code exists, and the licence/citation/typing files are there.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from markdown.extensions.toc import slugify

from brud_analysis.bounded import run_process

ROOT = Path(__file__).resolve().parent.parent
CITED = re.compile(r"docs/theory\.md(#[a-z0-9-]+(?:, #[a-z0-9-]+)*)?")
SOURCES = ("brud_analysis", "verify", "paper_checks", "examples", "tests", "README.md")


def _theory_anchors() -> set[str]:
    text = (ROOT / "docs" / "theory.md").read_text()
    return {slugify(m.group(1).strip(), "-") for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def _source_files():
    for name in SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for f in files:
            if f.suffix in (".py", ".md", ".ipynb") and f.is_file() and f.name != "test_docs.py":
                yield f


def test_every_cited_theory_section_exists():
    anchors = _theory_anchors()
    cited = 0
    for f in _source_files():
        for m in CITED.finditer(f.read_text(errors="replace")):
            for anchor in re.findall(r"#([a-z0-9-]+)", m.group(1) or ""):
                cited += 1
                assert anchor in anchors, f"{f.relative_to(ROOT)} cites missing #{anchor}"
    assert cited >= 20  # the docstrings, help texts and reports do link here


def test_no_reference_to_a_theory_file_outside_the_repository():
    for f in _source_files():
        assert "THEORY.md" not in f.read_text(errors="replace"), f.relative_to(ROOT)


def test_licence_citation_and_typing_files():
    licence = (ROOT / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence  # the full text, not a stub
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for key in ("cff-version", "message", "title", "authors"):
        assert cff[key], key
    paper = cff["references"][0]
    assert paper["url"] == "https://arxiv.org/abs/2407.01343"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = project["tool"]["setuptools"]["package-data"]
    for package in ("brud_analysis", "verify"):
        assert (ROOT / package / "py.typed").exists()
        assert "py.typed" in package_data[package]


def test_api_reference_builds_strict(tmp_path):
    # `mkdocs build --strict` turns every warning (a missing page, a broken cross-reference, a
    # docstring griffe cannot parse) into a failure. Not `-q`: it hides the autorefs warnings
    # from the count that --strict fails on (a doctest output read as a cross-reference passed
    # unseen that way), so the log is read too and must hold no warning at all.
    proc = run_process(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
         str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        cpu_limit=600, cwd=ROOT,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert warnings == []
    page = (tmp_path / "site" / "api" / "analysis" / "index.html").read_text()
    assert "brud_component" in page  # docstrings were rendered, not just the page shell
    # doctests render as code (scripts/griffe_examples.py), not as nested Markdown block quotes
    assert "<blockquote>\n<blockquote>" not in page
    assert page.count('class="gp">&gt;&gt;&gt; </span>') > 100
    # Sphinx roles render as code, not as a literal ":func:" before it
    for html in (tmp_path / "site" / "api").rglob("*.html"):
        assert not re.search(r":(func|class|mod|meth|attr|data|exc):<code>", html.read_text()), html


def test_architecture_picture_and_module_index_match_the_code():
    # docs/architecture.png and the module index in docs/architecture.md are drawn from the
    # imports by scripts/import_graph.py; a module moved, added or rewired since fails here.
    from PIL import Image

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import import_graph
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    graph = import_graph.project_graph()
    assert len(graph) > 50 and sum(map(len, graph.values())) > 200  # the graph was read
    redraw = "stale: run `python scripts/import_graph.py` and commit docs/architecture.*"
    with Image.open(ROOT / "docs" / "architecture.png") as picture:
        drawn = picture.text.get(import_graph.FINGERPRINT_KEY)  # type: ignore[attr-defined]
    assert drawn == import_graph.fingerprint(graph), f"docs/architecture.png is {redraw}"
    page = (ROOT / "docs" / "architecture.md").read_text()
    assert import_graph.module_index(graph) in page, f"the module index is {redraw}"


@pytest.mark.parametrize("script", ["import_graph", "griffe_examples"])
def test_docs_scripts_examples_run(script):
    import doctest
    import importlib

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        module = importlib.import_module(script)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
