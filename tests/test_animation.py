"""Animations (verify/animation.py): exact replay of online runs, frame counts, CLI contract."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from brud_analysis.catalogue import sign_agreement, twin_peaks
from brud_analysis.cli import main
from brud_analysis.data import Normal
from brud_analysis.errors import BrudError
from verify import animation
from verify.animation import (
    MIN_FRAMES,
    animate_online,
    animate_verification,
    check_animation_path,
    record_online,
)
from verify.harness import verify_game
from verify.polygames import OnlineConfig, make_online_train
from verify.sampling import PJAPConfig

# theta + noise_std * noise is computed by XLA inside the trainer's scan and again here: the
# same float32 operations, possibly fused differently, so they agree to a few float32 ulps of
# values of size <= 1 (eps32 = 1.2e-7).
FLOAT32_TOL = 1e-6


def _frames(path) -> int:
    with Image.open(path) as im:
        return im.n_frames


def test_online_replay_reconstructs_the_trainers_buffer_and_batches():
    cfg = OnlineConfig(buffer_size=24, batch_size=8, steps=120, lr=0.05, updates_per_step=2)
    key, theta0 = jax.random.key(5), jnp.array([-0.5, 0.6])
    rec = record_online(sign_agreement(), cfg, key, theta0)
    # the per-config program (jitted, not eager): a compilation of its own, independent of the
    # shared online program record_online replays with (tests/test_online_programs.py)
    _, final_buffer = jax.jit(make_online_train(sign_agreement(), cfg))(key, theta0)
    slots = np.zeros((cfg.buffer_size, 2), np.float32)
    for s, a in enumerate(rec.actions):
        slots[s % cfg.buffer_size] = a
    np.testing.assert_allclose(slots, np.asarray(final_buffer), atol=FLOAT32_TOL)
    # The trainer logs the mean L1 distance of its last minibatch of each step to the policy
    # before that update; with 2 updates per step that policy is not logged, so check the
    # minibatch through a 1-update run, where it is.
    cfg1 = OnlineConfig(buffer_size=24, batch_size=8, steps=120, lr=0.05)
    rec1 = record_online(sign_agreement(), cfg1, key, theta0)
    d = np.abs(rec1.batches - rec1.policy[:-1, None, :]).sum(axis=2).mean(axis=1)
    ready = np.isfinite(d)
    assert ready.sum() == cfg1.steps - cfg1.batch_size + 1
    np.testing.assert_allclose(d[ready], rec1.distance[ready], atol=FLOAT32_TOL)
    items, age = rec1.buffer_at(50)
    assert len(items) == 24 and age.min() == 0 and age.max() == 23


def test_online_animation_frames(tmp_path, monkeypatch):
    cfgs = [OnlineConfig(buffer_size=k, batch_size=8, steps=60, lr=0.05) for k in (16, 64)]
    out = _drawn_from_still_background(monkeypatch, 12, lambda path: animate_online(
        sign_agreement(), cfgs, jax.random.key(0), [-0.5, 0.6], path, frames=12), tmp_path)
    assert _frames(out) == 12
    config = _provenance(out)  # issue 26: the GIF says what made it
    assert config["figure"] == "online animation" and config["reward"] == "x*y"
    assert [c["buffer_size"] for c in config["configs"]] == [16, 64]
    assert config["theta0"] == [-0.5, 0.6] and config["frames"] == 12


def test_verification_animation_with_pjap_priorities(tmp_path, monkeypatch):
    pjap = PJAPConfig(alpha=16.0, eps=1e-3)
    r = verify_game(twin_peaks(), Normal([0, 0], [1, 1]), seeds=4, steps=60, lr=0.05, pjap=pjap,
                    dataset_size=200)
    out = _drawn_from_still_background(monkeypatch, MIN_FRAMES, lambda path: animate_verification(
        r, twin_peaks(), path, pjap=pjap, frames=3), tmp_path)
    assert _frames(out) == MIN_FRAMES  # never fewer than the contract's 10
    config = _provenance(out)
    assert config["figure"] == "verify animation" and config["pjap"]["alpha"] == 16.0
    assert config["steps"] == 60 and config["dataset_size"] == 200


def _provenance(path) -> dict:
    """The provenance block of an animation (versions, commit, argv), checked; its config."""
    from importlib import metadata

    from brud_analysis.figure_files import read_animation_provenance

    block = read_animation_provenance(path)
    assert block, f"{path} carries no provenance"
    assert block["versions"]["brud-analysis"] == metadata.version("brud-analysis")
    assert block["versions"]["jax"] == metadata.version("jax")
    assert {"commit", "dirty", "argv", "python"} <= set(block)
    return block["config"]


def test_mp4_carries_provenance_in_its_comment_tag(tmp_path, monkeypatch):
    # No ffmpeg here: a stand-in for Matplotlib's FFMpegWriter records the metadata the
    # animation asks ffmpeg to write (-metadata comment=...) and writes the frames with Pillow.
    import json

    from matplotlib import animation as mpl_animation

    asked: list[dict] = []

    class RecordingFFMpeg(mpl_animation.PillowWriter):
        def __init__(self, fps=5, metadata=None, **kwargs):
            super().__init__(fps=fps, metadata=metadata)
            asked.append(dict(self.metadata))

        def finish(self):  # Pillow cannot tell a format from ".mp4": name it
            self._frames[0].save(self.outfile, format="GIF", save_all=True,
                                 append_images=self._frames[1:], duration=int(1000 / self.fps))

    monkeypatch.setattr(mpl_animation, "FFMpegWriter", RecordingFFMpeg)
    monkeypatch.setattr(animation, "_ffmpeg_available", lambda: True)
    cfg = OnlineConfig(buffer_size=16, batch_size=8, steps=40, lr=0.05)
    out = animate_online(sign_agreement(), [cfg], jax.random.key(0), [-0.5, 0.6],
                         tmp_path / "o.mp4", frames=10)
    assert out.exists() and len(asked) == 1
    block = json.loads(asked[0]["comment"])["provenance"]
    assert block["config"]["figure"] == "online animation" and "versions" in block


def test_priorities_match_paper_eq6():
    pjap = PJAPConfig(alpha=2.0, eps=0.1, distance="l1")
    data = np.array([[0.0, 0.0], [0.5, 0.0], [3.0, 3.0]])
    got = animation._priorities(data, np.zeros(2), pjap)
    np.testing.assert_allclose(got, [1.0, np.exp(-0.5), 0.1], rtol=1e-12)


def test_bad_paths_and_formats(tmp_path, monkeypatch):
    with pytest.raises(BrudError, match=r"\.gif or \.mp4"):
        check_animation_path(tmp_path / "a.avi")
    monkeypatch.setattr(animation, "_ffmpeg_available", lambda: False)
    with pytest.raises(BrudError, match="ffmpeg"):
        check_animation_path(tmp_path / "a.mp4")
    monkeypatch.setattr(animation, "_ffmpeg_available", lambda: True)
    assert check_animation_path(tmp_path / "a.mp4").suffix == ".mp4"
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BrudError):
        check_animation_path(blocker / "a.gif")


def test_cli_refuses_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for argv in (["verify", "x*y", "--data", "normal", "--mean", "0", "0", "--std", "1", "1",
                  "--animate", str(tmp_path / "x.avi")],
                 ["online", "x*y", "--animate", str(blocker / "x.gif")],
                 ["online", "x + y + z", "--init", "0", "0", "0", "--animate",
                  str(tmp_path / "x.gif")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("brud") and " error: " in err and len(err.strip().splitlines()) == 1


def test_cli_online_animate(tmp_path, capsys):
    out = tmp_path / "fig2.gif"
    assert main(["online", "x*y", "--buffer-sizes", "16", "32", "--batch-size", "8",
                 "--steps", "40", "--animate", str(out)]) == 0
    assert f"animation: {out}" in capsys.readouterr().out
    assert _frames(out) >= MIN_FRAMES


def _pixels(path) -> list[np.ndarray]:
    from PIL import ImageSequence

    with Image.open(path) as im:
        return [np.asarray(f.convert("RGBA")) for f in ImageSequence.Iterator(im)]


def _drawn_from_still_background(monkeypatch, frames: int, make, tmp_path):
    """``make(path)``'s GIF, drawn over a background of the still artists (reward surface,
    colorbars, the reward panel's axes and lines): checks that the shortcut is taken (one
    background and one full frame-0 render, not one a frame: no silent fallback) and that
    every pixel is a full render's (``make`` called again with the shortcut off)."""
    import matplotlib.figure

    from brud_analysis import figure_files

    draws = []
    figure_draw = matplotlib.figure.Figure.draw
    with monkeypatch.context() as patch:
        patch.setattr(matplotlib.figure.Figure, "draw",
                      lambda self, renderer: draws.append(1) or figure_draw(self, renderer))
        out = make(tmp_path / "fast.gif")
        assert len(draws) == 2
        patch.setattr(figure_files, "_still_frames", lambda fig, still: None)
        draws.clear()
        full = _pixels(make(tmp_path / "full.gif"))
        assert len(draws) == frames
    fast = _pixels(out)
    assert len(fast) == len(full) == frames
    assert all(np.array_equal(a, b) for a, b in zip(fast, full, strict=True))
    return out


