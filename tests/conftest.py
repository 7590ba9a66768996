"""Test-suite settings shared by every module.

Under CI (``CI`` set, as `.ci/run` is run) Hypothesis draws the same examples on every run
(``derandomize``), so a landing never depends on a lucky draw; on a developer's machine it
explores new examples each run and keeps failures in its database.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
