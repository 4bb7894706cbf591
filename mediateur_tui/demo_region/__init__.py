"""The demo with its region, for `mediateur-tui --demo`: the whole loop without any set-up.

In the demo folder:
- `region/`: a demo hub (SQLite), served in the app's process on a loopback port while the
  app runs (demo_region/server.py);
- the demo site (Avesnes), enrolled with that hub over HTTP as a real site is, a distributor
  (it hands out carnets), whose last month holds two sessions ready to close;
- `autre-lieu/`: a second site (Fourmies) that took, and remitted first, one of the passes
  Avesnes took last month: closing and sending the month shows the conflict in the
  reconciliation.

Everything is made through the hub's and the site's own functions (issue, attribute,
enrolment, sync, month end), each step at the moment it is dated. The codes are the region's
(random); `demo init` still makes the deterministic demo without a region, for scripts and
benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from mediateur_tui.demo_region.server import serving
from mediateur_tui.domain.beneficiaries import beneficiary_reference
from mediateur_tui.domain.formatting import LOCAL_TZ, local_date
from mediateur_tui.domain.periods import previous_period
from mediateur_tui.hub.database import (
    DATABASE_FILENAME,
    Hub,
    HubSettings,
    read_beneficiary_key,
    sqlite_url,
)
from mediateur_tui.hub.enrolment import enrol_site
from mediateur_tui.hub.printing import pass_payload
from mediateur_tui.hub.registry import ProgrammeSpec, attribute, init_region, issue, revoke
from mediateur_tui.services import demo_loop
from mediateur_tui.services.demo import (
    CATEGORIES,
    DEFAULT_PASSES,
    DEMO_BENEFICIARY,
    DEMO_OPERATORS,
    MAIN_PROGRAMME,
    OTHER_SITE_DIR,
    OTHER_SITE_ID,
    OTHER_SITE_IDENTITY,
    PROGRAMMES,
    REGION_DIR,
    REGION_ID,
    SITE_ID,
    SITE_IDENTITY,
    STOCK_CARNETS,
    DemoProgramme,
    DemoResult,
    remove_demo,
    save_demo_info,
    write_qr_images,
)
from mediateur_tui.services.site import has_database

COMPLETE_MARK = "demo-complete"  # in REGION_DIR, once every step of the making is done
SITE_NAME = "Espace public numérique d'Avesnes-sur-Helpe"
OTHER_SITE_NAME = "Médiathèque de Fourmies"
OTHER_OPERATOR = ("Dominique Petit", "1357", "responsable")
LAST_MONTH_SESSIONS = (  # (day of last month, hour, title, kind, passes)
    (6, 10, "Atelier : envoyer un courriel", "collectif", 6),
    (20, 14, "Démarches en ligne (CAF)", "individuel", 2),
)
OTHER_SITE_DAY = 12  # Fourmies took the shared pass on this day of last month, before Avesnes


def region_settings(data_dir: Path) -> HubSettings:
    folder = data_dir / REGION_DIR
    return HubSettings(directory=folder, database_url=sqlite_url(folder / DATABASE_FILENAME))


def has_region(data_dir: Path) -> bool:
    """Whether the demo of `data_dir` was made, whole, with its region."""
    return (data_dir / REGION_DIR / COMPLETE_MARK).exists() and has_database(data_dir)


def needs_making(data_dir: Path) -> bool:
    """Whether `data_dir` holds no demo yet: neither one with its region nor one made by
    `demo init` (a site without a region folder)."""
    made_by_demo_init = has_database(data_dir) and not (data_dir / REGION_DIR).exists()
    return not has_region(data_dir) and not made_by_demo_init


def ensure(data_dir: Path, now: datetime) -> DemoResult | None:
    """Makes the demo with its region in `data_dir` when it needs making (None otherwise).
    What an interrupted making left (killed, disk full) is removed first."""
    if not needs_making(data_dir):
        return None
    remove_demo(data_dir)
    return create(data_dir, now)


@contextmanager
def running(data_dir: Path) -> Iterator[str | None]:
    """Serves the demo's region while the app runs, the demo site pointed at it; yields its
    address, or None for a demo made without a region."""
    if not has_region(data_dir):
        yield None
        return
    with serving(region_settings(data_dir)) as url:
        demo_loop.point_at_hub(data_dir, url)
        yield url


@dataclass
class _Plan:
    """The region's passes as the demo uses them."""

    codes: dict[str, list[str]]  # category -> codes (bare)
    payloads: dict[str, str]  # code -> signed QR payload
    stock: list[str]  # carnet ids to hand out
    last_month: list[list[str]]  # Avesnes's codes, session by session
    shared: str  # the pass both sites took
    images: dict[str, list[str]]  # the first two carnets' codes, by carnet: QR images


def create(data_dir: Path, now: datetime) -> DemoResult:
    """Makes the demo region, its two sites and their past, in an empty `data_dir`."""
    settings = region_settings(data_dir)
    settings.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    hub = init_region(settings, REGION_ID)
    try:
        plan = _issue_region(hub, settings, local_date(now))
        tokens = {
            SITE_ID: enrol_site(hub, SITE_ID, SITE_NAME, distributor=True, identity=SITE_IDENTITY),
            OTHER_SITE_ID: enrol_site(
                hub, OTHER_SITE_ID, OTHER_SITE_NAME, identity=OTHER_SITE_IDENTITY
            ),
        }
    finally:
        hub.engine.dispose()
    with serving(settings) as url:
        _make_sites(data_dir, url, tokens, plan, now)
    result = _result(data_dir, plan)
    save_demo_info(result)  # what `demo init` shows of it
    (settings.directory / COMPLETE_MARK).touch()  # last: the demo is whole
    return result


