"""A throwaway PostgreSQL cluster for the hub tests (initdb + pg_ctl in a temporary directory).

initdb refuses to run as root: when the tests run as root, the cluster directory belongs to
the `postgres` user and the server programs run through `runuser -u postgres --`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

SERVER_USER = "postgres"


@dataclass
class Cluster:
    bin_dir: Path
    root: Path
    port: int
    as_user: list[str]
    databases: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def admin_connection(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        self.databases += 1
        name = f"hub_test_{os.getpid()}_{self.databases}"
        with self.admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin_dir / program), *args]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if completed.returncode != 0:
            raise RuntimeError(f"{program} failed: {completed.stdout}\n{completed.stderr}")


def find_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries (Debian layout), or whatever is on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path and shutil.which("pg_ctl") else None


def start_cluster(bin_dir: Path) -> Cluster:
    root = Path(tempfile.mkdtemp(prefix="hub-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, user=SERVER_USER, group=SERVER_USER)
        as_user = ["runuser", "-u", SERVER_USER, "--"]
    cluster = Cluster(bin_dir=bin_dir, root=root, port=_free_port(), as_user=as_user)
    cluster._run(
        "initdb", "-D", str(cluster.data_dir), "-U", "postgres", "-A", "trust", "--no-sync"
    )
    options = (
        f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    log = root / "server.log"
    try:
        cluster._run(
            "pg_ctl", "-D", str(cluster.data_dir), "-o", options, "-l", str(log), "-w", "start"
        )
    except RuntimeError:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