def test_still_background_frames_of_a_brud_verification_are_the_full_renders(
        tmp_path, monkeypatch):
    # (the online and PJAP animations are checked so in their tests above)
    runs = verify_game(twin_peaks(), Normal([0.6, 0.6], [0.3, 0.3]), seeds=4, steps=60,
                       lr=0.05, dataset_size=200)
    _drawn_from_still_background(monkeypatch, 12, lambda path: animate_verification(
        runs, twin_peaks(), path, frames=12), tmp_path)


def test_a_changing_artist_under_a_later_still_one_gets_a_full_render(tmp_path):
    """A title that grows into a still axes drawn after it: the background would put the title
    over that axes, a full render under it. From the frame where they may meet, the frames are
    full renders (frame 0 alone, where they are apart, cannot show it)."""
    import matplotlib
    import matplotlib.pyplot as plt

    from brud_analysis.figure_files import save_animation

    matplotlib.use("Agg")

    def gif(path, still_too):
        fig = plt.figure(figsize=(3, 3), dpi=50)
        ax = fig.add_axes((0.1, 0.1, 0.8, 0.5))
        line, = ax.plot([0, 1], [0, 1])
        cover = fig.add_axes((0.1, 0.8, 0.8, 0.15))  # drawn after ax, above its title
        cover.imshow(np.arange(12.0).reshape(3, 4), aspect="auto")

        def draw(k):
            line.set_ydata([0, 1 - k / 4])  # every frame differs (Pillow merges equal ones)
            ax.set_title("title" + "\n" * (2 * k), fontsize=12)  # the text moves up

        out = save_animation(fig, draw, 4, path, {"figure": "t"},
                             still=[cover] if still_too else [])
        plt.close(fig)
        return _pixels(out)

    fast, full = gif(tmp_path / "f.gif", True), gif(tmp_path / "full.gif", False)
    assert len(fast) == len(full) == 4
    assert all(np.array_equal(a, b) for a, b in zip(fast, full, strict=True))
