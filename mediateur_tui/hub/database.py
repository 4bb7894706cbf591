"""Where the hub keeps its data: a directory (region key, default SQLite file) and a database.

The directory is `--dir DIR`, else the environment variable MEDIATEUR_HUB_DIR, else the user
data directory of "mediateur-hub". The database is `--db URL`, else MEDIATEUR_HUB_DB, else the
SQLite file `hub.sqlite3` in that directory; a real region uses PostgreSQL
(`postgresql+psycopg://user@host/db`).

The schema is managed by Alembic (mediateur_tui/hub/migrations): opening the database
upgrades it to the latest revision, unless it is already at HUB_SCHEMA_REVISION (then Alembic
is not even loaded). A database made by `create_all` before the hub had migrations is stamped
at 0001 by the first upgrade.

The directory holds the region's secrets, each readable by its owner only (mode 0600) and
each to be backed up: the region's Ed25519 signing keys (`region_ed25519.key`, PEM, its first
key; `region_ed25519-<KID>.key` for each key `mediateur-hub keys rotate` made: the hub signs
with the one its database says is in service, hub.region_keys) and the region's
beneficiary key (`beneficiary_hmac.key`: 32 random raw bytes). Distributor sites receive the
beneficiary key at enrolment and derive pseudonymous beneficiary references from it
(domain/beneficiaries.py); replacing it would give every person a new reference (and the cap
per person would silently stop working), so it is made once and never changed. The database
records its fingerprint (hub_region.beneficiary_key_fingerprint, SHA-256 hex): `init`, or the
first open of a database whose region has none yet, loads the key file (making it if there is
none) and records it; afterwards the hub refuses to open (NotInitialised) when the file is
missing or is another key, e.g. a PostgreSQL database restored on another host, or a second
`serve` host without the file: the file is to be restored from the backup, never made anew.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from platformdirs import user_data_dir
from sqlalchemy import Column, Connection, Engine, Table, create_engine, event, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import class_mapper
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from mediateur_tui.domain.french_cli import expanded
from mediateur_tui.domain.signatures import key_id, public_key_bytes
from mediateur_tui.hub.errors import HubError, NotInitialised
from mediateur_tui.hub.models import HubChange, HubRegion, HubRegionKey
from mediateur_tui.protocol.files import create_private, keep_private

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.pool import ConnectionPoolEntry

ENV_DIR = "MEDIATEUR_HUB_DIR"
ENV_DB = "MEDIATEUR_HUB_DB"
DATABASE_FILENAME = "hub.sqlite3"
KEY_FILENAME = "region_ed25519.key"  # the region's first key
ROTATED_KEY_FILENAME = "region_ed25519-{kid}.key"  # each key made by a rotation
BENEFICIARY_KEY_FILENAME = "beneficiary_hmac.key"
BENEFICIARY_KEY_BYTES = 32
BUSY_TIMEOUT_MS = 30_000
# The newest hub migration. A test checks it is Alembic's head; a database already there opens
# without loading Alembic.
HUB_SCHEMA_REVISION = "0012"
IN_CHUNK = 5_000  # values of one IN list (SQLite allows 32,766 bound parameters)
_MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class HubSettings:
    directory: Path
    database_url: str

    @property
    def key_path(self) -> Path:
        """The file of the region's first key."""
        return self.directory / KEY_FILENAME

    def rotated_key_path(self, kid: str) -> Path:
        """The file of a key made by a rotation."""
        return self.directory / ROTATED_KEY_FILENAME.format(kid=kid)

    @property
    def beneficiary_key_path(self) -> Path:
        return self.directory / BENEFICIARY_KEY_FILENAME


