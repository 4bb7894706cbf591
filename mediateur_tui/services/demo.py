"""A deterministic demo region: programmes, carnets, passes in every verdict category.

Dates are relative to the clock's day, so that every category exists whatever the date.
The same seed and day always give the same codes and the same region key.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, insert
from sqlmodel import Session, SQLModel

from mediateur_tui.domain.beneficiaries import Identity, beneficiary_reference
from mediateur_tui.domain.codes import DATA_LENGTH, code_of_number
from mediateur_tui.domain.formatting import PASS_VALUE_CENTS, local_date
from mediateur_tui.domain.pins import hash_pin
from mediateur_tui.domain.scan_input import build_payload, signed_message
from mediateur_tui.domain.signatures import private_key_from_seed, public_key_bytes, sign
from mediateur_tui.domain.site_identity import SiteIdentity, identity_fields
from mediateur_tui.protocol.files import write_file
from mediateur_tui.services.auth import create_operator
from mediateur_tui.store.engine import open_database, writer
from mediateur_tui.store.journal_file import journal_path
from mediateur_tui.store.keys import load_or_create_site_key, write_beneficiary_key
from mediateur_tui.store.models import (
    Programme,
    ProgrammeSite,
    RemoteRedemption,
    ReplicaMeta,
    Revocation,
    Site,
)
from mediateur_tui.store.sqlite_file import database_path

REGION_ID = "HDF"
SITE_ID = "AVESNES-EPN"
OTHER_SITE_ID = "FOURMIES-MEDIA"
# Fictitious SIRET (its checksum holds) and RNA number; the communes' real codes.
SITE_IDENTITY = SiteIdentity("12345678200010", "59036", "59440")
OTHER_SITE_IDENTITY = SiteIdentity("W595001234", "59249", "59610")
MAIN_PROGRAMME = "HDFNUM"
DEFAULT_PASSES = 2_000
DEMO_OPERATORS = (
    ("Camille Martin", "1234", "mediateur"),
    ("Karim Benali", "5678", "responsable"),
    ("Nadia Lefèvre", "2468", "distributeur"),
)
_REGION_SEED = b"mediateur-tui demo region key 01"
_BENEFICIARY_KEY = b"mediateur-tui demo beneficiaries"  # 32 bytes: the region's HMAC key
# A demo beneficiary who already received one carnet of 5 (the distributor's screen shows it).
DEMO_BENEFICIARY = Identity("Dupont", "Jeanne", date(1958, 3, 14))
STOCK_CARNETS = (10, 10, 10, 10, 5, 5, 5, 5)  # unattributed carnets the distributor hands out


def demo_region_key() -> Ed25519PrivateKey:
    """The demo region's signing key (always the same), e.g. to sign a demo acknowledgement."""
    return private_key_from_seed(_REGION_SEED)


