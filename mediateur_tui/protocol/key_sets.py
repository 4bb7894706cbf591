"""The region's key sets (pn-key-set/1) and how a site follows them from the key it trusts.

A key set lists every key the region has made, in order, with its signing window and, for a
revoked key, the day from which its signatures are not trusted. Set n + 1 is signed by the key
in service in set n, so a site that trusts set n (or, before any set, the region's first key,
given at enrolment) can check set n + 1 itself, and so on: it follows a rotation without being
enrolled again. A set never drops a key, and the region's first key stays first; a key already
listed keeps its public key and first day, its `sign_until` and `revoked_from` may only be set
(never changed or cleared), and at most one key is in service. A set bearing the number of the
one the site trusts must be that very set: a thief holding a retired key cannot fork the chain.

Region documents are verified with the key their `kid` names (`verify_region_document`); a
document without `kid` was signed by the region's first key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from mediateur_tui.domain.region_keys import KeyStatus, RegionKey, RegionKeys
from mediateur_tui.domain.signatures import key_id
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import KEY_SET
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.signing import (
    decode_key,
    encode_key,
    region_signer,
    shown_kid,
    verify_document,
)


def key_set_document(
    region_id: str, sequence: int, issued_at: datetime, keys: Sequence[RegionKey]
) -> dict[str, Any]:
    """The unsigned pn-key-set/1 listing `keys` (the region signs it)."""
    return {
        "format": KEY_SET,
        "region_id": region_id,
        "sequence": sequence,
        "issued_at": iso_instant(issued_at),
        "keys": [_key_entry(key) for key in keys],
    }


def _key_entry(key: RegionKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "public_key": encode_key(key.public_key),
        "valid_from": key.valid_from.isoformat(),
        "sign_until": _day_text(key.sign_until),
        "status": key.status.value,
        "revoked_from": _day_text(key.revoked_from),
    }


def read_key_set(document: Any, region_id: str) -> RegionKeys:
    """The keys of a pn-key-set/1 (its signature is not checked here); ProtocolError, in
    French, when it is not a well-formed key set of `region_id`."""
    if not isinstance(document, dict) or document.get("format") != KEY_SET:
        raise ProtocolError("Jeu de clés de la région mal formé : refusé.")
    if document.get("region_id") != region_id:
        raise ProtocolError(
            f"Jeu de clés d'une autre région (« {document.get('region_id')} ») : refusé."
        )
    sequence = document.get("sequence")
    entries = document.get("keys")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise ProtocolError("Jeu de clés de la région mal formé (numéro) : refusé.")
    if not isinstance(entries, list) or not entries:
        raise ProtocolError(f"Jeu de clés n° {sequence} mal formé (aucune clé) : refusé.")
    keys = tuple(_read_key(entry, sequence) for entry in entries)
    if len({key.kid for key in keys}) != len(keys):
        raise ProtocolError(f"Jeu de clés n° {sequence} mal formé (clé en double) : refusé.")
    return RegionKeys(keys=keys, sequence=sequence)


def _read_key(entry: Any, sequence: int) -> RegionKey:
    malformed = ProtocolError(f"Jeu de clés n° {sequence} mal formé : refusé.")
    if not isinstance(entry, dict):
        raise malformed
    try:
        public_key = decode_key(str(entry.get("public_key", "")))
        key = RegionKey(
            kid=str(entry["kid"]),
            public_key=public_key,
            valid_from=date.fromisoformat(entry["valid_from"]),
            sign_until=_day_or_none(entry.get("sign_until")),
            revoked_from=_day_or_none(entry.get("revoked_from")),
        )
    except (KeyError, TypeError, ValueError, ProtocolError) as error:
        raise malformed from error
    if key.kid != key_id(public_key) or entry.get("status") != key.status.value:
        raise malformed
    return key


def follow_key_sets(
    trusted: RegionKeys, region_id: str, documents: Sequence[Any]
) -> tuple[RegionKeys, list[dict[str, Any]]]:
    """The keys trusted after the sets of `documents` newer than `trusted`, and those sets.

    Each newer set must be the next number, be signed by the key in service in the set before
    it and keep that set's keys (see the module's docstring); a set numbered like `trusted`
    must be it. ProtocolError, with nothing trusted, when one is not. Older sets are skipped."""
    accepted: list[dict[str, Any]] = []
    for document in documents:
        keys = read_key_set(document, region_id)
        if keys.sequence == trusted.sequence and keys != trusted:
            raise ProtocolError(
                f"Jeu de clés de la région n° {keys.sequence} différent de celui que ce poste a "
                "déjà reçu : refusé (copie falsifiée ?)."
            )
        if keys.sequence <= trusted.sequence:
            continue
        if keys.sequence != trusted.sequence + 1:
            raise ProtocolError(
                f"Jeu de clés de la région n° {trusted.sequence + 1} manquant (reçu le n° "
                f"{keys.sequence}) : refusé."
            )
        _check_signed_by_trusted(document, trusted, region_id)
        _check_keeps_keys(keys, trusted)
        trusted = keys
        accepted.append(document)
    return trusted, accepted


def _check_signed_by_trusted(document: dict[str, Any], trusted: RegionKeys, region_id: str) -> None:
    signature = document.get("signature")
    kid = signature.get("kid") if isinstance(signature, dict) else None
    signer = trusted.named(kid) if isinstance(kid, str) or kid is None else None
    if signer is None or signer.status is not KeyStatus.ACTIVE:
        raise ProtocolError(
            f"Jeu de clés de la région n° {document.get('sequence')} signé par la clé "
            f"{shown_kid(kid)}, que ce poste ne peut pas relier à la clé de la région qu'il "
            "connaît : refusé."
        )
    verify_document(document, signer.public_key, region_signer(region_id))


def _check_keeps_keys(keys: RegionKeys, trusted: RegionKeys) -> None:
    """A new set lists the known keys first, each one the same key with the same first day,
    its end of signing and revocation only added; and at most one key in service."""
    kept = keys.keys[: len(trusted.keys)]
    in_service = [key for key in keys.keys if key.status is KeyStatus.ACTIVE]
    if (
        len(kept) < len(trusted.keys)
        or len(in_service) > 1
        or not all(
            _follows(before, after) for before, after in zip(trusted.keys, kept, strict=True)
        )
    ):
        raise ProtocolError(
            f"Jeu de clés de la région n° {keys.sequence} incohérent (il ne reprend pas les clés "
            "déjà connues telles qu'elles étaient) : refusé."
        )


def _follows(before: RegionKey, after: RegionKey) -> bool:
    """Whether `after` is `before`, at most with an end of signing or a revocation added
    (the enrolment key alone has no first day yet: any one will do)."""
    return (
        (before.kid, before.public_key) == (after.kid, after.public_key)
        and before.valid_from in (date.min, after.valid_from)
        and before.sign_until in (None, after.sign_until)
        and before.revoked_from in (None, after.revoked_from)
    )


@lru_cache(maxsize=8)
def trusted_keys(
    first_key: bytes | None, stored_set: str | None, region_id: str
) -> RegionKeys | None:
    """The keys a site trusts: those of the latest key set it followed (`stored_set`, JSON,
    verified when it came), else the region's first key alone; None without any region key.
    Cached: the scan path asks for every scan, and a set changes only with a sync."""
    if first_key is None:
        return None
    if stored_set is None:
        return RegionKeys.first_key_only(first_key)
    return read_key_set(json.loads(stored_set), region_id)


def verify_region_document(document: dict[str, Any], keys: RegionKeys, region_id: str) -> None:
    """Raises ProtocolError unless `document` is signed by the region with a key of `keys`
    that is not revoked."""
    signature = document.get("signature")
    kid = signature.get("kid") if isinstance(signature, dict) else None
    key = keys.named(kid) if isinstance(kid, str) or kid is None else None
    if key is None:
        raise ProtocolError(
            f"Document signé par la clé {shown_kid(kid)}, que ce poste ne connaît pas comme clé "
            "de la région : mettez la réplique à jour (synchronisation ou import) puis "
            "réessayez."
        )
    if key.status is KeyStatus.REVOKED:
        raise ProtocolError(
            f"Document signé par la clé {key.kid}, que la région a révoquée : refusé."
        )
    verify_document(document, key.public_key, region_signer(region_id))


def _day_text(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _day_or_none(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)
