"""A site's identity in the national data schema of lieux de médiation numérique: its
`pivot` (the structure's SIRET, or its RNA number for an association without one), the INSEE
code of its commune and its postcode; and the rules of these codes, which the activity's
communes (domain/activity.py) follow too.

A SIRET is 14 digits whose Luhn checksum holds, and so does the one of its SIREN (its first
nine digits); La Poste's establishments (SIREN 356000000) are the exception: the sum of their
digits is a multiple of 5 (but for the head office, 35600000000048, whose Luhn holds). An RNA
number is `W` and nine characters (digits, or capital letters in the prefecture's code, e.g.
W2A…, W9M…). An INSEE commune code is the département (two digits, 2A or 2B in Corsica, 97x or
98x overseas) and the commune's number: five characters. A postcode is five digits; in Corsica
it starts with 20.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

from mediateur_tui.domain.errors import UserError

LA_POSTE_SIREN = "356000000"
LA_POSTE_HEAD_OFFICE = "35600000000048"
_SIRET = re.compile(r"[0-9]{14}")
_RNA = re.compile(r"W[0-9A-Z]{9}")
_INSEE = re.compile(r"(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5])[0-9]{3}|9[78][0-9]{3}")
_POSTCODE = re.compile(r"(0[1-9]|[1-8][0-9]|9[0-8])[0-9]{3}")
_OVERSEAS = ("97", "98")
_CORSICA = ("2A", "2B")

INSEE_EXPECTED = (
    "5 caractères : le département (2 chiffres, 2A ou 2B en Corse, 97x ou 98x outre-mer) "
    "puis le numéro de la commune, par ex. 59036"
)
POSTCODE_EXPECTED = "5 chiffres, par ex. 59440"


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum (every second digit from the
    right doubled)."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def siret_valid(siret: str) -> bool:
    """Whether `siret` (14 digits, no spaces) is a valid SIRET."""
    if not _SIRET.fullmatch(siret):
        return False
    if siret.startswith(LA_POSTE_SIREN) and siret != LA_POSTE_HEAD_OFFICE:
        return sum(int(character) for character in siret) % 5 == 0
    return luhn_valid(siret[:9]) and luhn_valid(siret)


def parse_siret(text: str) -> str:
    """A SIRET as typed (spaces allowed), checked; its 14 digits."""
    siret = _without_spaces(text)
    if not _SIRET.fullmatch(siret):
        raise UserError(
            f"SIRET invalide « {text.strip()} » : 14 chiffres attendus (le SIREN à 9 chiffres "
            "puis le NIC à 5 chiffres de l'établissement)."
        )
    if not siret_valid(siret):
        raise UserError(
            f"SIRET invalide « {text.strip()} » : sa clé de contrôle ne correspond pas, un "
            "chiffre est faux ; recopiez-le depuis l'avis de situation SIRENE ou "
            "annuaire-entreprises.data.gouv.fr."
        )
    return siret


def parse_rna(text: str) -> str:
    """An RNA number as typed (spaces allowed, any case), checked; `W` and nine characters."""
    rna = _without_spaces(text).upper()
    if not _RNA.fullmatch(rna):
        raise UserError(
            f"Numéro RNA invalide « {text.strip()} » : W suivi de 9 caractères (chiffres, ou "
            "lettres dans le code de la préfecture), par ex. W595001234."
        )
    return rna


def is_code_insee(text: str) -> bool:
    """Whether `text` (upper case) is an INSEE commune code."""
    return _INSEE.fullmatch(text) is not None


def is_code_postal(text: str) -> bool:
    return _POSTCODE.fullmatch(text) is not None


def parse_code_insee(text: str) -> str:
    code = text.strip().upper()
    if not is_code_insee(code):
        raise UserError(f"Code INSEE invalide « {text.strip()} » : {INSEE_EXPECTED}.")
    return code


def parse_code_postal(text: str) -> str:
    code = text.strip()
    if not is_code_postal(code):
        raise UserError(f"Code postal invalide « {code} » : {POSTCODE_EXPECTED}.")
    return code


def insee_departement(code_insee: str) -> str:
    """The département of an INSEE commune code: 59, 2A, 974."""
    return code_insee[:3] if code_insee[:2] in _OVERSEAS else code_insee[:2]


def postcode_departements(code_postal: str) -> tuple[str, ...]:
    """The départements a postcode may belong to: (59,), (2A, 2B) for 20xxx, (974,)."""
    start = code_postal[:2]
    if start in _OVERSEAS:
        return (code_postal[:3],)
    return _CORSICA if start == "20" else (start,)


@dataclass(frozen=True)
class SiteIdentity:
    """A site as the national schema names it: `pivot` is its SIRET or its RNA number."""

    pivot: str
    code_insee: str
    code_postal: str

    @property
    def pivot_kind(self) -> str:
        """`SIRET` or `RNA`."""
        return "RNA" if self.pivot.startswith("W") else "SIRET"

    @property
    def siret(self) -> str:
        return self.pivot if self.pivot_kind == "SIRET" else ""

    @property
    def rna(self) -> str:
        return self.pivot if self.pivot_kind == "RNA" else ""

    def pivot_label(self) -> str:
        """`SIRET 123 456 789 00012` or `RNA W595001234`."""
        if self.pivot_kind == "RNA":
            return f"RNA {self.pivot}"
        siren, nic = self.pivot[:9], self.pivot[9:]
        return f"SIRET {siren[:3]} {siren[3:6]} {siren[6:]} {nic}"

    def line(self) -> str:
        """One line for slips and statements: `SIRET … · code INSEE 59036 · code postal …`."""
        return (
            f"{self.pivot_label()} · code INSEE {self.code_insee} · code postal {self.code_postal}"
        )

    def printed(self) -> str:
        """The line with its label, as reportlab Paragraph markup (escaped) on every PDF."""
        return f"<b>Identité :</b> {html.escape(self.line(), quote=False)}"

    def departement_warning(self) -> str | None:
        """A French warning when the postcode and the INSEE code are of two départements
        (a few communes have their post office's postcode, of the next département)."""
        departement = insee_departement(self.code_insee)
        if departement in postcode_departements(self.code_postal):
            return None
        return (
            f"Attention : le code postal {self.code_postal} et le code INSEE {self.code_insee} "
            f"(département {departement}) ne sont pas du même département ; vérifiez-les "
            "(quelques communes ont le code postal d'un département voisin)."
        )


def parse_identity(
    siret: str | None, rna: str | None, code_insee: str | None, code_postal: str | None
) -> SiteIdentity:
    """The identity given by its parts (a SIRET or an RNA number, not both), each checked."""
    if siret and rna:
        raise UserError("Donnez le SIRET ou le numéro RNA du site, pas les deux.")
    if not siret and not rna:
        raise UserError(
            "SIRET (ou numéro RNA pour une association sans SIRET) du site manquant : "
            "--siret 14_CHIFFRES ou --rna W123456789."
        )
    if not code_insee or not code_postal:
        raise UserError(
            "Le code INSEE et le code postal de la commune du site vont avec son SIRET ou son "
            "RNA : --code-insee CODE --code-postal CODE."
        )
    pivot = parse_siret(siret) if siret else parse_rna(rna or "")
    return SiteIdentity(pivot, parse_code_insee(code_insee), parse_code_postal(code_postal))


def identity_fields(identity: SiteIdentity | None) -> dict[str, str]:
    """The identity as the replica's `site` change carries it (nothing without one)."""
    if identity is None:
        return {}
    return {
        "pivot": identity.pivot,
        "code_insee": identity.code_insee,
        "code_postal": identity.code_postal,
    }


def identity_of(fields: Mapping[str, object]) -> SiteIdentity | None:
    """The identity of stored or received fields; None unless all three are there."""
    values = [fields.get(name) for name in ("pivot", "code_insee", "code_postal")]
    if not all(isinstance(value, str) and value for value in values):
        return None
    pivot, code_insee, code_postal = (str(value) for value in values)
    return SiteIdentity(pivot, code_insee, code_postal)


def _without_spaces(text: str) -> str:
    return "".join(text.split())
