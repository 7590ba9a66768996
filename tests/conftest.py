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
