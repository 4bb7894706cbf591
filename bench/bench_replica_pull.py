"""Replica pull over HTTP: a real `mediateur-hub serve` with 1,000,000 passes, one site's full sync.

Builds a region hub with 1,000,000 issued and attributed passes in bench/out/hub-<N>/
(gitignored), or reuses it with --reuse; starts `mediateur-hub serve` on 127.0.0.1 (a free
port); enrols a fresh site with the real client (`SiteSync.enrol`), then times one full
`SiteSync.sync()` from cursor 0 and prints pages, bytes on the wire, bytes per pass, fetch,
parse and apply times, and peak memory. It prints figures; it asserts nothing on time.

    .venv/bin/python bench/bench_replica_pull.py            # build the hub (about 1 min), pull
    .venv/bin/python bench/bench_replica_pull.py --reuse    # pull from the hub built before
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import re
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from bench_hub_intake import wait_until_healthy

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
REGION_ID = "HDF"
PROGRAMME = "HDFNUM"
SITE_ID = "BENCH-PULL"
TOKEN = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}\b")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="bench directory")
    parser.add_argument("--passes", type=int, default=1_000_000, help="a multiple of 10")
    parser.add_argument("--reuse", action="store_true", help="reuse the hub built before")
    parser.add_argument("--db", help="hub database URL (default: SQLite in the hub directory)")
    parser.add_argument("--page-limit", type=int, default=None, help="changes per page")
    args = parser.parse_args(argv)
    if args.passes < 10 or args.passes % 10:
        parser.error("--passes must be a positive multiple of 10 (carnets of 10)")
    hub_dir = args.out / f"hub-{args.passes}"
    site_dir = args.out / "replica-pull-site"

    print(
        f"machine       {platform.python_implementation()} {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPU, {platform.machine()}"
    )
    # The hub is built in a child process so that this process's peak memory is the site's.
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        built = pool.apply(_prepare_hub, (str(hub_dir), args.db, args.passes, args.reuse))
    print(f"hub           {hub_dir} ({built['database']})")
    if built["built_seconds"] is None:
        print(f"  reused      {built['passes']:,} passes, {built['changes']:,} changes")
    else:
        print(
            f"  built       {built['passes']:,} passes in {built['carnets']:,} carnets, "
            f"all attributed: {built['built_seconds']:.1f} s"
        )
        print(
            f"              (issue {built['issue_seconds']:.1f} s, "
            f"attribution {built['attribute_seconds']:.1f} s)"
        )
    print(f"  change log  {built['changes']:,} changes: {built['kinds']}")
    if built["size"]:
        print(f"  size        {built['size'] / 1e6:.0f} MB")

    shutil.rmtree(site_dir, ignore_errors=True)
    site_dir.mkdir(parents=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server_log = args.out / "replica-pull-hub.log"
    server = _start_server(hub_dir, args.db, port, server_log)
    try:
        started = time.perf_counter()
        wait_until_healthy(url, server)
        ready = time.perf_counter() - started
        print(f"server        {url}, ready in {ready:.1f} s (log: {server_log})")
        token = _enrolment_token(hub_dir, args.db)
        figures = _pull(url, token, site_dir, args.page_limit)
        hub_peak = _peak_rss_kib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    _report(figures, built["passes"], hub_peak)
    return 0


# --- the hub --------------------------------------------------------------------------------


def _prepare_hub(directory: str, url: str | None, passes: int, reuse: bool) -> dict[str, Any]:
    """Builds the hub (or checks the one there) in a child process; returns what it holds."""
    from sqlalchemy import func, select, text

    from mediateur_tui.hub.database import HubSettings, open_hub, read_session

    folder = Path(directory)
    settings = HubSettings(folder, url or f"sqlite:///{folder / 'hub.sqlite3'}")
    built = None
    hub = None
    if reuse:
        try:
            hub = open_hub(settings)
        except Exception as error:  # missing or broken: build it again
            print(f"hub           cannot reuse {folder} ({error}): building", flush=True)
    if hub is not None:
        from mediateur_tui.hub.models import HubPass

        with read_session(hub.engine) as session:
            count = session.execute(select(func.count()).select_from(HubPass)).scalar_one()
        if count != passes:
            print(f"hub           {folder} holds {count:,} passes, not {passes:,}: building")
            hub.engine.dispose()
            hub = None
    if hub is None:
        hub, built = _build_hub(settings, passes)
    with read_session(hub.engine) as session:
        rows = session.execute(text("SELECT kind, count(*) FROM hub_change GROUP BY kind")).all()
        pass_count = session.execute(text("SELECT count(*) FROM hub_pass")).scalar_one()
        carnets = session.execute(text("SELECT count(*) FROM hub_carnet")).scalar_one()
    hub.engine.dispose()
    database = settings.database_url.split("@")[-1]
    path = folder / "hub.sqlite3"
    size = path.stat().st_size if url is None and path.exists() else 0
    return {
        "database": database,
        "passes": pass_count,
        "carnets": carnets,
        "changes": sum(count for _kind, count in rows),
        "kinds": ", ".join(f"{kind} {count:,}" for kind, count in sorted(rows)),
        "size": size,
        "built_seconds": built[0] if built else None,
        "issue_seconds": built[1] if built else None,
        "attribute_seconds": built[2] if built else None,
    }


def _build_hub(settings, passes: int):
    """A fresh region: one programme, passes/10 carnets of 10, every carnet attributed.

    Attribution writes the same rows and `attribution` changes as `mediateur-hub attribute`,
    but for every carnet in one transaction (100,000 commands would take minutes of fsyncs).
    """
    from sqlalchemy import update

    from mediateur_tui.domain.beneficiaries import Identity, beneficiary_reference
    from mediateur_tui.domain.clock import system_clock
    from mediateur_tui.hub.changes import append_changes, attribution_change
    from mediateur_tui.hub.database import write_session
    from mediateur_tui.hub.models import HubCarnet
    from mediateur_tui.hub.registry import MAX_CARNETS_PER_ISSUE, ProgrammeSpec, init_region, issue

    if settings.database_url.startswith("sqlite"):
        shutil.rmtree(settings.directory, ignore_errors=True)
    else:
        raise SystemExit("--db: give an empty PostgreSQL database; build it once, then --reuse")
    print(f"hub           building {passes:,} passes in {settings.directory}", flush=True)
    started = time.perf_counter()
    hub = init_region(settings, REGION_ID)
    spec = ProgrammeSpec(
        id=PROGRAMME,
        label="Pass numérique Hauts-de-France",
        valid_from=date(2026, 1, 1),
        valid_until=date(2026, 12, 31),
        grace_until=date(2027, 1, 31),
    )
    ids: list[str] = []
    for first in range(0, passes // 10, MAX_CARNETS_PER_ISSUE):  # the most one issue makes
        count = min(MAX_CARNETS_PER_ISSUE, passes // 10 - first)
        ids += [carnet.id for carnet in issue(hub, spec, carnets=count, size=10).carnets]
    issued_at = time.perf_counter()
    on = date(2026, 2, 1)
    # Pseudonymous references as distributors make them: HMACs, which gzip cannot shrink.
    key = bytes(32)
    refs = {cid: beneficiary_reference(Identity(cid, "Bench", on), key) for cid in ids}
    with write_session(hub.engine) as session:
        session.execute(
            update(HubCarnet),
            [{"id": cid, "attributed_on": on, "beneficiary_ref": ref} for cid, ref in refs.items()],
        )
        changes = [attribution_change(cid, on, ref) for cid, ref in refs.items()]
        append_changes(session, changes, system_clock())
    done = time.perf_counter()
    return hub, (done - started, issued_at - started, done - issued_at)


def _hub_command() -> list[str]:
    script = Path(sys.executable).with_name("mediateur-hub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mediateur_tui.hub.cli"]


def _hub_options(hub_dir: Path, url: str | None) -> list[str]:
    return ["--dir", str(hub_dir), *(["--db", url] if url else [])]


def _start_server(hub_dir: Path, url: str | None, port: int, log: Path) -> subprocess.Popen:
    command = [*_hub_command(), *_hub_options(hub_dir, url), "serve", "--port", str(port)]
    handle = log.open("wb")
    return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _enrolment_token(hub_dir: Path, url: str | None) -> str:
    command = [
        *_hub_command(),
        *_hub_options(hub_dir, url),
        "enrol-site",
        "--site-id",
        SITE_ID,
        "--name",
        "Banc d'essai de la réplique",
        "--no-qr",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = TOKEN.search(output)
    if found is None:
        raise SystemExit(f"no enrolment token in the output of enrol-site:\n{output}")
    return found.group(0)


def _peak_rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.MULTILINE)
    return int(found.group(1)) if found else None


# --- the site -------------------------------------------------------------------------------


class _CountingStream(httpx.SyncByteStream):
    """The response body as it comes off the socket (still gzip'd), counted."""

    def __init__(self, inner: httpx.SyncByteStream, record: dict[str, float]) -> None:
        self.inner = inner
        self.record = record

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.record["body"] += len(chunk)
            yield chunk
        self.record["done"] = time.perf_counter()

    def close(self) -> None:
        self.inner.close()


class CountingTransport(httpx.HTTPTransport):
    """An HTTP transport that records, per request, the bytes received and the time taken.

    The transport sees the body before httpx decodes `Content-Encoding: gzip`, so `body` is
    what travelled on the wire (HTTP/1.1 framing aside); `headers` is the status line and
    the response headers as sent.
    """

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, float]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = super().handle_request(request)
        header_bytes = len(b"HTTP/1.1 200 OK\r\n\r\n") + sum(
            len(name) + len(value) + 4 for name, value in response.headers.raw
        )
        record = {
            "started": started,
            "headers": float(header_bytes),
            "body": 0.0,
            "done": started,
            "replica": float(request.url.path == "/v1/replica/changes"),
        }
        self.records.append(record)
        response.stream = _CountingStream(response.stream, record)
        return response


