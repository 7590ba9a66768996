"""Writing figures: every PNG the toolkit writes carries the provenance its JSON results carry.

One helper for every ``savefig`` site: the PNG is rendered in memory, gets two text chunks
(``Software``: ``brud-analysis <version>``; ``Description``: ``{"provenance": ...}``, the block
of :func:`brud_analysis.output.provenance` with the figure's configuration) and is written
atomically, so a reader never sees half a PNG and a figure found on disk says what made it.
Matplotlib is imported by the caller (which built the figure), not here.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The PNG text key holding ``{"provenance": ...}`` (the key PNG viewers show as a caption).
PROVENANCE_KEY = "Description"


def save_png(fig: Any, path: str | os.PathLike[str], config: Mapping[str, Any] | None = None, *,
             close: bool = True, **savefig: Any) -> Path:
    """Write ``fig`` as a PNG with provenance metadata, atomically; return the path.

    ``config`` describes the figure (what it shows, its inputs); ``savefig`` passes options
    such as ``dpi`` or ``bbox_inches`` to Matplotlib. The figure is closed unless ``close`` is
    false.

    Example:
        >>> import tempfile, pathlib, matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> path = save_png(fig, pathlib.Path(tempfile.mkdtemp()) / "f.png", {"figure": "demo"})
        >>> read_png_provenance(path)["config"]
        {'figure': 'demo'}
    """
    from brud_analysis import __version__
    from brud_analysis.output import provenance, write_atomic

    buffer = io.BytesIO()
    metadata = {"Software": f"brud-analysis {__version__}",
                PROVENANCE_KEY: json.dumps({"provenance": provenance(config)})}
    fig.savefig(buffer, format="png", metadata=metadata, **savefig)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return write_atomic(path, buffer.getvalue())


def read_png_provenance(path: str | Path) -> dict[str, Any]:
    """The provenance block stored in a PNG by :func:`save_png` (``{}`` if it has none).

    Example:
        >>> import tempfile, pathlib, matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> path = save_png(plt.figure(), pathlib.Path(tempfile.mkdtemp()) / "f.png")
        >>> sorted(read_png_provenance(path))
        ['argv', 'commit', 'config', 'dirty', 'platform', 'python', 'versions']
    """
    from PIL import Image

    with Image.open(path) as image:
        text = getattr(image, "text", {}).get(PROVENANCE_KEY)
    if not text:
        return {}
    try:
        block = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return block.get("provenance", {}) if isinstance(block, dict) else {}
