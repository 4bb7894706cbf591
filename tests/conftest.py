"""Suite-wide settings."""

import os

from hypothesis import settings

# CI runs the same examples every time (a failure there must be reproducible, not luck);
# local runs explore new examples. No deadline: this machine is shared and noisy.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
