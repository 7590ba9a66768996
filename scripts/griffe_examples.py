"""A Griffe extension for the API reference (loaded by mkdocs.yml): read ``Example:`` as an
examples section, and Sphinx roles as code.

The project's docstrings head their doctests ``Example:`` (singular, as in the Google style
guide's own sample). Griffe's Google parser knows only ``Examples:`` as a section and renders
``Example:`` as an admonition whose body is Markdown, so a doctest's output line such as
``[-sqrt(2), 0, sqrt(2)]`` was read as a cross-reference (14 autorefs warnings) and ``>>>`` as
a block quote. Renaming the header when Griffe loads an object turns every such doctest into a
highlighted ``pycon`` block without touching the 280-odd docstrings. Likewise the 160-odd
Sphinx roles (``:func:`name```), which Markdown shows literally, become code spans.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# a line that is only "Example:" or "Example (a note):" (any indentation), as a header is
_SINGULAR = re.compile(r"^(\s*)Example(?: \((.*)\))?:[ \t]*$", re.MULTILINE)


def examples_header(text: str) -> str:
    """The docstring with every ``Example:`` header spelt ``Examples:``, and a note in
    brackets, ``Example (note):``, kept as the section's title (``Examples: Example (note):``).

    Example:
        >>> examples_header("Sum.\\n\\nExample:\\n    >>> 1 + 1\\n    2")
        'Sum.\\n\\nExamples:\\n    >>> 1 + 1\\n    2'
        >>> examples_header("    Example (Twin Peaks, centred data):")
        '    Examples: Example (Twin Peaks, centred data):'
        >>> examples_header("An Example: inline, not a header.")
        'An Example: inline, not a header.'
    """
    def header(m: re.Match[str]) -> str:
        return f"{m[1]}Examples:" + (f" Example ({m[2]}):" if m[2] else "")

    return _SINGULAR.sub(header, text)


# a Sphinx cross-reference role; "~" shows only the last component of the name
_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const):`(~?)([^`]+)`")


def roles_as_code(text: str) -> str:
    """The docstring with every Sphinx role written as a Markdown code span.

    Example:
        >>> roles_as_code("Uses :func:`brud_analysis.solve.stationary_points` and :class:`Box`.")
        'Uses `brud_analysis.solve.stationary_points` and `Box`.'
        >>> roles_as_code("Raises :exc:`~brud_analysis.errors.BrudError`.")
        'Raises `BrudError`.'
    """
    def code(m: re.Match[str]) -> str:
        return f"`{m[2].rpartition('.')[2] if m[1] else m[2]}`"

    return _ROLE.sub(code, text)


class ExampleSections(griffe.Extension):
    """Rewrites each loaded object's docstring before Griffe parses it (lazily, later)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = roles_as_code(examples_header(obj.docstring.value))
