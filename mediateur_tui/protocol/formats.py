"""The names of the protocol's documents (their `format` field), change kinds and limits."""

from __future__ import annotations

PROTOCOL_VERSION = 1
REPLICA_PAGE = "pn-replica-page/1"
REPLICA_SNAPSHOT = "pn-replica-snapshot/1"
BATCH = "pn-batch/1"
ACK = "pn-ack/1"
ENROLMENT_REQUEST = "pn-enrolment-request/1"
ENROLMENT = "pn-enrolment/1"
ATTRIBUTIONS = "pn-attributions/1"
ATTRIBUTION_ANSWER = "pn-attribution-answer/1"
BENEFICIARY_KEY = "pn-beneficiary-key/1"

# Change kinds in replica pages and snapshots (field "t").
CHANGE_PROGRAMME = "programme"
CHANGE_SITE = "site"
CHANGE_CARNET = "carnet"
CHANGE_ATTRIBUTION = "attribution"
CHANGE_REVOCATION = "revocation"
CHANGE_USED = "used"

MAX_ATTRIBUTIONS_PER_DOCUMENT = 1_000  # a site with more sends several pn-attributions/1
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024  # after decompression: a 1,000,000-pass snapshot fits
