"""Shared test setup: generated datasets are cached in a per-session folder, never the user's."""

import os
import tempfile

os.environ.setdefault("DDX_CACHE_DIR", tempfile.mkdtemp(prefix="ddx-test-cache-"))