@dataclass(frozen=True)
class Hub:
    """An opened hub: its database, the region's identity and keys.

    `region_key`: the key in service, which signs every region document and every pass the
    hub issues. `region_public_key`: the region's first key, the identity a site anchors on
    (enrolment answers and snapshots carry it; later keys reach sites in key sets).
    `beneficiary_key`: the region's 32-byte secret for pseudonymous beneficiary references,
    given to distributor sites in their enrolment answer.
    """

    settings: HubSettings
    engine: Engine
    region_id: str
    region_key: Ed25519PrivateKey
    region_public_key: bytes
    beneficiary_key: bytes = field(repr=False)

    @property
    def region_kid(self) -> str:
        """The kid of the key in service."""
        return key_id(public_key_bytes(self.region_key))

    @property
    def payload_kid(self) -> str | None:
        """The kid a pass's QR payload names (PN2), or None (PN1) while the key in service is
        the region's first key."""
        active = public_key_bytes(self.region_key)
        return None if active == self.region_public_key else key_id(active)


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite file `path`, escaped: a folder's name may hold « ? » or « # »."""
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def resolve_settings(directory: str | None = None, database_url: str | None = None) -> HubSettings:
    """Settings from the options, else the environment, else the defaults."""
    if directory:
        folder = expanded(directory, "Dossier du hub")
    elif os.environ.get(ENV_DIR):
        folder = expanded(os.environ[ENV_DIR], f"Dossier du hub ({ENV_DIR})")
    else:
        folder = Path(user_data_dir("mediateur-hub", appauthor=False))
    url = database_url or os.environ.get(ENV_DB) or sqlite_url(folder / DATABASE_FILENAME)
    return HubSettings(directory=folder, database_url=url)


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, with the settings money needs."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