def _pull(url: str, token: str, site_dir: Path, page_limit: int | None) -> dict[str, Any]:
    from mediateur_tui.services import replica, sync
    from mediateur_tui.services.sync import SiteSync
    from mediateur_tui.store.engine import open_database
    from mediateur_tui.store.sqlite_file import database_path
    from mediateur_tui.sync import client

    rss_before = _own_peak_rss_kib()
    engine = open_database(database_path(site_dir))
    started = time.perf_counter()
    enrolment = SiteSync(engine, site_dir).enrol(url, token)
    enrol_seconds = time.perf_counter() - started
    print(
        f"site          {site_dir}, enrolled as {enrolment.site_id} "
        f"in {enrol_seconds * 1000:.0f} ms (SiteSync.enrol)"
    )

    timings: dict[str, Any] = {"apply": 0.0, "parse": 0.0, "json_bytes": 0, "formats": {}}
    real_apply, real_load = replica.apply_page, client.load_json

    def timed_apply(engine_, page):
        began = time.perf_counter()
        try:
            return real_apply(engine_, page)
        finally:
            timings["apply"] += time.perf_counter() - began

    def timed_load(data, expected_format, *rest, **named):
        began = time.perf_counter()
        try:
            document = real_load(data, expected_format, *rest, **named)
        finally:
            timings["parse"] += time.perf_counter() - began
            timings["json_bytes"] += len(data)
        if document["format"].startswith("pn-replica-page/"):
            formats = timings["formats"]
            formats[document["format"]] = formats.get(document["format"], 0) + 1
        return document

    def progress(changes: int, cursor: int) -> None:
        print(f"\r              {changes:,} changes (cursor {cursor:,})…", end="", flush=True)

    transport = CountingTransport()
    replica.apply_page, client.load_json = timed_apply, timed_load
    if page_limit is not None:
        real_synchronise = sync.synchronise

        def synchronise(*positional, **named):
            return real_synchronise(*positional, page_limit=page_limit, **named)

        sync.synchronise = synchronise
    try:
        started, cpu_started = time.perf_counter(), _own_cpu_seconds()
        report = SiteSync(engine, site_dir, transport=transport).sync(
            progress=progress if sys.stdout.isatty() else None
        )
        total, cpu = time.perf_counter() - started, _own_cpu_seconds() - cpu_started
    finally:
        replica.apply_page, client.load_json = real_apply, real_load
    if sys.stdout.isatty():
        print()
    engine.dispose()
    if not report.ok:
        raise SystemExit("sync failed: " + " | ".join(report.errors))
    pages = [record for record in transport.records if record["replica"]]
    fetch = sum(record["done"] - record["started"] for record in pages)
    database = database_path(site_dir)
    return {
        "report": report,
        "pages": len(pages),
        "body": int(sum(record["body"] for record in pages)),
        "headers": int(sum(record["headers"] for record in pages)),
        "largest": int(max((record["body"] for record in pages), default=0)),
        "json_bytes": timings["json_bytes"],
        "total": total,
        "cpu": cpu,
        "fetch": fetch,
        "parse": timings["parse"],
        "apply": timings["apply"],
        "formats": timings["formats"],
        "site_size": database.stat().st_size,
        "rss_before": rss_before,
        "rss_peak": _own_peak_rss_kib(),
    }


