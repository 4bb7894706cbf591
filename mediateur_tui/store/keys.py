"""The site's secrets, kept in files of the data directory (never in the database).

`site_ed25519.key` holds the site's private key as unencrypted PKCS#8 PEM, readable by its owner
only (mode 0600). It is made at enrolment and signs every batch the site seals.

`beneficiary_hmac.key` holds the region's beneficiary key (32 raw bytes, mode 0600): the region
gives it to distributor sites in their enrolment answer, and they derive pseudonymous
beneficiary references with it (domain/beneficiaries.py). A site without it hands out no carnets.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from mediateur_tui.domain.beneficiaries import BENEFICIARY_KEY_BYTES
from mediateur_tui.domain.errors import UserError
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.files import keep_private, write_file
from mediateur_tui.protocol.signing import decode_key

SITE_KEY_FILENAME = "site_ed25519.key"
BENEFICIARY_KEY_FILENAME = "beneficiary_hmac.key"
log = logging.getLogger(__name__)


def site_key_path(data_dir: Path) -> Path:
    return data_dir / SITE_KEY_FILENAME


def load_or_create_site_key(data_dir: Path) -> Ed25519PrivateKey:
    """The site key; a new one is made (and written, mode 0600) when there is none yet."""
    path = site_key_path(data_dir)
    if path.exists():
        return load_site_key(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    # O_EXCL: two processes enrolling at once cannot overwrite each other's key.
    _write_new_private_file(path, pem)
    log.info("site key created in %s", path)
    return key


def replace_site_key(data_dir: Path, key: Ed25519PrivateKey) -> None:
    """Writes `key` in place of the site key, whole (a new laptop enrolled again: the key of
    the lost one must stop signing for the site)."""
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    write_file(site_key_path(data_dir), pem)
    log.info("site key replaced in %s", site_key_path(data_dir))


def load_site_key(data_dir: Path) -> Ed25519PrivateKey:
    path = site_key_path(data_dir)
    if not path.exists():
        raise UserError(
            f"Clé du lieu introuvable ({path}) : ce poste doit d'abord être inscrit auprès de "
            "la région (mediateur-tui enrol --hub ADRESSE --token JETON)."
        )
    if keep_private(path):
        log.warning("site key %s was readable by others: set to 0600", path)
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise UserError(f"Clé du lieu illisible ({path}).") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"La clé du lieu ({path}) n'est pas une clé Ed25519.")
    return key


def _write_new_private_file(path: Path, data: bytes) -> None:
    """Creates `path` (it must not exist), readable by its owner only, and syncs it to disk."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def write_beneficiary_key(data_dir: Path, key: bytes) -> Path:
    """Writes (or replaces, atomically) the region's beneficiary key, mode 0600."""
    if len(key) != BENEFICIARY_KEY_BYTES:
        raise UserError("Clé bénéficiaires de la région de longueur incorrecte.")
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / BENEFICIARY_KEY_FILENAME
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    _write_new_private_file(temporary, key)
    os.replace(temporary, path)
    return path


def load_beneficiary_key(data_dir: Path) -> bytes | None:
    """The region's beneficiary key, or None when this site was not given one."""
    path = data_dir / BENEFICIARY_KEY_FILENAME
    keep_private(path)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(key) != BENEFICIARY_KEY_BYTES:
        raise UserError(
            f"Clé bénéficiaires illisible ({path}) : inscrivez de nouveau le lieu auprès de la "
            "région pour la recevoir."
        )
    return key


def beneficiary_key_of(answer: dict[str, Any]) -> bytes | None:
    """The region's beneficiary key (base64, 32 bytes) in an enrolment answer or a
    pn-beneficiary-key/1, given to distributor sites only."""
    text = answer.get("beneficiary_key")
    if text is None:
        return None
    try:
        return decode_key(str(text))
    except ProtocolError as error:
        raise ProtocolError("Réponse de la région : clé bénéficiaires illisible.") from error
