"""Test-suite settings shared by every module.

``make test`` (what CI runs) selects the profile ``ci`` (``--hypothesis-profile ci``; also
when ``CI`` is set): Hypothesis draws the same examples on every run (``derandomize``), so a
landing never depends on a lucky draw. A plain ``pytest`` on a developer's machine explores new
examples each run and keeps failures in its database; a failure it finds becomes an explicit
regression test.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# Forking a process whose JAX backend has started its thread pools can deadlock the child.
# The CLI fuzz test forks a hundred times: run its file first, before any test file starts JAX
# in the same process (pytest-xdist --dist loadfile hands files to workers in this order).
FORK_HEAVY = ("test_cli_fuzz.py",)


def pytest_collection_modifyitems(items: list) -> None:
    items.sort(key=lambda item: item.path.name not in FORK_HEAVY)  # stable: otherwise as found