# How the hub's SQLite connections write (the intake bench's floor writes the same way).
# A commit is durable (FULL: the WAL is synced); the WAL is copied back into the database
# every 10,000 pages (about 40 MB) instead of SQLite's 1,000: an intake dirties pages all
# over the region's indexes, and a page changed by several batches is then copied back once.
# A WAL that one large transaction grew is cut back to 64 MiB once copied back.
SQLITE_WRITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA wal_autocheckpoint=10000",
    f"PRAGMA journal_size_limit={64 * 1024 * 1024}",
)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_WRITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB (default 2): the indexes of a region
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("hub_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(engine: Engine | None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Brings the hub's schema to `revision` (the latest by default)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, or None for a new (or pre-Alembic) database."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def open_engine(settings: HubSettings) -> Engine:
    """The engine, with the hub's schema migrated to the latest revision if it is not there."""
    if settings.database_url.startswith("sqlite"):
        settings.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _sqlite_file_private(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        if current_revision(engine) != HUB_SCHEMA_REVISION:
            upgrade(engine)
    except HubError:
        engine.dispose()
        raise
    except SQLAlchemyError as error:
        engine.dispose()
        raise HubError(
            f"Base de données du hub inaccessible : {error.__class__.__name__}."
        ) from error
    return engine


def _sqlite_file_private(url: str) -> None:
    """The hub's SQLite file holds the sites' key hashes and every line paid: 0600, as its
    -wal and -shm (SQLite gives them the database's mode)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    path = Path(database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    create_private(path)
    for file in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        keep_private(file)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A transaction that holds the hub's write lock from its first statement to its commit.

    SQLite: BEGIN IMMEDIATE. PostgreSQL: an EXCLUSIVE lock on the change log (readers go on).
    Writers are thus serialised, so change sequence numbers commit in order.
    """
    writer = engine.execution_options(hub_write=True)
    with Session(writer, expire_on_commit=False) as session, session.begin():
        if engine.dialect.name == "postgresql":
            session.execute(text(f"LOCK TABLE {HubChange.__tablename__} IN EXCLUSIVE MODE"))
        yield session


def bulk_insert(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Inserts many rows fast, in the session's transaction: the DB-API's executemany on
    SQLite, COPY on PostgreSQL (where psycopg's executemany costs one pipelined statement a
    row). Every row has the same keys, and no column left out has a default."""
    if not rows:
        return
    core = class_mapper(table).local_table
    assert isinstance(core, Table)  # each hub model maps one table
    if session.get_bind().dialect.name != "postgresql":
        _sqlite_executemany(session, core, rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    import psycopg  # the driver is needed only here, for PostgreSQL

    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)  # the PostgreSQL driver of make_engine's URLs
    with raw.cursor() as cursor, cursor.copy(f"COPY {core.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])


def _sqlite_executemany(session: Session, core: Table, rows: list[dict[str, Any]]) -> None:
    """SQLAlchemy Core's executemany, without its per-row work: each value that has a bind
    processor goes through its column's own (so a datetime is stored exactly as Core stores
    it), the others as they are; then one sqlite3 executemany."""
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    processors = [
        (index, process)
        for index, name in enumerate(columns)
        if (process := _bind_processor(core.c[name], dialect))
    ]
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    statement = f'INSERT INTO "{core.name}" ({names}) VALUES ({marks})'
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, sqlite3.Connection)  # the SQLite driver of make_engine's URLs
    raw.executemany(statement, _bound_rows(rows, columns, processors))


def _bound_rows(
    rows: list[dict[str, Any]], columns: list[str], processors: list[tuple[int, Any]]
) -> Iterator[list[Any]]:
    for row in rows:
        values = [row[name] for name in columns]
        for index, process in processors:
            if values[index] is not None:  # every processor of the hub's types keeps None
                values[index] = process(values[index])
        yield values


def _bind_processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    if isinstance(column.type, UTCDateTime):
        return sqlite_instant
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def sqlite_instant(value: datetime) -> str:
    """What SQLModel's UTCDateTime then SQLite's DATETIME store for an aware instant (the
    same text, in one step: an intake stores several per line)."""
    if value.tzinfo is not UTC:  # the instants the hub makes and parses are UTC already
        if value.utcoffset() is None:
            raise ValueError("Datetime values must have timezone information.")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"


def table_column(model: type[SQLModel], name: str) -> Column[Any]:
    """The Core column `name` of a hub model's table."""
    core = class_mapper(model).local_table
    assert isinstance(core, Table)  # each hub model maps one table
    column = core.c[name]
    assert isinstance(column, Column)
    return column


def select_in(
    session: Session,
    columns: Sequence[Column[Any]],
    key: Column[Any],
    values: Sequence[Any],
    *,
    joins: str = "",
) -> Iterator[tuple[Any, ...]]:
    """The `columns` of the rows whose `key` is one of `values`, read on the session's DB-API
    connection in chunks of IN_CHUNK (bound-parameter limits), each value through its
    column's result processor: the values Core would return, without compiling an expanding
    IN for every statement. `joins`: SQL after the key's table (`JOIN … ON …`)."""
    dialect = session.get_bind().dialect
    processors = [
        (index, process)
        for index, column in enumerate(columns)
        if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))
    ]
    selected = ", ".join(f'"{column.table.name}"."{column.name}"' for column in columns)
    where = f'"{key.table.name}"."{key.name}"'
    start = f'SELECT {selected} FROM "{key.table.name}" {joins} WHERE {where}'
    unique = sorted(set(values))
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        for first in range(0, len(unique), IN_CHUNK):
            chunk = unique[first : first + IN_CHUNK]
            cursor.execute(*_in_list(dialect, start, chunk))
            for row in cursor.fetchall():
                if processors:
                    row = list(row)
                    for index, process in processors:
                        row[index] = process(row[index])
                yield tuple(row)
    finally:
        cursor.close()


def _in_list(dialect: Dialect, start: str, values: list[Any]) -> tuple[str, Any]:
    """`start` + "the key is one of `values`", and its parameters. PostgreSQL: one array
    parameter (`= ANY(%s)`), so the statement's text is the same for every batch and psycopg
    parses it once and prepares it; SQLite: an IN list of `?`."""
    if dialect.name == "postgresql":
        return f"{start} = ANY(%s)", [values]
    return f"{start} IN ({', '.join('?' for _ in values)})", values


