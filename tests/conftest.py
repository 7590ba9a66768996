"""Test-suite settings shared by every module.

``make test`` (what CI runs) selects the profile ``ci`` (``--hypothesis-profile ci``; also
when ``CI`` is set): Hypothesis draws the same examples on every run (``derandomize``), so a
landing never depends on a lucky draw. A plain ``pytest`` on a developer's machine explores new
examples each run and keeps failures in its database; a failure it finds becomes an explicit
regression test.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# Forking a process whose JAX backend has started its thread pools can deadlock the child.
# The CLI fuzz test forks a hundred times: run its file first, before any test file starts JAX
# in the same process (pytest-xdist --dist loadfile hands files to workers in this order).
FORK_HEAVY = ("test_cli_fuzz.py",)


# The fast tier for the edit-test loop (`make test-fast`, i.e. `pytest -m "not slow"`, under
# a minute on 2 cores): every test but the slow ones. Slow = more than ~1.5 s of CPU each, as
# measured with BRUD_TEST_CPU_LOG below: whole files here (`-m "not slow"` then does not even
# import them: their imports of JAX, MuJoCo, Jupyter are much of the collection time), single
# tests in SLOW_TESTS (by node id, without parameters) or marked @pytest.mark.slow in their
# file. `make test` runs everything.
SLOW_FILES = frozenset({
    "test_animation.py", "test_cli_fuzz.py", "test_docs.py", "test_harness.py",
    "test_json_vocabulary.py", "test_mutations.py", "test_notebooks.py", "test_paper_checks.py",
    "test_plots_verify.py", "test_polygames.py", "test_types.py", "test_verify_commands.py",
})
SLOW_PREFIXES = ("test_halfcheetah_",)
SLOW_TESTS: frozenset[str] = frozenset()


def _slow_file(name: str) -> bool:
    return name in SLOW_FILES or name.startswith(SLOW_PREFIXES)


def pytest_ignore_collect(collection_path, config):
    if config.getoption("markexpr", "") == "not slow" and _slow_file(collection_path.name):
        return True
    return None


def pytest_collection_modifyitems(items: list) -> None:
    for item in items:
        if _slow_file(item.path.name) or item.nodeid.split("[")[0] in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.path.name not in FORK_HEAVY)  # stable: otherwise as found


# CPU seconds per test and per test file's collection (its imports), for finding the slow ones
# on a shared, loaded machine where wall-clock --durations mislead: with
# BRUD_TEST_CPU_LOG=FILE each is appended to FILE as a JSON line {"id": ..., "cpu": ...}
# (this process and its ended children; a module fixture counts in its first test).
_CPU_LOG = os.environ.get("BRUD_TEST_CPU_LOG")


def _log_cpu(nodeid: str, start: float) -> None:
    import json

    from brud_analysis.bounded import cpu_clock

    with open(_CPU_LOG, "a") as log:  # type: ignore[arg-type]
        log.write(json.dumps({"id": nodeid, "cpu": round(cpu_clock() - start, 3)}) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _CPU_LOG:
        yield
        return
    from brud_analysis.bounded import cpu_clock

    start = cpu_clock()
    yield
    _log_cpu(item.nodeid, start)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    if not _CPU_LOG or not isinstance(collector, pytest.Module):
        yield
        return
    from brud_analysis.bounded import cpu_clock

    start = cpu_clock()
    yield
    _log_cpu(f"{collector.nodeid}::<collect>", start)