def _issue_region(hub: Hub, settings: HubSettings, today: date) -> _Plan:
    specs = {p.id: _spec(p, today) for p in PROGRAMMES}
    attributed_on = _first_of_month_before_last(today)
    codes: dict[str, list[str]] = {}
    payloads: dict[str, str] = {}
    images: dict[str, list[str]] = {}
    for category, (programme_id, attributed, fate) in CATEGORIES.items():
        issued = issue(hub, specs[programme_id], carnets=2, size=5)
        codes[category] = [code for carnet in issued.carnets for code in carnet.codes]
        for code in codes[category]:
            payloads[code] = pass_payload(hub, programme_id, code, issued.programme.valid_until)
        for carnet in issued.carnets if attributed else ():
            attribute(hub, carnet.id, f"B-DEMO-{carnet.id}", attributed_on)
        for code in codes[category] if fate == "revoked" else ():
            revoke(hub, code, "stolen")
        if category == "valid":
            images = {carnet.id: carnet.codes for carnet in issued.carnets}
    stock = []
    for size in STOCK_CARNETS:
        stock += [carnet.id for carnet in issue(hub, specs[MAIN_PROGRAMME], 1, size).carnets]
    beneficiary_key = read_beneficiary_key(settings.beneficiary_key_path)
    known = issue(hub, specs[MAIN_PROGRAMME], 1, 5).carnets[0]
    attribute(hub, known.id, beneficiary_reference(DEMO_BENEFICIARY, beneficiary_key), today)
    issued_so_far = sum(len(found) for found in codes.values()) + sum(STOCK_CARNETS) + 5
    bulk = issue(hub, specs[MAIN_PROGRAMME], max(2, (DEFAULT_PASSES - issued_so_far) // 10), 10)
    for carnet in bulk.carnets:
        attribute(hub, carnet.id, f"B-DEMO-{carnet.id}", attributed_on)
    spare = [code for carnet in bulk.carnets for code in carnet.codes]
    last_month, start = [], 0
    for *_, count in LAST_MONTH_SESSIONS:
        last_month.append(spare[start : start + count])
        start += count
    return _Plan(codes, payloads, stock, last_month, last_month[-1][-1], images)


def _spec(programme: DemoProgramme, today: date) -> ProgrammeSpec:
    valid_until = today + timedelta(days=programme.ends)
    return ProgrammeSpec(
        id=programme.id,
        label=programme.label,
        valid_from=today + timedelta(days=programme.starts),
        valid_until=valid_until,
        grace_until=valid_until + timedelta(days=programme.grace_days),
        sites=None if programme.accepted_here else [OTHER_SITE_ID],
    )


def _first_of_month_before_last(today: date) -> date:
    last_month = today.replace(day=1) - timedelta(days=1)
    return (last_month.replace(day=1) - timedelta(days=1)).replace(day=1)


def _last_month_at(today: date, day: int, hour: int) -> datetime:
    last_month = today.replace(day=1) - timedelta(days=1)
    return datetime.combine(last_month.replace(day=day), time(hour), tzinfo=LOCAL_TZ)


def _make_sites(
    data_dir: Path, url: str, tokens: dict[str, str], plan: _Plan, now: datetime
) -> None:
    today = local_date(now)
    other = data_dir / OTHER_SITE_DIR
    name, _, _ = OTHER_OPERATOR
    # Fourmies first: the passes it took a few days ago are in Avesnes's first replica.
    demo_loop.enrol(other, url, tokens[OTHER_SITE_ID], now)
    demo_loop.add_operators(other, [OTHER_OPERATOR])
    elsewhere = plan.codes["redeemed_elsewhere"]
    demo_loop.take(other, name, now - timedelta(days=3), "Atelier", "collectif", elsewhere)
    demo_loop.sync(other, now)
    # Avesnes enrols and, last month, offline, takes its passes (the shared one last).
    demo_loop.enrol(data_dir, url, tokens[SITE_ID], now)
    demo_loop.add_operators(data_dir, list(DEMO_OPERATORS))
    operator = DEMO_OPERATORS[0][0]
    for (day, hour, title, kind, _), codes in zip(
        LAST_MONTH_SESSIONS, plan.last_month, strict=True
    ):
        demo_loop.take(data_dir, operator, _last_month_at(today, day, hour), title, kind, codes)
    # Fourmies took the shared pass earlier in the month, closed it and remitted it first.
    at = _last_month_at(today, OTHER_SITE_DAY, 16)
    demo_loop.take(other, name, at, "Accompagnement", "individuel", [plan.shared])
    demo_loop.close_month(other, previous_period(now), now)
    demo_loop.sync(other, now)


def _result(data_dir: Path, plan: _Plan) -> DemoResult:
    result = DemoResult(
        data_dir=data_dir,
        programme=MAIN_PROGRAMME,
        operators=[{"name": n, "pin": pin, "role": role} for n, pin, role in DEMO_OPERATORS],
        stock=plan.stock,
    )
    for category, codes in plan.codes.items():
        result.codes[category] = [
            plan.payloads[code] if index % 2 == 0 else code for index, code in enumerate(codes)
        ]
    by_carnet = {
        carnet: [plan.payloads[code] for code in codes] for carnet, codes in plan.images.items()
    }
    result.images = write_qr_images(data_dir, by_carnet)
    return result
