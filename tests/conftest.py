"""Shared test setup: generated datasets are cached in a per-session folder, never the user's; fuzz profiles."""

import os
import tempfile

from hypothesis import settings

os.environ.setdefault("DDX_CACHE_DIR", tempfile.mkdtemp(prefix="ddx-test-cache-"))

# Fuzz tests take their length from the profile: a short "ci" run by default, and
# HYPOTHESIS_PROFILE=deep for a long one (≥ 1000 CLI examples; the GUI monkey's long sequences).
settings.register_profile("ci", max_examples=40)
settings.register_profile("deep", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
DEEP = settings().max_examples >= 1000
