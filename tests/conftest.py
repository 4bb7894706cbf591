"""Suite-wide settings, and the PostgreSQL cluster shared by the hub and end-to-end tests."""

import os
from collections.abc import Iterator

import pytest
from hub.postgres import Cluster, find_bin_dir, start_cluster
from hypothesis import settings

# CI runs the same examples every time (a failure there must be reproducible, not luck);
# local runs explore new examples. No deadline: this machine is shared and noisy.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster for the whole session. Required in CI; skipped locally if absent."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must install PostgreSQL 15.")
        pytest.skip(f"{message}: install postgresql-15 to run the PostgreSQL tests.")
    cluster = start_cluster(bin_dir)
    yield cluster
    cluster.stop()
