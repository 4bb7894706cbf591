"""A region's documents for the site-side tests: a change log signed like the region signs
it (pages, snapshots) and acknowledgements of batches. Only documents: there is no server
here; the tests against a real hub process live elsewhere."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from acks import ack_body
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mediateur_tui.domain.codes import ALPHABET, DATA_LENGTH, make_code
from mediateur_tui.domain.region_keys import KeyStatus, RegionKey
from mediateur_tui.domain.scan_input import build_payload, signed_message
from mediateur_tui.domain.signatures import key_id, public_key_bytes, sign
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.formats import (
    DECLARATION_ANSWER,
    REPLICA_PAGE,
    REPLICA_PAGE_COMPACT,
    REPLICA_SNAPSHOT,
    SITE_RECOVERY,
)
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.key_sets import key_set_document
from mediateur_tui.protocol.replica_pages import compact_changes
from mediateur_tui.protocol.signing import encode_key, region_signer, sign_document
from mediateur_tui.protocol.snapshot_lines import SnapshotWriter
from mediateur_tui.protocol.verdicts import LineVerdict

Document = dict[str, Any]
SITE_ID = "AVESNES-EPN"
OTHER_SITE_ID = "FOURMIES-MEDIA"
PROGRAMME = "HDFNUM"
# Times of the tests: a replica generated on 1 March 2026.
GENERATED_AT = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


@dataclass
class Region:
    """The region's change log and key; every method returns signed protocol documents."""

    region_id: str = "HDF"
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    changes: list[Document] = field(default_factory=list)
    seed: int = 7
    generated_at: datetime = GENERATED_AT

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.carnet_count = 0
        first = public_key_bytes(self.key)
        self.first_key = self.key
        self.first_public_key = first  # the region's identity: what a snapshot carries
        self.keys = [RegionKey(key_id(first), first, date(2025, 1, 1))]
        self.key_sets: list[Document] = []

    @property
    def public_key(self) -> bytes:
        return public_key_bytes(self.key)

    @property
    def kid(self) -> str | None:
        """The active key's id as a PN2 payload names it; None while it is the first key."""
        return None if self.public_key == self.first_public_key else key_id(self.public_key)

    # --- keys -----------------------------------------------------------------------------------

    def rotate(self, on: date) -> None:
        """A new key signs from `on`; the set announcing it is signed by the outgoing key."""
        outgoing, self.key = self.key, Ed25519PrivateKey.generate()
        self.keys = [
            replace(key, sign_until=on) if key.status is KeyStatus.ACTIVE else key
            for key in self.keys
        ]
        self.keys.append(RegionKey(key_id(self.public_key), self.public_key, on))
        self._publish_keys(outgoing)

    def revoke(self, kid: str, from_day: date) -> None:
        self.keys = [replace(k, revoked_from=from_day) if k.kid == kid else k for k in self.keys]
        self._publish_keys(self.key)

    def _publish_keys(self, signer: Ed25519PrivateKey) -> None:
        sequence = len(self.key_sets) + 1
        document = key_set_document(self.region_id, sequence, self.generated_at, self.keys)
        self.key_sets.append(sign_document(document, signer, region_signer(self.region_id)))

    # --- building the registry ----------------------------------------------------------------

    def add(self, *changes: Document) -> int:
        self.changes.extend(changes)
        return len(self.changes)

    def new_code(self) -> str:
        return make_code("".join(self.rng.choice(ALPHABET) for _ in range(DATA_LENGTH)))

    def standard(self) -> None:
        """Two sites and a programme accepted everywhere (as a region starts)."""
        self.add(
            {"t": "site", "id": SITE_ID, "name": "Espace public numérique d'Avesnes"},
            {"t": "site", "id": OTHER_SITE_ID, "name": "Médiathèque de Fourmies"},
            programme(PROGRAMME, sites=["*"]),
        )

    def carnet(
        self,
        size: int = 10,
        attributed: str | None = "2026-02-01",
        programme_id: str = PROGRAMME,
        issued_on: date | None = None,
    ) -> tuple[str, list[str]]:
        """Adds a carnet change (with its issue day `i` when given); returns its id and codes."""
        self.carnet_count += 1
        carnet_id = f"C{self.carnet_count:07d}"
        codes = [self.new_code() for _ in range(size)]
        change = {
            "t": "carnet",
            "id": carnet_id,
            "p": programme_id,
            "n": size,
            "a": attributed,
            "codes": codes,
        }
        if issued_on is not None:
            change["i"] = issued_on.isoformat()
        self.add(change)
        return carnet_id, codes

    # --- documents ------------------------------------------------------------------------------

    def page(
        self,
        since: int,
        limit: int = 50,
        generated_at: datetime | None = None,
        compact: bool = False,
    ) -> Document:
        """The page after `since`, as the hub serves it (until = last change's sequence): a
        pn-replica-page/1, or with `compact` the /2, made by the hub's own function."""
        selected = self.changes[since : since + limit]
        until = since + len(selected)
        if compact:
            compacted = compact_changes(copy.deepcopy(selected))
            assert compacted is not None, "codes that would not come back the same"
            selected = compacted
        document = {
            "format": REPLICA_PAGE_COMPACT if compact else REPLICA_PAGE,
            "region_id": self.region_id,
            "since": since,
            "until": until,
            "more": until < len(self.changes),
            "generated_at": iso_instant(generated_at or self.generated_at),
            "changes": selected,
            "key_sets": list(self.key_sets),
        }
        return sign_document(document, self.key, region_signer(self.region_id))

    def signed(self, document: Document) -> Document:
        """`document` signed again (after a test changed it), as the region signs."""
        unsigned = {key: value for key, value in document.items() if key != "signature"}
        return sign_document(unsigned, self.key, region_signer(self.region_id))

    def snapshot(self, generated_at: datetime | None = None) -> Document:
        document = {
            "format": REPLICA_SNAPSHOT,
            "region_id": self.region_id,
            "region_public_key": encode_key(self.first_public_key),
            "until": len(self.changes),
            "generated_at": iso_instant(generated_at or self.generated_at),
            "changes": list(self.changes),
            "key_sets": list(self.key_sets),
        }
        return sign_document(document, self.key, region_signer(self.region_id))

    def snapshot_file(self, path: Path, generated_at: datetime | None = None) -> Path:
        """`snapshot()` as the file a hub exports today: a pn-replica-snapshot/2."""
        whole = self.snapshot(generated_at)
        head = {key: value for key, value in whole.items() if key not in ("changes", "signature")}
        with path.open("wb") as out:
            writer = SnapshotWriter(out, head)
            writer.write_changes([dump_json(change).decode() for change in whole["changes"]])
            writer.finish(sign_document(writer.seal(), self.key, region_signer(self.region_id)))
        return path

    def ack(
        self,
        batch: Document,
        refused: dict[str, tuple[str, dict | None]] | None = None,
        received_at: datetime | None = None,
    ) -> Document:
        """The ack of a batch: every line accepted except `refused` (id -> (reason, winner))."""
        received_at = received_at or datetime(2026, 4, 2, 8, 0, tzinfo=UTC)
        document = ack_body(batch, self.region_id, received_at, refused)
        return sign_document(document, self.key, region_signer(self.region_id))

    def declaration_answer(
        self,
        declaration: Document,
        refused: dict[str, tuple[str, dict | None]] | None = None,
        statuses: dict[str, str] | None = None,
    ) -> Document:
        """The answer to a declaration: every line accepted except `refused` (id -> (reason,
        winner)); every cancellation `cancelled` except `statuses` (id -> status)."""
        refused, statuses = refused or {}, statuses or {}
        document = {
            "format": DECLARATION_ANSWER,
            "declaration_id": declaration["declaration_id"],
            "site_id": declaration["site_id"],
            "region_id": self.region_id,
            "received_at": iso_instant(datetime(2026, 3, 10, 10, 5, tzinfo=UTC)),
            "lines": [
                _answer_line(line, *refused.get(line["id"], (None, None)))
                for line in declaration["redemptions"]
            ],
            "cancellations": [
                {
                    "redemption_id": line["redemption_id"],
                    "status": statuses.get(line["redemption_id"], "cancelled"),
                }
                for line in declaration["cancellations"]
            ],
        }
        return sign_document(document, self.key, region_signer(self.region_id))

    def recovery(
        self, site_id: str, batches: list[tuple[Document, Document]], declared: list[Document]
    ) -> Document:
        """What the region gives back to a new laptop: `batches` (batch, ack) and the lines of
        the `declared` documents (all accepted)."""
        sessions = {s["id"]: s for d in declared for s in d["sessions"]}
        redemptions = [line for d in declared for line in d["redemptions"]]
        document = {
            "format": SITE_RECOVERY,
            "site_id": site_id,
            "region_id": self.region_id,
            "generated_at": iso_instant(datetime(2026, 3, 28, 8, 0, tzinfo=UTC)),
            "batches": [{"batch": batch, "ack": ack} for batch, ack in batches],
            "declared": {
                "sessions": list(sessions.values()),
                "redemptions": redemptions,
                "answers": [_answer_line(line, None, None) for line in redemptions],
                "cancellations": [c for d in declared for c in d["cancellations"]],
            },
        }
        return sign_document(document, self.key, region_signer(self.region_id))

    def first_key_payload(self, code: str, valid_until: date) -> str:
        """A PN1 payload signed by the region's first key, whatever key is active."""
        signature = sign(self.first_key, signed_message(PROGRAMME, code, valid_until))
        return build_payload(PROGRAMME, code, valid_until, signature)

    def qr(self, code: str, valid_until: date, programme_id: str = PROGRAMME) -> str:
        """The payload the hub prints: PN1 under the first key, PN2 naming a later one."""
        signature = sign(self.key, signed_message(programme_id, code, valid_until, self.kid))
        return build_payload(programme_id, code, valid_until, signature, self.kid)


def _answer_line(line: Document, reason: str | None, winner: dict | None) -> Document:
    return {
        "redemption_id": line["id"],
        "code": line["code"],
        "verdict": LineVerdict.REFUSED if reason else LineVerdict.ACCEPTED,
        "reason": reason,
        "winner": winner,
    }


def programme(
    programme_id: str = PROGRAMME,
    sites: list[str] | None = None,
    valid_from: str = "2026-01-01",
    valid_until: str = "2026-12-31",
    grace_until: str = "2027-01-31",
    label: str = "Pass numérique Hauts-de-France",
) -> Document:
    return {
        "t": "programme",
        "id": programme_id,
        "label": label,
        "value_cents": 1000,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "grace_until": grace_until,
        "sites": sites or ["*"],
    }


def day(text: str) -> date:
    return date.fromisoformat(text)


def later(moment: datetime, **delta) -> datetime:
    return moment + timedelta(**delta)
