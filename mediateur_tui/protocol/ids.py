"""The patterns of the protocol's ids and values, as in schema/common.schema.json."""

from __future__ import annotations

import re

from mediateur_tui.domain.periods import PERIOD as PERIOD  # a month, YYYY-MM a domain rule

IDENTIFIER = re.compile(r"[A-Z0-9-]+")  # a region, a site
RANDOM_ID = re.compile(r"[0-9a-f]{32}")  # batch, redemption and attribution ids (uuid4().hex)
PASS_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{13}")  # normalised: no dashes, upper case
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def matches(pattern: re.Pattern[str], value: object) -> bool:
    """Whether `value` is a string that the whole pattern matches."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None