def read_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Writes a new PEM key file readable by its owner only; never overwrites one. The file
    and its folder's entry are on the disk when this returns: a database that records the key
    must never outlive a power cut that loses its file."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except BaseException:  # a half-written key file would stop every later command
        path.unlink(missing_ok=True)
        raise


def read_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as error:
        raise NotInitialised(
            f"Clé de la région introuvable ({path}) : lancez « mediateur-hub init »."
        ) from error
    except ValueError as error:
        raise HubError(f"Clé de la région illisible : {path}.") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise HubError(f"La clé {path} n'est pas une clé Ed25519.")
    return key


def load_or_create_beneficiary_key(path: Path) -> bytes:
    """The beneficiary key in `path`, made first (32 random bytes, mode 0600) if there is none.

    Only for a region that has recorded no key yet (`region_beneficiary_key`).
    """
    _make_beneficiary_key_file(path)
    return read_beneficiary_key(path)


def _make_beneficiary_key_file(path: Path) -> bool:
    """Makes the key file if there is none; True when this call made it.

    Creation is atomic: the bytes go to a private temporary file (O_EXCL, 0600), which is then
    hard-linked to `path`; the link fails if the file exists, so when two processes race, one
    wins and the other reads the winner's key. A reader never sees a half-written file.
    """
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(BENEFICIARY_KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process made it first: theirs is the key
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def read_beneficiary_key(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except FileNotFoundError as error:
        raise NotInitialised(
            f"Clé des bénéficiaires introuvable ({path}) : lancez « mediateur-hub init »."
        ) from error
    if len(key) != BENEFICIARY_KEY_BYTES:
        raise HubError(
            f"Clé des bénéficiaires illisible : {path} doit contenir "
            f"{BENEFICIARY_KEY_BYTES} octets."
        )
    return key


def beneficiary_key_fingerprint(key: bytes) -> str:
    """What the database records of the beneficiary key: its SHA-256, in hex. People see its
    first 32 digits in groups of four (`shown_fingerprint`), as domain.signatures.key_fingerprint
    shows a public key."""
    return hashlib.sha256(key).hexdigest()


def shown_fingerprint(fingerprint: str) -> str:
    """A recorded fingerprint as people compare it, e.g. "3F2A-9C1B-…" (8 groups)."""
    digits = fingerprint[:32].upper()
    return "-".join(digits[index : index + 4] for index in range(0, len(digits), 4))


def region_beneficiary_key(settings: HubSettings, engine: Engine, region_id: str) -> bytes:
    """The region's beneficiary key, checked against the fingerprint its database recorded.

    A region with no fingerprint yet (a new region, or a database no hub has opened since
    revision 0002) gets the key of the file, made if there is none, and its fingerprint is
    recorded (compare-and-set, under the write lock). Otherwise the file must hold that key:
    NotInitialised, saying to restore it from the backup, when it is missing or another key.
    """
    path = settings.beneficiary_key_path
    with read_session(engine) as session:
        region = session.get(HubRegion, region_id)
    assert region is not None
    if region.beneficiary_key_fingerprint is not None:
        return _recorded_beneficiary_key(path, region_id, region.beneficiary_key_fingerprint)
    made = _make_beneficiary_key_file(path)
    key = read_beneficiary_key(path)
    fingerprint = beneficiary_key_fingerprint(key)
    with write_session(engine) as session:
        region = session.get(HubRegion, region_id)
        assert region is not None
        if region.beneficiary_key_fingerprint is None:
            region.beneficiary_key_fingerprint = fingerprint
            session.add(region)
        recorded = region.beneficiary_key_fingerprint
    if recorded == fingerprint:
        return key
    # Another hub (another host) recorded its key first: the file made here is nobody's key.
    if made:
        path.unlink(missing_ok=True)
    return _recorded_beneficiary_key(path, region_id, recorded)


def _recorded_beneficiary_key(path: Path, region_id: str, recorded: str) -> bytes:
    restore = (
        f"Restaurez le fichier {path.name} depuis la sauvegarde du hub, dans {path.parent}. "
        "Le hub n'en crée jamais de nouvelle : les sites distributeurs calculent les références "
        "des bénéficiaires avec celle de la région, et le plafond de pass par personne ne "
        "fonctionnerait plus."
    )
    try:
        key = path.read_bytes()
    except FileNotFoundError as error:
        raise NotInitialised(
            f"Clé des bénéficiaires introuvable ({path}) : la base de la région {region_id} en "
            f"a enregistré une (empreinte {shown_fingerprint(recorded)}). {restore}"
        ) from error
    found = beneficiary_key_fingerprint(key)
    if found != recorded:
        raise NotInitialised(
            f"La clé des bénéficiaires {path} n'est pas celle de la région {region_id} "
            f"(empreinte attendue {shown_fingerprint(recorded)}, trouvée "
            f"{shown_fingerprint(found)}). {restore}"
        )
    return key


def open_hub(settings: HubSettings) -> Hub:
    """Opens an initialised hub; French errors when it is not, or when keys and base disagree."""
    if not settings.key_path.exists() and not _rotated_key_files(settings):
        raise NotInitialised(
            f"Clé de la région introuvable ({settings.key_path}) : lancez « mediateur-hub init »."
        )
    engine = open_engine(settings)
    try:
        return opened_hub(settings, engine)
    except BaseException:
        engine.dispose()
        raise


def _rotated_key_files(settings: HubSettings) -> list[Path]:
    return list(settings.directory.glob(ROTATED_KEY_FILENAME.format(kid="*")))


def opened_hub(settings: HubSettings, engine: Engine) -> Hub:
    """The hub of an engine on an initialised database: its region, the private key of the
    key in service (its file must hold the key the database records) and its beneficiary key.
    """
    with read_session(engine) as session:
        region = session.exec(select(HubRegion)).first()
        if region is None:
            raise NotInitialised("Aucune région dans la base : lancez « mediateur-hub init ».")
        active = key_in_service(session)
    if active is None:
        raise HubError(f"Aucune clé de la région {region.id} n'est en service dans la base.")
    return Hub(
        settings=settings,
        engine=engine,
        region_id=region.id,
        region_key=_active_private_key(settings, region, active),
        region_public_key=bytes(region.public_key),
        beneficiary_key=region_beneficiary_key(settings, engine, region.id),
    )


def key_in_service(session: Session) -> HubRegionKey | None:
    """The row of the key the region signs with: neither retired nor revoked."""
    return session.exec(
        select(HubRegionKey).where(
            col(HubRegionKey.sign_until).is_(None), col(HubRegionKey.revoked_from).is_(None)
        )
    ).first()


def still_in_service(session: Session, hub: Hub) -> HubRegionKey:
    """The key in service, in the caller's write transaction: the one `hub` signs with, or
    HubError when another process has rotated since `hub` was opened."""
    active = key_in_service(session)
    if active is None or active.kid != hub.region_kid:
        raise HubError(
            "La clé en service a changé depuis l'ouverture du hub (une autre rotation ?) : "
            "rien n'a été modifié, relancez la commande."
        )
    return active


def _active_private_key(
    settings: HubSettings, region: HubRegion, active: HubRegionKey
) -> Ed25519PrivateKey:
    first = bytes(active.public_key) == bytes(region.public_key)
    path = settings.key_path if first else settings.rotated_key_path(active.kid)
    if not first and not path.exists():
        raise NotInitialised(
            f"Clé de la région en service ({active.kid}) introuvable : {path}. Restaurez ce "
            "fichier depuis la sauvegarde du hub."
        )
    key = read_private_key(path)
    if public_key_bytes(key) != bytes(active.public_key):
        raise HubError(
            f"La clé {path} n'est pas celle de la région {region.id} enregistrée dans la base "
            f"(clé en service {active.kid})."
        )
    return key
