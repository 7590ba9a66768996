"""Execute every notebook in examples/ end to end (nbclient) with small settings, so they
cannot rot. The kernel is this interpreter (a kernelspec written to a temporary JUPYTER_PATH),
with this checkout first on PYTHONPATH, so the notebooks test the code next to them whatever
kernels or editable installs the machine has."""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from brud_analysis.bounded import Watch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

# Small settings per notebook: the parameters cell (tagged "parameters") is replaced by these.
# Each notebook's kernel may use this much CPU (the largest needs ~40 s on this machine). A CPU
# limit, not nbclient's wall-clock per-cell timeout: a starved kernel on a busy machine is not
# stuck. A notebook is stuck when neither the kernel nor this client ran or waited for a CPU for
# STUCK_LIMIT seconds (nothing in the notebooks sleeps or waits for a network). That has been
# seen: kernel and client both idle in explorer's ipywidgets cell, an open upstream race
# (jupyter/nbclient#312, "when cell contains ipywidget, execute cell will sometimes block").
KERNEL_CPU_LIMIT = 600.0
STUCK_LIMIT = 300.0
# The race itself: nbclient waits for the next shell or IOPub message with one unbounded zmq
# poll (get_msg(timeout=None)), which can miss a message that has already arrived (the fix
# proposed upstream, jupyter/nbclient#311, polls with a timeout instead). So here every such
# wait is a poll of POLL_STEP seconds, repeated until a message comes: a missed wake-up costs
# at most that long instead of hanging (the hang was seen twice, in explorer's widgets cell).
POLL_STEP = 1.0

SMALL = {
    "tour": "SEEDS = 8\nSTEPS = 300\nRESOLUTION = 15\nOUT = {out!r}",
    "explorer": "SEEDS = 4\nSTEPS = 100\nGRID = 7\nOUT = {out!r}",
    "your_own_polynomial": ('REWARD = "-x^4 - y^4 + 4*x*y"\nTARGET = [1, 1]\nSEEDS = 16\n'
                            "STEPS = 800\nEXAMPLES = 3\nRESOLUTION = 15\nOUT = {out!r}"),
}


def test_an_unbounded_wait_polls_in_steps_until_a_message_comes():
    import asyncio

    class Channel:  # no message for two polls, then one; each poll must have a timeout
        def __init__(self) -> None:
            self.timeouts: list[float | None] = []

        async def get_msg(self, timeout: float | None = None) -> Any:
            self.timeouts.append(timeout)
            if timeout is None:
                raise AssertionError("an unbounded poll")  # the wait that can hang
            if len(self.timeouts) < 3:
                raise queue.Empty
            return {"msg_type": "status"}

    channel = Channel()
    empty = poll_in_steps(channel)
    assert asyncio.run(channel.get_msg(timeout=None)) == {"msg_type": "status"}
    assert channel.timeouts == [POLL_STEP] * 3 and len(empty) == 2
    with pytest.raises(queue.Empty):  # a caller's own timeout is kept: one poll, then Empty
        channel.timeouts = []
        asyncio.run(channel.get_msg(timeout=0.5))
    assert channel.timeouts == [0.5]


def test_every_notebook_has_small_settings():
    assert {nb.stem for nb in NOTEBOOKS} == set(SMALL)


def poll_in_steps(channel: Any) -> list[int]:
    """Make ``channel.get_msg(timeout=None)`` poll in steps of :data:`POLL_STEP` seconds until
    a message comes; returns a list that counts the steps that found none (for the test)."""
    get_msg, empty_polls = channel.get_msg, []

    async def stepped(timeout: float | None = None) -> Any:
        while timeout is None:
            try:
                return await get_msg(timeout=POLL_STEP)
            except queue.Empty:
                empty_polls.append(1)
        return await get_msg(timeout=timeout)

    channel.get_msg = stepped
    return empty_polls


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    spec = tmp_path / "jupyter" / "kernels" / "brud-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "brud-analysis (test)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return "brud-test"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel, tmp_path):
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "one cell tagged 'parameters' holds the settings"
    params[0].source = SMALL[path.stem].format(out=str(tmp_path / "out"))
    client = NotebookClient(nb, kernel_name=kernel, timeout=None,
                            resources={"metadata": {"path": str(EXAMPLES)}})
    done, why = threading.Event(), []

    def watch_kernel(**_: object) -> None:  # on_notebook_start: the kernel is running now
        assert client.kc is not None
        for channel in (client.kc.shell_channel, client.kc.iopub_channel):
            poll_in_steps(channel)
        pid = client.km.provisioner.pid
        kernel, both = Watch(pid), Watch(os.getpid())  # this process's tree has the kernel

        def poll() -> None:
            while not done.wait(0.5):
                (cpu, _), (_, stuck) = kernel.update(), both.update()
                if cpu > KERNEL_CPU_LIMIT or stuck > STUCK_LIMIT:
                    why.append(f"kernel killed: {cpu:.0f} s of CPU (limit "
                               f"{KERNEL_CPU_LIMIT:g}), kernel and client idle for {stuck:.0f} s "
                               f"(limit {STUCK_LIMIT:g})")
                    os.kill(pid, signal.SIGKILL)  # execute() then raises DeadKernelError
                    return
        threading.Thread(target=poll, daemon=True).start()

    client.on_notebook_start = watch_kernel
    try:
        client.execute()  # raises CellExecutionError with the cell and traceback on any error
    except Exception:
        if why:  # the kernel died because the watch killed it: say so, not "kernel died"
            pytest.fail(why[0])
        raise
    finally:
        done.set()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {}) or "image/gif" in o.get("data", {})]
    assert images, "the notebook showed no figure"