def _own_cpu_seconds() -> float:
    """User and system CPU time of this process, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _own_peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _report(figures: dict[str, Any], passes: int, hub_peak: int | None) -> None:
    report = figures["report"]
    body, headers = figures["body"], figures["headers"]
    print(
        f"sync          {report.changes:,} changes in {figures['pages']} page(s), "
        f"replica of {report.pass_count:,} passes, cursor {report.cursor:,}"
    )
    print(
        f"  on the wire {body:,} bytes of gzip'd pages ({body / 1e6:.1f} MB; largest page "
        f"{figures['largest'] / 1e6:.2f} MB), + {headers:,} bytes of response headers"
    )
    print(
        f"  per pass    {body / passes:.2f} bytes (bodies), "
        f"{(body + headers) / passes:.2f} bytes (with response headers)"
    )
    print(
        f"  JSON        {figures['json_bytes']:,} bytes once decompressed "
        f"({figures['json_bytes'] / passes:.1f} bytes/pass, gzip ratio "
        f"{figures['json_bytes'] / max(body, 1):.1f})"
    )
    formats = ", ".join(f"{count} {name}" for name, count in sorted(figures["formats"].items()))
    print(f"  formats     {formats}")
    print(
        f"  pull time   {figures['total']:.1f} s in all "
        f"({passes / figures['total']:,.0f} passes/s); fetch and parse run in a thread "
        "beside apply:"
    )
    print(
        f"    fetch     {figures['fetch']:.1f} s (request to last byte: the hub reads, signs "
        f"and gzips each page, then sends it)"
    )
    print(f"    parse     {figures['parse']:.1f} s (gunzip and JSON, load_json)")
    print(
        f"    apply     {figures['apply']:.1f} s (signature check and SQLite writes, "
        "apply_page, one transaction per page)"
    )
    print(f"    site CPU  {figures['cpu']:.1f} s (user and system, every thread of the site)")
    waited = figures["total"] - figures["apply"]
    print(
        f"    waited    {waited:.1f} s not applying (the first page, the pages not yet "
        "there, batches push, bookkeeping)"
    )
    print(f"  site base   {figures['site_size'] / 1e6:.0f} MB")
    print(
        f"peak RSS      site process {figures['rss_peak'] / 1024:.0f} MiB "
        f"({figures['rss_before'] / 1024:.0f} MiB before the pull: interpreter and imports)"
    )
    if hub_peak is not None:
        print(f"              hub server (mediateur-hub serve) {hub_peak / 1024:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