_INSERT_CHUNK = 20_000
_CARNET_INSERT = (
    "INSERT INTO carnet (ref, id, programme_id, size, attributed_on, beneficiary_ref) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_PASS_INSERT = "INSERT INTO pass (code, carnet_ref) VALUES (?, ?)"


@dataclass(frozen=True)
class DemoProgramme:
    id: str
    label: str
    starts: int  # days from today
    ends: int
    grace_days: int = 31
    accepted_here: bool = True


PROGRAMMES = (
    DemoProgramme(MAIN_PROGRAMME, "Pass numérique Hauts-de-France", -90, 180),
    DemoProgramme("HDFPREC", "Pass numérique (campagne précédente)", -400, -10),
    DemoProgramme("HDFANC", "Pass numérique (ancienne campagne)", -600, -200),
    DemoProgramme("HDFFUTUR", "Pass numérique (campagne à venir)", 30, 400),
    DemoProgramme("LYCEE", "Pass numérique lycées (expérimentation)", -90, 180, 31, False),
)

# Category -> (programme, carnet attributed?, what else happens to its passes)
CATEGORIES = {
    "valid": (MAIN_PROGRAMME, True, None),
    "grace": ("HDFPREC", True, None),
    "expired": ("HDFANC", True, None),
    "not_yet_valid": ("HDFFUTUR", True, None),
    "revoked": (MAIN_PROGRAMME, True, "revoked"),
    "redeemed_elsewhere": (MAIN_PROGRAMME, True, "redeemed_elsewhere"),
    "unattributed": (MAIN_PROGRAMME, False, None),
    "other_programme": ("LYCEE", True, None),
}


@dataclass
class DemoResult:
    data_dir: Path
    programme: str
    operators: list[dict[str, str]]
    codes: dict[str, list[str]] = field(default_factory=dict)
    images: list[Path] = field(default_factory=list)
    stock: list[str] = field(default_factory=list)  # carnets to hand out

    def to_json(self) -> dict[str, object]:
        return {
            "data_dir": str(self.data_dir),
            "programme": self.programme,
            "operators": self.operators,
            "codes": self.codes,
            "images": [str(path) for path in self.images],
            "stock": self.stock,
        }


# rng.choice(ALPHABET) takes the top 6 bits of one 32-bit word of the generator and draws
# again when they exceed 31: a word whose top byte is below 128 gives the symbol (byte >> 2).
_WORD_TO_DIGIT = bytes(
    b"0123456789abcdefghijklmnopqrstuv"[byte >> 2] if byte < 128 else 0 for byte in range(256)
)
_REJECTED = bytes(range(128, 256))


class _CodeMaker:
    """The codes `"".join(rng.choice(ALPHABET) for _ in range(12))` then make_code gives, with
    random.Random(seed), each new one kept: the codes the demo always had, made from the
    generator's words in bulk (a million codes in about a second instead of five)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: set[str] = set()
        self.digits = b""  # symbols drawn and not used yet, as base-32 digits (int(…, 32))
        self.position = 0

    def take(self, count: int) -> list[str]:
        codes: list[str] = []
        while len(codes) < count:
            if len(self.digits) - self.position < DATA_LENGTH:
                self._draw(count - len(codes))
            start, self.position = self.position, self.position + DATA_LENGTH
            code = code_of_number(int(self.digits[start : self.position], 32))
            if code not in self.seen:
                self.seen.add(code)
                codes.append(code)
        return codes

    def _draw(self, codes: int) -> None:
        # Words drawn ahead are used in order later: drawing more at once changes no code.
        words = 2 * DATA_LENGTH * max(codes, 10_000) + 64  # about half the words give a symbol
        drawn = self.rng.getrandbits(32 * words).to_bytes(4 * words, "little")
        top_bytes = drawn[3::4]  # each word's most significant byte, in the order drawn
        digits = top_bytes.translate(_WORD_TO_DIGIT, _REJECTED)
        self.digits = self.digits[self.position :] + digits
        self.position = 0


def build_demo(
    engine: Engine, data_dir: Path, now: datetime, passes: int = DEFAULT_PASSES, seed: int = 2026
) -> DemoResult:
    """Fills an empty, migrated database with the demo region, and writes QR images."""
    today = local_date(now)
    key = demo_region_key()
    programmes = {p.id: _programme_row(p, today) for p in PROGRAMMES}
    maker = _CodeMaker(seed)
    result = DemoResult(
        data_dir=data_dir,
        programme=MAIN_PROGRAMME,
        operators=[{"name": n, "pin": pin, "role": role} for n, pin, role in DEMO_OPERATORS],
    )
    carnets: list[tuple[int, str, str, int, str | None, str | None]] = []
    pass_rows: list[tuple[str, int]] = []  # (code, carnet ref)
    revocations: list[dict[str, Any]] = []
    remote: list[dict[str, Any]] = []

    def add_carnet(
        programme_id: str, size: int, attributed: bool, beneficiary: str | None = None
    ) -> list[str]:
        ref = len(carnets) + 1
        carnets.append(
            (
                ref,
                f"C{ref:07d}",
                programme_id,
                size,
                attributed_on if attributed else None,
                (beneficiary or f"B{ref:020d}") if attributed else None,
            )
        )
        codes = maker.take(size)
        pass_rows.extend((code, ref) for code in codes)
        return codes

    attributed_on = (today - timedelta(days=20)).isoformat()
    for category, (programme_id, attributed, fate) in CATEGORIES.items():
        codes = add_carnet(programme_id, 5, attributed) + add_carnet(programme_id, 5, attributed)
        for code in codes:
            if fate == "revoked":
                revocations.append({"code": code, "reason": "stolen", "revoked_on": today})
            elif fate == "redeemed_elsewhere":
                remote.append(
                    {"code": code, "site_id": OTHER_SITE_ID, "redeemed_on": today - timedelta(3)}
                )
        programme = programmes[programme_id]
        result.codes[category] = [
            _payload(key, programme, code) if index % 2 == 0 else code
            for index, code in enumerate(codes)
        ]
    for size in STOCK_CARNETS:
        add_carnet(MAIN_PROGRAMME, size, attributed=False)
        result.stock.append(carnets[-1][1])
    add_carnet(MAIN_PROGRAMME, 5, True, beneficiary_reference(DEMO_BENEFICIARY, _BENEFICIARY_KEY))
    while len(pass_rows) < passes:
        size = 10 if len(carnets) % 3 and passes - len(pass_rows) >= 10 else 5
        add_carnet(MAIN_PROGRAMME, size, attributed=True)
    main = programmes[MAIN_PROGRAMME]
    by_carnet: dict[str, list[str]] = {carnets[0][1]: [], carnets[1][1]: []}
    for code, ref in pass_rows[:10]:
        by_carnet[carnets[ref - 1][1]].append(_payload(key, main, code))
    result.images = write_qr_images(data_dir, by_carnet)
    load_or_create_site_key(data_dir)  # so that month end can seal (sign) batches in the demo
    write_beneficiary_key(data_dir, _BENEFICIARY_KEY)  # the demo site is a distributor too

    with Session(writer(engine)) as session:
        session.add(
            Site(
                id=SITE_ID,
                name="Espace public numérique d'Avesnes-sur-Helpe",
                **identity_fields(SITE_IDENTITY),
            )
        )
        session.add(
            Site(
                id=OTHER_SITE_ID,
                name="Médiathèque de Fourmies",
                **identity_fields(OTHER_SITE_IDENTITY),
            )
        )
        for programme in programmes.values():
            session.add(programme)
        session.flush()
        for demo_programme in PROGRAMMES:
            sites = [OTHER_SITE_ID] + ([SITE_ID] if demo_programme.accepted_here else [])
            for site_id in sites:
                session.add(ProgrammeSite(programme_id=demo_programme.id, site_id=site_id))
        connection = session.connection()
        connection.exec_driver_sql(_CARNET_INSERT, carnets)
        pass_rows.sort()  # in key order: the pass table is written page after page
        connection.exec_driver_sql(_PASS_INSERT, pass_rows)
        _insert_chunked(session, Revocation, revocations)
        _insert_chunked(session, RemoteRedemption, remote)
        session.add(
            ReplicaMeta(
                region_id=REGION_ID,
                region_public_key=public_key_bytes(key),
                site_id=SITE_ID,
                updated_at=now,
                pass_count=len(pass_rows),
            )
        )
        for name, pin, role in DEMO_OPERATORS:
            create_operator(session, name, role, hash_pin(pin))
        session.commit()
    return result


def _programme_row(demo: DemoProgramme, today: date) -> Programme:
    valid_until = today + timedelta(days=demo.ends)
    return Programme(
        id=demo.id,
        label=demo.label,
        value_cents=PASS_VALUE_CENTS,
        valid_from=today + timedelta(days=demo.starts),
        valid_until=valid_until,
        grace_until=valid_until + timedelta(days=demo.grace_days),
    )


def _payload(key: Ed25519PrivateKey, programme: Programme, code: str) -> str:
    signature = sign(key, signed_message(programme.id, code, programme.valid_until))
    return build_payload(programme.id, code, programme.valid_until, signature)


def _insert_chunked(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _INSERT_CHUNK):
        session.execute(insert(table), rows[start : start + _INSERT_CHUNK])


def write_qr_images(data_dir: Path, by_carnet: dict[str, list[str]]) -> list[Path]:
    """One PNG per pass of the first carnet; one sheet with every pass of the second."""
    import qrcode  # with PIL, only here: `--demo` on an existing demo must not load them
    from PIL import Image

    folder = data_dir / QR_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (first, first_payloads), (second, second_payloads) = by_carnet.items()
    paths = []
    for position, payload in enumerate(first_payloads, start=1):
        path = folder / f"carnet-{first}-pass-{position}.png"
        qrcode.make(payload, border=4).save(path)
        paths.append(path)
    codes = [qrcode.make(payload, border=4).get_image().convert("L") for payload in second_payloads]
    side = codes[0].width
    sheet = Image.new("L", (side * 3, side * 2), color=255)
    for index, code_image in enumerate(codes):
        sheet.paste(code_image, ((index % 3) * side, (index // 3) * side))
    sheet_path = folder / f"carnet-{second}-planche.png"
    sheet.save(sheet_path)
    return [*paths, sheet_path]


def create_demo(
    data_dir: Path, now: datetime, passes: int = DEFAULT_PASSES, force: bool = False
) -> DemoResult | None:
    """Creates the demo in `data_dir` unless a database is already there (None then), or
    replaces it with `force`."""
    path = database_path(data_dir)
    if path.exists():
        if not force:
            return None
        remove_demo(data_dir)
    engine = open_database(path)
    try:
        return build_demo(engine, data_dir, now, passes)
    finally:
        engine.dispose()


DEMO_INFO_FILENAME = "demo.json"
# What `mediateur-tui --demo` adds to the demo folder (mediateur_tui/demo_region).
REGION_DIR = "region"
OTHER_SITE_DIR = "autre-lieu"
QR_DIR = "demo-qr"


def remove_demo(data_dir: Path) -> None:
    """Removes the demo of `data_dir`, whichever made it (`demo init` or `--demo`): its
    database and journal, its region and second site, its images and information."""
    path = database_path(data_dir)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    journal_path(path).unlink(missing_ok=True)
    for folder in (REGION_DIR, OTHER_SITE_DIR, QR_DIR):
        shutil.rmtree(data_dir / folder, ignore_errors=True)
    (data_dir / DEMO_INFO_FILENAME).unlink(missing_ok=True)


def save_demo_info(result: DemoResult) -> None:
    """Keeps the new demo's information beside it: `demo init` on it shows it again."""
    text = json.dumps(result.to_json(), ensure_ascii=False, indent=2)
    write_file(result.data_dir / DEMO_INFO_FILENAME, text.encode("utf-8"))


def saved_demo_info(data_dir: Path) -> dict[str, Any] | None:
    """The information of the demo in `data_dir`; None when the folder holds no demo (a site's
    real data, or a demo made before the information was kept)."""
    if not database_path(data_dir).exists():
        return None
    try:
        info = json.loads((data_dir / DEMO_INFO_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if _is_demo_info(info) else None


def _is_demo_info(info: object) -> bool:
    """Whether a read demo.json has what DemoResult.to_json writes (not a damaged file)."""
    if not isinstance(info, dict):
        return False
    kinds = {"operators": list, "codes": dict, "images": list, "stock": list}
    return all(isinstance(info.get(key), kind) for key, kind in kinds.items())
