"""Hub intake throughput: redemption lines per second for 200 sites × 500 lines.

Builds a region with enough attributed passes, enrols the sites (each with its own Ed25519
key), signs one pn-batch/1 per site (about 2 % of the lines take a pass that another line may
take too, so some come back as `conflict`, and 1 % are unknown codes), then times the intake of
every batch: in process (`receive_batch`, each batch in its own transaction, as the API does),
or with --http through a real `mediateur-hub serve` on 127.0.0.1 (each batch posted gzip'd
with the site's API key, as `mediateur-tui sync` does). It prints figures; it asserts nothing
on time.

    .venv/bin/python bench/bench_hub_intake.py                 # 200 sites × 500 lines, SQLite
    .venv/bin/python bench/bench_hub_intake.py --http          # the same over HTTP
    .venv/bin/python bench/bench_hub_intake.py --db postgresql+psycopg://user@host/db
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update

from mediateur_tui.domain.signatures import public_key_bytes
from mediateur_tui.hub.database import Hub, HubSettings, write_session
from mediateur_tui.hub.enrolment import complete_enrolment, enrol_site
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubCarnet
from mediateur_tui.hub.registry import ProgrammeSpec, init_region, issue
from mediateur_tui.protocol.documents import dump_gzip_json, load_json
from mediateur_tui.protocol.formats import ACK, BATCH, ENROLMENT_REQUEST
from mediateur_tui.protocol.signing import encode_key, sign_document, site_signer

REGION_ID = "HDF"
PROGRAMME = "HDFNUM"
UNKNOWN_CODE = "0000000000000"  # well formed (its check symbol is right), never issued


@dataclass
class Site:
    id: str
    key: Ed25519PrivateKey
    api_key: str


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--lines", type=int, default=500, help="redemption lines per batch")
    parser.add_argument("--db", help="an empty database URL (default: SQLite in a temp dir)")
    parser.add_argument("--http", action="store_true", help="post through mediateur-hub serve")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    url = args.db or f"sqlite:///{folder / 'hub.sqlite3'}"
    try:
        return _run(args, folder, url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, folder: Path, url: str) -> int:
    print(
        f"machine   {platform.python_implementation()} {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPU, {platform.machine()}"
    )
    started = time.perf_counter()
    hub = init_region(HubSettings(folder, url), REGION_ID)
    passes_needed = args.sites * args.lines
    spec = ProgrammeSpec(id=PROGRAMME, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
    issued = issue(hub, spec, carnets=-(-passes_needed // 10), size=10)
    with write_session(hub.engine) as session:  # the bench is about intake: bulk attribution
        session.execute(update(HubCarnet).values(attributed_on=date(2026, 2, 1)))
    codes = [code for carnet in issued.carnets for code in carnet.codes]
    sites = [_enrol(hub, f"SITE-{number:03d}", f"Site {number}") for number in range(args.sites)]
    batches = _batches(sites, codes, args.lines, random.Random(args.seed))
    setup = time.perf_counter() - started
    print(f"database  {hub.engine.dialect.name} ({url.split('@')[-1]})")
    print(f"setup     {setup:.1f} s ({len(codes):,} passes, {len(sites)} sites, batches signed)")

    if args.http:
        hub.engine.dispose()
        elapsed, acks = _post_all(folder, args.db, sites, batches)
        cpu = None  # spent in the server's process
    else:
        started, cpu_started = time.perf_counter(), time.process_time()
        acks = [receive_batch(hub, batch, batch["site_id"]).ack for batch in batches]
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        hub.engine.dispose()
    accepted = sum(ack["totals"]["accepted"] for ack in acks)
    refused = sum(ack["totals"]["refused"] for ack in acks)
    reasons: dict[str, int] = {}
    for ack in acks:
        for line in ack["lines"]:
            if line["reason"]:
                reasons[line["reason"]] = reasons.get(line["reason"], 0) + 1
    lines = accepted + refused
    how = "POST /v1/batches, gzip, one client" if args.http else "receive_batch, in process"
    print(f"intake    {len(batches)} batches, {lines:,} lines in {elapsed:.2f} s ({how})")
    print(f"          {lines / elapsed:,.0f} lines/s, {len(batches) / elapsed:,.1f} batches/s")
    if cpu is not None:  # the steadier figure on a shared machine
        print(f"          CPU {cpu:.2f} s: {lines / cpu:,.0f} lines per CPU-second")
    print(
        f"          accepted {accepted:,}, refused {refused:,} "
        f"({', '.join(f'{reason} {count}' for reason, count in sorted(reasons.items()))})"
    )
    return 0


def _enrol(hub: Hub, site_id: str, name: str) -> Site:
    key = Ed25519PrivateKey.generate()
    token = enrol_site(hub, site_id, name)
    request = {
        "format": ENROLMENT_REQUEST,
        "token": token,
        "site_public_key": encode_key(public_key_bytes(key)),
    }
    return Site(id=site_id, key=key, api_key=complete_enrolment(hub, request)["api_key"])


def _batches(
    sites: list[Site], codes: list[str], per_site: int, rng: random.Random
) -> list[dict[str, Any]]:
    batches = []
    for number, site in enumerate(sites):
        own = codes[number * per_site : (number + 1) * per_site]
        lines = []
        for index, code in enumerate(own):
            roll = rng.random()
            if roll < 0.02:
                code = rng.choice(codes)  # a pass some other line may take too
            elif roll < 0.03:
                code = UNKNOWN_CODE
            lines.append(_line(code, f"2026-11-{1 + index % 28:02d}T10:00:00Z"))
        batches.append(_batch(site, lines))
    return batches


def _line(code: str, at: str) -> dict[str, Any]:
    return {
        "id": secrets.token_hex(16),
        "code": code,
        "session_id": 1,
        "operator": "Camille Martin",
        "redeemed_at": at,
        "input_method": "scan",
        "value_cents": 1000,
        "provisional": False,
    }


def _batch(site: Site, redemptions: list[dict[str, Any]]) -> dict[str, Any]:
    document = {
        "format": BATCH,
        "batch_id": secrets.token_hex(16),
        "region_id": REGION_ID,
        "site_id": site.id,
        "period": "2026-11",
        "sequence": 1,
        "previous_hash": None,
        "sealed_at": "2026-12-01T08:00:00Z",
        "sessions": [
            {
                "id": 1,
                "title": "Atelier démarches en ligne",
                "kind": "collectif",
                "themes": "démarches en ligne, messagerie",
                "duration_minutes": 120,
                "started_at": "2026-11-12T09:00:00Z",
                "ended_at": "2026-11-12T11:00:00Z",
            }
        ],
        "redemptions": redemptions,
        "refused_scans": [
            {"at": "2026-11-12T09:10:00Z", "input": "XXXX", "code": None, "verdict": "malformed"}
        ],
        "totals": {
            "redemptions": len(redemptions),
            "value_cents": sum(line["value_cents"] for line in redemptions),
            "refused_scans": 1,
        },
    }
    return sign_document(document, site.key, site_signer(site.id))


def _post_all(
    folder: Path, db: str | None, sites: list[Site], batches: list[dict[str, Any]]
) -> tuple[float, list[dict[str, Any]]]:
    """Posts every batch to a real `mediateur-hub serve`; the clock runs from first to last."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(sys.executable).with_name("mediateur-hub")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "mediateur_tui.hub.cli"]
    command = [*program, "--dir", str(folder), *(["--db", db] if db else [])]
    command += ["serve", "--port", str(port)]
    log = (folder / "serve.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, server)
        bodies = [dump_gzip_json(batch) for batch in batches]  # the site gzips before sending
        keys = {site.id: site.api_key for site in sites}
        acks = []
        with httpx.Client(base_url=base, timeout=120) as client:
            started = time.perf_counter()
            for batch, body in zip(batches, bodies, strict=True):
                response = client.post(
                    "/v1/batches",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {keys[batch['site_id']]}",
                        "Content-Type": "application/json",
                        "Content-Encoding": "gzip",
                        "Accept-Encoding": "gzip",
                    },
                )
                response.raise_for_status()
                acks.append(load_json(response.content, ACK))
            elapsed = time.perf_counter() - started
        return elapsed, acks
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def wait_until_healthy(base: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"mediateur-hub serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"mediateur-hub serve did not answer within {timeout:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
