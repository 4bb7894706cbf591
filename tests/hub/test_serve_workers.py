"""`mediateur-hub serve --workers N`: a real server of two worker processes on 127.0.0.1, on
SQLite and on PostgreSQL, answers the sites; two sites posting batches at the same time that
take the same pass get it paid once; a bad number of workers is refused in French."""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mediateur_tui.hub.database import HubSettings
from mediateur_tui.hub.replica import last_sequence
from mediateur_tui.protocol.documents import dump_gzip_json, load_json
from mediateur_tui.protocol.formats import ACK, REPLICA_PAGE

from .conftest import BACKENDS
from .helpers import SITE_A, SITE_B, build_world, line, make_batch
from .server import HubProcess, hub_program

_WORKER_STARTED = re.compile(r"Started server process \[(\d+)\]")


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_answer_and_a_pass_is_paid_once(backend: str, tmp_path: Path, request) -> None:
    folder = tmp_path / "hub"
    if backend == "sqlite":
        settings = HubSettings(folder, f"sqlite:///{folder / 'hub.sqlite3'}")
    else:
        settings = HubSettings(folder, request.getfixturevalue("postgres_cluster").new_database())
    world = build_world(settings)
    shared, own_a, own_b = world.fresh[0], world.fresh[1], world.fresh[2]
    batches = {
        SITE_A: make_batch(
            world.sites[SITE_A],
            [line(shared, "2026-11-12T09:30:00Z"), line(own_a, "2026-11-12T09:31:00Z")],
        ),
        SITE_B: make_batch(
            world.sites[SITE_B],
            [line(shared, "2026-11-12T09:40:00Z"), line(own_b, "2026-11-12T09:41:00Z")],
        ),
    }
    before = last_sequence(world.hub)
    world.hub.engine.dispose()
    database = None if backend == "sqlite" else settings.database_url

    def post(site_id: str, url: str) -> dict:
        response = httpx.post(
            f"{url}/v1/batches",
            content=dump_gzip_json(batches[site_id]),
            headers={
                "Authorization": f"Bearer {world.sites[site_id].api_key}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return load_json(response.content, ACK)

    with HubProcess.start(folder, database_url=database, workers=2) as hub:
        workers = set(hub.wait_for_lines(_WORKER_STARTED, 2))
        with ThreadPoolExecutor(max_workers=2) as pool:
            acks = list(pool.map(lambda site_id: post(site_id, hub.url), [SITE_A, SITE_B]))
        page = httpx.get(
            f"{hub.url}/v1/replica/changes",
            params={"since": before},
            headers={"Authorization": f"Bearer {world.sites[SITE_A].api_key}"},
            timeout=60,
        )

    assert [ack["totals"]["accepted"] for ack in acks] in ([2, 1], [1, 2])
    verdicts = {ack["site_id"]: ack["lines"][0]["verdict"] for ack in acks}
    assert sorted(verdicts.values()) == ["accepted", "refused"]
    assert page.status_code == 200, page.text
    used = [c["code"] for c in load_json(page.content, REPLICA_PAGE)["changes"] if c["t"] == "used"]
    assert sorted(used) == sorted([shared, own_a, own_b])
    assert len(workers) == 2
    assert str(hub.process.pid) not in workers  # the parent supervises, the workers answer


@pytest.mark.parametrize("value", ["0", "65", "deux", "-1"])
def test_a_bad_number_of_workers_exits_2_in_french(tmp_path: Path, value: str) -> None:
    command = [*hub_program(), "--dir", str(tmp_path), "serve", "--workers", value]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"nombre de processus invalide « {value} » (de 1 à 64)" in done.stderr
    assert "Traceback" not in done.stderr
