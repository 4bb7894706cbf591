"""Hand-written example documents of every format of the sync protocol, validly signed.

Each builder returns a fresh document (mutate it freely). Codes carry a real check symbol and
signatures are real Ed25519 signatures made with keys generated for the test run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mediateur_tui.domain.codes import make_code
from mediateur_tui.domain.rulebooks import RULES_DIR
from mediateur_tui.domain.signatures import key_id
from mediateur_tui.protocol import formats, signing
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.replica_pages import compact_changes
from mediateur_tui.protocol.signing import region_signer, sign_document, site_signer
from mediateur_tui.protocol.verdicts import AttributionRefusal

REGION_ID = "HDF"
SITE_ID = "AVESNES-EPN"
OTHER_SITE_ID = "FOURMIES-MEDIA"
REGION_KEY = Ed25519PrivateKey.generate()
# Keys the region made by rotations: the second was revoked, the third signs.
LATER_REGION_KEYS = (Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate())
SITE_KEY = Ed25519PrivateKey.generate()
# Pseudonymous beneficiary references: "B" and 20 Crockford base32 symbols.
BENEFICIARY = "B7K3M9QXR4TBEZ0AB12CD"
OTHER_BENEFICIARY = "BZZ00NN11PP22QQ33RR44"
# Fields a document may leave out (every other field of an example is required).
OPTIONAL_FIELDS = {
    "b",  # a carnet or attribution change made by a hub older than the field
    "beneficiary_key",  # the enrolment answer of a site that is not a distributor
    "kid",  # a region document signed before key ids (by the region's first key)
    "i",  # a carnet change of a carnet issued before the region recorded its issue day
    "activity",  # a session sealed by a site older than the activity summary
    # The Coop's anonymous counts of an activity, given only when the médiatrice gave them
    # (and each value only when counted).
    "genres",
    "tranches_age",
    "statuts",
    "feminin",
    "masculin",
    "quarante_cinquante_neuf",
    "soixante_soixante_neuf",
    "sans_emploi",
}

Document = dict[str, Any]


def public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


REGION_PUBLIC_KEY = signing.encode_key(public_bytes(REGION_KEY))
SITE_PUBLIC_KEY = signing.encode_key(public_bytes(SITE_KEY))


def code(number: int) -> str:
    """A well-formed pass code (real check symbol), different for every number."""
    return make_code(f"7K3M9QXR{number:04d}")


def random_id(label: str) -> str:
    """A 32-hex id, stable for a label (a stand-in for uuid4().hex)."""
    return hashlib.sha256(label.encode()).hexdigest()[:32]


def changes() -> list[Document]:
    """One change of every kind, and both carnet sizes."""
    return [
        {
            "t": "programme",
            "id": "HDFNUM",
            "label": "Pass numérique Hauts-de-France",
            "value_cents": 1000,
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
            "grace_until": "2027-01-31",
            "sites": ["*"],
        },
        {
            "t": "programme",
            "id": "LYCEE-2026",
            "label": "Pass numérique lycées (expérimentation)",
            "value_cents": 1000,
            "valid_from": "2026-09-01",
            "valid_until": "2026-12-31",
            "grace_until": "2027-01-31",
            "sites": [SITE_ID, OTHER_SITE_ID],
        },
        {
            "t": "site",
            "id": SITE_ID,
            "name": "Espace public numérique d'Avesnes-sur-Helpe",
            "pivot": "12345678200010",
            "code_insee": "59036",
            "code_postal": "59440",
        },
        {"t": "site", "id": OTHER_SITE_ID, "name": "Médiathèque de Fourmies"},
        {
            "t": "carnet",
            "id": "C0000001",
            "p": "HDFNUM",
            "n": 5,
            "a": "2026-03-02",
            "b": BENEFICIARY,
            "i": "2026-02-20",
            "codes": [code(number) for number in range(1, 6)],
        },
        {
            "t": "carnet",
            "id": "C0000002",
            "p": "HDFNUM",
            "n": 10,
            "a": None,
            "b": None,
            "codes": [code(number) for number in range(6, 16)],
        },
        {"t": "attribution", "id": "C0000002", "a": "2026-03-09", "b": OTHER_BENEFICIARY},
        {"t": "attribution", "id": "C0000001", "a": None, "b": None},
        {"t": "revocation", "code": code(15), "reason": "stolen", "on": "2026-03-10"},
        {"t": "used", "code": code(1), "site": OTHER_SITE_ID, "on": "2026-03-12"},
        {"t": "used", "code": code(3), "site": SITE_ID, "on": "2026-03-12"},
        {"t": "released", "code": code(3)},
        {"t": "rulebook", "id": "hdf-2026-12", "document": published_rulebook()},
    ]


def published_rulebook() -> Document:
    """The latest shipped rulebook as the region would publish it again, later, signed."""
    shipped = (RULES_DIR / "rulebook-2022.json").read_text(encoding="utf-8")
    document = {**json.loads(shipped), "id": "hdf-2026-12", "effective_from": "2026-12-01"}
    return sign_document(document, REGION_KEY, region_signer(REGION_ID))


def replica_page() -> Document:
    page = {
        "format": formats.REPLICA_PAGE,
        "region_id": REGION_ID,
        "since": 0,
        "until": 12,
        "more": True,
        "generated_at": "2026-03-31T22:00:00.123456+00:00",
        "changes": changes(),
        "key_sets": [key_set()],
    }
    return sign_document(page, REGION_KEY, region_signer(REGION_ID))


def replica_page_2() -> Document:
    """The same page as pn-replica-page/2, as the hub serves it to a site asking format=2."""
    page = {
        "format": formats.REPLICA_PAGE_COMPACT,
        "region_id": REGION_ID,
        "since": 0,
        "until": 12,
        "more": True,
        "generated_at": "2026-03-31T22:00:00.123456+00:00",
        "changes": compact_changes(changes()),
        "key_sets": [key_set()],
    }
    return sign_document(page, REGION_KEY, region_signer(REGION_ID))


def replica_snapshot() -> Document:
    snapshot = {
        "format": formats.REPLICA_SNAPSHOT,
        "region_id": REGION_ID,
        "region_public_key": REGION_PUBLIC_KEY,
        "until": 12,
        "generated_at": "2026-03-31T22:00:00Z",
        "changes": changes(),
        "key_sets": [key_set()],
    }
    return sign_document(snapshot, REGION_KEY, region_signer(REGION_ID))


def replica_snapshot_lines() -> Document:
    """The head of a pn-replica-snapshot/2 (the file's first line)."""
    head = {**replica_snapshot(), "format": formats.REPLICA_SNAPSHOT_LINES}
    del head["changes"], head["signature"]
    return head


def replica_seal() -> Document:
    """The seal of the pn-replica-snapshot/2 of `changes()` under `replica_snapshot_lines()`."""
    lines = [dump_json(replica_snapshot_lines()), *(dump_json(c) for c in changes())]
    seal = {
        "format": formats.REPLICA_SEAL,
        "region_id": REGION_ID,
        "changes": len(lines) - 1,
        "sha256": hashlib.sha256(b"".join(line + b"\n" for line in lines)).hexdigest(),
    }
    return sign_document(seal, REGION_KEY, region_signer(REGION_ID))


def key_set() -> Document:
    """The region's third key set: its first key retired, its second revoked, its third in
    service (every status)."""
    second, third = (public_bytes(key) for key in LATER_REGION_KEYS)
    first = public_bytes(REGION_KEY)
    document = {
        "format": formats.KEY_SET,
        "region_id": REGION_ID,
        "sequence": 3,
        "issued_at": "2026-09-14T08:00:00Z",
        "keys": [
            region_key(first, "2026-01-05", "2026-06-30", "retired", None),
            region_key(second, "2026-06-30", "2026-09-14", "revoked", "2026-09-01"),
            region_key(third, "2026-09-14", None, "active", None),
        ],
    }
    return sign_document(document, REGION_KEY, region_signer(REGION_ID))


def region_key(
    public_key: bytes,
    valid_from: str,
    sign_until: str | None,
    status: str,
    revoked_from: str | None,
) -> Document:
    return {
        "kid": key_id(public_key),
        "public_key": signing.encode_key(public_key),
        "valid_from": valid_from,
        "sign_until": sign_until,
        "status": status,
        "revoked_from": revoked_from,
    }


def enrolment_request() -> Document:
    return {
        "format": formats.ENROLMENT_REQUEST,
        "token": "q7Zr1-Kd0w8xY3mT5vBn2pLs",
        "site_public_key": SITE_PUBLIC_KEY,
    }


def enrolment() -> Document:
    answer = {
        "format": formats.ENROLMENT,
        "region_id": REGION_ID,
        "region_public_key": REGION_PUBLIC_KEY,
        "site_id": SITE_ID,
        "site_name": "Espace public numérique d'Avesnes-sur-Helpe",
        "api_key": "pn_4f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c",
        "issued_at": "2026-02-15T09:30:00+00:00",
        "beneficiary_key": signing.encode_key(bytes(range(32))),  # a distributor site
        "key_sets": [key_set()],
    }
    return sign_document(answer, REGION_KEY, region_signer(REGION_ID))


def batch() -> Document:
    redemptions = [
        {
            "id": random_id("redemption-1"),
            "code": code(2),
            "session_id": 41,
            "operator": "Camille",
            "redeemed_at": "2026-03-03T09:12:45.250000+00:00",
            "input_method": "scan",
            "value_cents": 1000,
            "provisional": False,
        },
        {
            "id": random_id("redemption-2"),
            "code": code(7),
            "session_id": 41,
            "operator": "Camille",
            "redeemed_at": "2026-03-03T09:14:02+00:00",
            "input_method": "image",
            "value_cents": 1000,
            "provisional": False,
        },
        {
            "id": random_id("redemption-3"),
            "code": code(99),
            "session_id": 42,
            "operator": "Mehdi",
            "redeemed_at": "2026-03-31T21:59:59Z",
            "input_method": "cli",
            "value_cents": 1000,
            "provisional": True,
        },
    ]
    document = {
        "format": formats.BATCH,
        "batch_id": random_id("batch-2"),
        "region_id": REGION_ID,
        "site_id": SITE_ID,
        "period": "2026-03",
        "sequence": 2,
        "previous_hash": hashlib.sha256(b"batch 1").hexdigest(),
        "sealed_at": "2026-04-01T07:00:00+00:00",
        "sessions": [
            {
                "id": 41,
                "title": "Atelier courriel",
                "kind": "collectif",
                "themes": "courriel, démarches en ligne",
                "duration_minutes": 120,
                "started_at": "2026-03-03T09:00:00+00:00",
                "ended_at": "2026-03-03T11:00:00+00:00",
                "activity": {
                    "date": "2026-03-03",
                    "place": "lieu_activite",
                    "thematiques": ["email", "aide_aux_demarches_administratives"],
                    "participants": 6,
                    "genres": {"feminin": 4, "masculin": 2},
                    "tranches_age": {"quarante_cinquante_neuf": 1, "soixante_soixante_neuf": 3},
                    "statuts": {"sans_emploi": 2},
                },
            },
            {
                "id": 42,
                "title": "Séance",
                "kind": "individuel",
                "themes": "",
                "duration_minutes": 60,
                "started_at": "2026-03-31T21:30:00+00:00",
                "ended_at": None,
                "activity": {
                    "date": "2026-03-31",
                    "place": "a_distance",
                    "thematiques": [],
                    "participants": 1,
                },
            },
        ],
        "redemptions": redemptions,
        "refused_scans": [
            {
                "at": "2026-03-03T09:13:10+00:00",
                "input": "7K3M-9QXR-0002X",
                "code": None,
                "verdict": "malformed",
            },
            {
                "at": "2026-03-03T09:15:00+00:00",
                "input": f"PN1:HDFNUM:{code(15)}:20261231:AAAA",
                "code": code(15),
                "verdict": "revoked",
            },
        ],
        "totals": {"redemptions": 3, "value_cents": 3000, "refused_scans": 2},
    }
    return sign_document(document, SITE_KEY, site_signer(SITE_ID))


def ack() -> Document:
    lines = [
        {
            "redemption_id": random_id("redemption-1"),
            "code": code(2),
            "verdict": "accepted",
            "reason": None,
            "winner": None,
        },
        {
            "redemption_id": random_id("redemption-2"),
            "code": code(7),
            "verdict": "refused",
            "reason": "conflict",
            "winner": {"site_id": OTHER_SITE_ID, "redeemed_at": "2026-03-02T15:40:00+00:00"},
        },
    ]
    lines += [
        {
            "redemption_id": random_id(f"redemption-{reason}"),
            "code": code(20 + index),
            "verdict": "refused",
            "reason": reason,
            "winner": None,
        }
        for index, reason in enumerate(
            ("revoked", "expired", "unknown", "not_attributed", "duplicate_line")
        )
    ]
    document = {
        "format": formats.ACK,
        "batch_id": random_id("batch-2"),
        "site_id": SITE_ID,
        "region_id": REGION_ID,
        "received_at": "2026-04-01T07:00:05Z",
        "lines": lines,
        "totals": {"accepted": 1, "accepted_cents": 1000, "refused": 6},
    }
    return sign_document(document, REGION_KEY, region_signer(REGION_ID))


def attributions() -> Document:
    items = [
        {
            "id": random_id("attribution-1"),
            "beneficiary_ref": BENEFICIARY,
            "category": "job_seeker",
            "rulebook": "hdf-2022-02",
            "received_on": "2026-03-02",
            "attributed_at": "2026-03-02T10:15:00Z",
            "accompanied": True,
            "establishment": None,
            "carnets": ["C0000002"],
            "passes": 10,
        },
        {
            "id": random_id("attribution-2"),
            "beneficiary_ref": OTHER_BENEFICIARY,
            "category": "lycee",
            "rulebook": "hdf-2022-02",
            "received_on": "2026-03-01",
            "attributed_at": "2026-03-02T10:40:00.5+00:00",
            "accompanied": False,
            "establishment": "Lycée Camille Desmoulins, Le Cateau-Cambrésis",
            "carnets": ["C0000003", "C0000004"],
            "passes": 10,
        },
    ]
    document = {
        "format": formats.ATTRIBUTIONS,
        "region_id": REGION_ID,
        "site_id": SITE_ID,
        "sent_at": "2026-03-02T11:00:00Z",
        "attributions": items,
    }
    return sign_document(document, SITE_KEY, site_signer(SITE_ID))


def attribution_answer() -> Document:
    results = [
        {
            "id": random_id("attribution-1"),
            "verdict": "accepted",
            "reason": None,
            "message": "Attribution enregistrée par la région : 10 pass (1 carnet C0000002).",
            "beneficiary_passes": 10,
        }
    ]
    results += [
        {
            "id": random_id(f"attribution-{reason}"),
            "verdict": "refused",
            "reason": reason,
            "message": f"Refusée ({reason}).",
            "beneficiary_passes": 5,
        }
        for reason in AttributionRefusal
    ]
    document = {
        "format": formats.ATTRIBUTION_ANSWER,
        "region_id": REGION_ID,
        "site_id": SITE_ID,
        "answered_at": "2026-03-02T11:00:01.250000Z",
        "results": results,
    }
    return sign_document(document, REGION_KEY, region_signer(REGION_ID))


def beneficiary_key() -> Document:
    """The key for a site the region made a distributor after its enrolment."""
    document = {
        "format": formats.BENEFICIARY_KEY,
        "region_id": REGION_ID,
        "site_id": SITE_ID,
        "beneficiary_key": signing.encode_key(bytes(range(32))),
        "issued_at": "2026-11-28T16:40:00.250000+00:00",
    }
    return sign_document(document, REGION_KEY, region_signer(REGION_ID))


def declaration() -> Document:
    """Two redemptions of the day and the cancellation of an earlier one."""
    whole = batch()
    document = {
        "format": formats.DECLARATION,
        "declaration_id": random_id("declaration-1"),
        "region_id": REGION_ID,
        "site_id": SITE_ID,
        "declared_at": "2026-03-03T09:20:00Z",
        "sessions": whole["sessions"][:1],
        "redemptions": whole["redemptions"][:2],
        "cancellations": [
            {
                "redemption_id": random_id("redemption-0"),
                "cancelled_at": "2026-03-03T09:18:30+00:00",
                "reason": "Pass encaissé par erreur (mauvais bénéficiaire)",
            }
        ],
    }
    return sign_document(document, SITE_KEY, site_signer(SITE_ID))


def declaration_answer() -> Document:
    lines = ack()["lines"][:2]
    document = {
        "format": formats.DECLARATION_ANSWER,
        "declaration_id": random_id("declaration-1"),
        "site_id": SITE_ID,
        "region_id": REGION_ID,
        "received_at": "2026-03-03T09:20:01Z",
        "lines": lines,
        "cancellations": [
            {"redemption_id": random_id("redemption-0"), "status": "cancelled"},
            {"redemption_id": random_id("redemption-00"), "status": "in_batch"},
            {"redemption_id": random_id("redemption-000"), "status": "unknown"},
        ],
    }
    return sign_document(document, REGION_KEY, region_signer(REGION_ID))


def site_recovery() -> Document:
    """A site's batch with its acknowledgement, and a redemption declared since."""
    declared = declaration()
    document = {
        "format": formats.SITE_RECOVERY,
        "site_id": SITE_ID,
        "region_id": REGION_ID,
        "generated_at": "2026-04-02T08:00:00Z",
        "batches": [{"batch": batch(), "ack": ack()}],
        "declared": {
            "sessions": declared["sessions"],
            "redemptions": declared["redemptions"][:1],
            "answers": ack()["lines"][:1],
            "cancellations": [],
        },
    }
    return sign_document(document, REGION_KEY, region_signer(REGION_ID))


EXAMPLES = {
    "replica-page": replica_page,
    "replica-page-v2": replica_page_2,
    "replica-snapshot": replica_snapshot,
    "replica-snapshot-lines": replica_snapshot_lines,
    "replica-seal": replica_seal,
    "enrolment-request": enrolment_request,
    "enrolment": enrolment,
    "batch": batch,
    "ack": ack,
    "attributions": attributions,
    "attribution-answer": attribution_answer,
    "beneficiary-key": beneficiary_key,
    "declaration": declaration,
    "declaration-answer": declaration_answer,
    "site-recovery": site_recovery,
    "key-set": key_set,
}
