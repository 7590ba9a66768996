"""Writing figures: every PNG the toolkit writes carries the provenance its JSON results carry.

One helper for every ``savefig`` site: the PNG is rendered in memory, gets two text chunks
(``Software``: ``brud-analysis <version>``; ``Description``: ``{"provenance": ...}``, the block
of :func:`brud_analysis.output.provenance` with the figure's configuration) and is written
atomically, so a reader never sees half a PNG and a figure found on disk says what made it.
Matplotlib is imported by the caller (which built the figure), not here.

Animations (:func:`save_animation`) carry the same JSON text: a GIF in a comment extension
block (what Pillow reads as ``info["comment"]``), an MP4 in its ``comment`` tag (ffmpeg's
``-metadata comment=...``); :func:`read_animation_provenance` reads either back.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
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
    from brud_analysis.output import write_atomic

    buffer = io.BytesIO()
    metadata = {"Software": f"brud-analysis {__version__}",
                PROVENANCE_KEY: provenance_text(config)}
    # After a one-shot ``fig.tight_layout()`` the figure keeps a do-nothing placeholder layout
    # engine, and ``savefig`` then draws the whole figure once more, draw calls disabled, "to
    # make sure a layout engine works": ticks, texts and legends laid out twice for nothing
    # (a fifth of the paper figures' CPU). Without the placeholder the pixels are the same.
    engine = _placeholder_layout(fig)
    if engine is not None:
        fig.set_layout_engine(None)
    try:
        fig.savefig(buffer, format="png", metadata=metadata, **savefig)
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return write_atomic(path, buffer.getvalue())


def _placeholder_layout(fig: Any) -> Any:
    """The figure's layout engine if it is Matplotlib's inert placeholder (what a one-shot
    ``tight_layout()`` leaves behind; its ``execute`` does nothing), else ``None``."""
    import matplotlib
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    if matplotlib.rcParams["figure.autolayout"] or matplotlib.rcParams[
            "figure.constrained_layout.use"]:  # set_layout_engine(None) would pick that one
        return None
    engine = fig.get_layout_engine()
    return engine if isinstance(engine, PlaceHolderLayoutEngine) else None


def provenance_text(config: Mapping[str, Any] | None = None) -> str:
    """``{"provenance": ...}`` as JSON: the text every figure file carries.

    Example:
        >>> sorted(json.loads(provenance_text({"figure": "demo"}))["provenance"]["config"])
        ['figure']
    """
    from brud_analysis.output import provenance

    return json.dumps({"provenance": provenance(config)})


def _parse_provenance(text: str | bytes | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        block = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return block.get("provenance", {}) if isinstance(block, dict) else {}


def gif_with_comment(data: bytes, text: str) -> bytes:
    """``data`` (a GIF file) with ``text`` in a comment extension before the first frame.

    The frames are not re-encoded: the block is inserted after the global colour table.

    Example:
        >>> from PIL import Image
        >>> buffer = io.BytesIO()
        >>> Image.new("P", (2, 2)).save(buffer, format="GIF")
        >>> Image.open(io.BytesIO(gif_with_comment(buffer.getvalue(), "hi"))).info["comment"]
        b'hi'
    """
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise ValueError("not a GIF file")
    flags = data[10]
    end = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    payload = text.encode()
    blocks = b"".join(bytes([len(chunk)]) + chunk
                      for chunk in (payload[i:i + 255] for i in range(0, len(payload), 255)))
    return b"GIF89a" + data[6:end] + b"\x21\xfe" + blocks + b"\x00" + data[end:]


def animation_writer(suffix: str, fps: int, text: str) -> Any:
    """The Matplotlib writer for ``suffix`` (``.gif``: Pillow; ``.mp4``: ffmpeg, with ``text``
    as the file's ``comment`` tag). A GIF's comment is added after writing
    (:func:`gif_with_comment`): Pillow's writer takes no metadata.

    Example:
        >>> animation_writer(".mp4", 8, "hi").metadata
        {'comment': 'hi'}
    """
    from matplotlib import animation

    if suffix == ".gif":
        return animation.PillowWriter(fps=fps)
    return animation.FFMpegWriter(fps=fps, metadata={"comment": text})


def save_animation(fig: Any, draw: Callable[[int], Any], frames: int,
                   path: str | os.PathLike[str], config: Mapping[str, Any] | None = None, *,
                   fps: int = 8, still: Iterable[Any] = ()) -> Path:
    """Write the animation ``draw(0), ..., draw(frames - 1)`` of ``fig`` (``.gif`` or ``.mp4``)
    with provenance, atomically.

    ``draw(k)`` updates the figure's artists for frame ``k``. Each frame is rendered once:
    Matplotlib's ``Animation.save`` renders every frame twice (an idle redraw after the frame
    function, then ``savefig``), which was half the cost of ``brud online --animate``. As
    there, ``draw(0)`` is called once before the frames (a frame function with side effects,
    e.g. a random batch, sees the same sequence of calls).

    ``still``: artists ``draw`` never changes (a GIF's frames then start from a background
    that holds them, drawn once; see :func:`_still_frames`): whole axes (a colorbar), or an
    axes' artists that Matplotlib draws before any changing artist of that axes (a filled
    contour under moving points, an axis and lines under a moving marker). Frame 0 is also
    rendered in full and compared: if a pixel differs, every frame is rendered in full; so is
    a frame whose changing artists may meet still ones drawn after them.

    Example:
        >>> import tempfile, pathlib, matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> out = save_animation(fig, lambda k: ax.set_title(str(k)), 2,
        ...                      pathlib.Path(tempfile.mkdtemp()) / "a.gif", {"figure": "d"})
        >>> read_animation_provenance(out)["config"]
        {'figure': 'd'}
    """
    from brud_analysis.output import write_atomic

    suffix = Path(path).suffix.lower()
    text = provenance_text(config)
    draw(0)  # what FuncAnimation's first (init) draw does, unrendered
    if suffix == ".gif":
        from PIL import Image

        images = []
        fast = _still_frames(fig, still)
        for k in range(frames):
            draw(k)
            if fast is not None and k == 0:  # the same pixels as a full render, or no shortcut
                shortcut = bytes(fig.canvas.buffer_rgba()) if fast() else None
                fig.canvas.draw()
                if bytes(fig.canvas.buffer_rgba()) != shortcut:
                    fast = None
            elif fast is None or not fast():  # a frame the background cannot serve
                fig.canvas.draw()
            width, height = fig.canvas.get_width_height(physical=True)
            # the frame as Matplotlib's PillowWriter takes it: RGBA at the figure's dpi, RGB
            # when opaque (which Pillow's GIF palette conversion handles better)
            image = Image.frombuffer("RGBA", (width, height), bytes(fig.canvas.buffer_rgba()),
                                     "raw", "RGBA", 0, 1)
            opaque = image.getchannel("A").getextrema() == (255, 255)
            images.append(image.convert("RGB") if opaque else image)
        buffer = io.BytesIO()
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(1000 / fps), loop=0)
        return write_atomic(path, gif_with_comment(buffer.getvalue(), text))
    writer = animation_writer(suffix, fps, text)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / f"animation{suffix}"
        with writer.saving(fig, scratch, fig.dpi):
            for k in range(frames):
                draw(k)
                writer.grab_frame()  # one savefig: the only render of the frame
        data = scratch.read_bytes()
    return write_atomic(path, data)


def _still_frames(fig: Any, still: Iterable[Any]) -> Callable[[], bool] | None:
    """A renderer of ``fig``'s frames that starts each from a background holding the ``still``
    artists (drawn once), then draws the rest in Matplotlib's order; ``None`` where the still
    artists are not drawn first (within their axes) or nothing is still.

    The figure draws its axes in order, each its children sorted by z-order. The background is
    that render with every artist but the still ones (whole axes, and each other axes' patch
    and leading still children) hidden; a frame restores it and draws the other artists. Its
    pixels are a full render's unless a changing artist shares pixels with a still one that a
    full render draws *after* it (a later axes: a changing title over the next colorbar or
    panel), which the frame then draws *under*. So each frame compares the changing artists'
    boxes (clipped as drawn) with the still boxes drawn after them and, where they may meet
    (2 px apart or less), returns ``False`` without drawing: the caller renders that frame in
    full. (The caller also checks frame 0 pixel for pixel.)"""
    still_ids = {id(a) for a in still}
    if not still_ids:
        return None
    moving_axes = [ax for ax in fig.axes if id(ax) not in still_ids]
    in_background: list[Any] = []  # drawn into the background, hidden in each frame
    per_frame: list[Any] = []      # hidden in the background, drawn in each frame
    split: dict[int, tuple[list[Any], list[Any]]] = {}  # per moving axes: those two parts
    for ax in moving_axes:
        order = sorted((c for c in ax.get_children() if c is not ax.patch),
                       key=lambda a: a.get_zorder())  # Axes.draw's order (a stable sort)
        lead = 0
        while lead < len(order) and id(order[lead]) in still_ids:
            lead += 1
        if any(id(c) in still_ids for c in order[lead:]):
            return None  # a still artist drawn over a changing one: not a background
        in_background += [ax.patch, *order[:lead]]
        per_frame += order[lead:]
        split[id(ax)] = ([ax.patch, *order[:lead]], order[lead:])
    figure_level = [a for a in fig.get_children()
                    if a is not fig.patch and a not in fig.axes]
    if any(id(a) in still_ids for a in figure_level):
        return None
    per_frame += figure_level
    canvas = fig.canvas

    def hidden(artists: list[Any]) -> Any:
        import contextlib

        @contextlib.contextmanager
        def scope() -> Any:
            shown = [a.get_visible() for a in artists]
            for a in artists:
                a.set_visible(False)
            try:
                yield
            finally:
                for a, v in zip(artists, shown, strict=True):
                    a.set_visible(v)
        return scope()

    with hidden(per_frame):
        canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)

    def drawn(box: Any) -> bool:  # not None, not the null box of an artist that draws nothing
        return box is not None and all(math.isfinite(v) for v in box.extents)

    def may_meet(box: Any, boxes: list[Any]) -> bool:
        return drawn(box) and any(box.padded(2).overlaps(b) for b in boxes)

    renderer = canvas.get_renderer()
    # per moving axes: its changing artists, and the boxes of still pixels drawn after them
    changing: list[tuple[list[Any], list[Any]]] = []
    later: list[Any] = []
    for ax in reversed(fig.axes):  # Figure.draw's order (axes share one z-order here)
        if id(ax) in still_ids:
            later.append(ax.get_tightbbox(renderer))
            continue
        background_part, mine = split[id(ax)]
        changing.append((mine, [b for b in later if drawn(b)]))
        later += [a.get_tightbbox(renderer) for a in background_part]

    def frame() -> bool:
        for artists, boxes in changing:
            if boxes and any(may_meet(a.get_tightbbox(renderer), boxes) for a in artists):
                return False
        canvas.restore_region(background)
        with hidden(in_background):
            for artist in sorted((a for a in fig.get_children()
                                  if a is not fig.patch and not a.get_animated()),
                                 key=lambda a: a.get_zorder()):  # Figure.draw's order
                if id(artist) not in still_ids:
                    artist.draw(renderer)
        return True

    return frame


def read_animation_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The provenance block of a GIF or MP4 written by :func:`save_animation` (``{}`` if it
    has none; an MP4 is read with ``ffprobe``, ``{}`` without it).

    Example:
        >>> read_animation_provenance("/nonexistent.mp4")
        {}
    """
    if Path(path).suffix.lower() == ".gif":
        from PIL import Image

        with Image.open(path) as image:
            return _parse_provenance(image.info.get("comment"))
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None or not Path(path).exists():
        return {}
    probe = subprocess.run([ffprobe, "-v", "error", "-show_entries", "format_tags=comment",
                            "-of", "json", str(path)], capture_output=True, text=True,
                           check=False)
    try:
        tags = json.loads(probe.stdout).get("format", {}).get("tags", {})
    except json.JSONDecodeError:
        return {}
    return _parse_provenance(tags.get("comment"))


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
        return _parse_provenance(getattr(image, "text", {}).get(PROVENANCE_KEY))
