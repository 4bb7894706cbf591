"""The names of the protocol's documents (their `format` field), change kinds and limits."""

from __future__ import annotations

PROTOCOL_VERSION = 1
REPLICA_PAGE = "pn-replica-page/1"
REPLICA_PAGE_COMPACT = "pn-replica-page/2"  # carnets' codes in one string (replica_pages.py)
REPLICA_SNAPSHOT = "pn-replica-snapshot/1"  # one signed document (export-replica --format 1)
REPLICA_SNAPSHOT_LINES = "pn-replica-snapshot/2"  # JSON Lines: a head, the changes, a seal
REPLICA_SEAL = "pn-replica-seal/1"  # the last line of a pn-replica-snapshot/2, signed
BATCH = "pn-batch/1"
ACK = "pn-ack/1"
ENROLMENT_REQUEST = "pn-enrolment-request/1"
ENROLMENT = "pn-enrolment/1"
ATTRIBUTIONS = "pn-attributions/1"
ATTRIBUTION_ANSWER = "pn-attribution-answer/1"
BENEFICIARY_KEY = "pn-beneficiary-key/1"
DECLARATION = "pn-declaration/1"
DECLARATION_ANSWER = "pn-declaration-answer/1"
SITE_RECOVERY = "pn-site-recovery/1"
KEY_SET = "pn-key-set/1"  # travels in enrolment answers, replica pages and snapshots

# Change kinds in replica pages and snapshots (field "t").
CHANGE_PROGRAMME = "programme"
CHANGE_SITE = "site"
CHANGE_CARNET = "carnet"
CHANGE_ATTRIBUTION = "attribution"
CHANGE_REVOCATION = "revocation"
CHANGE_USED = "used"
CHANGE_RELEASED = "released"  # a declared pass the region no longer counts (cancelled)
CHANGE_RULEBOOK = "rulebook"  # a rulebook version the region published, signed by the region

MAX_ATTRIBUTIONS_PER_DOCUMENT = 1_000  # a site with more sends several pn-attributions/1
MAX_DECLARATION_LINES = 10_000  # redemptions, and cancellations, per pn-declaration/1

# How deep arrays and objects may nest in any document (ours nest at most 9 deep): a reader
# refuses a deeper one before parsing it, as json.loads would recurse into every level.
MAX_DOCUMENT_DEPTH = 32

KIB = 1024
MIB = 1024 * KIB

# The most bytes a document of each format may hold, once decompressed; a hub reads no more
# of a request body than its document's cap either. Each cap is far above the largest real
# document, and small where a stranger may send one (the enrolment request is unauthenticated).
MAX_DOCUMENT_BYTES: dict[str, int] = {
    ENROLMENT_REQUEST: 4 * KIB,  # a token and a public key: about 150 bytes
    ENROLMENT: 1 * MIB,  # keys, names, a signature, and the key sets: 2 KiB + 300 B a key a set
    KEY_SET: 64 * KIB,  # about 300 bytes a key: 200 keys fit
    BENEFICIARY_KEY: 16 * KIB,  # under 1 KiB
    BATCH: 64 * MIB,  # the hub takes 200,000 redemption lines at most: about 45 MB
    ACK: 64 * MIB,  # one line per redemption line of the batch: about 40 MB for 200,000
    ATTRIBUTIONS: 16 * MIB,  # MAX_ATTRIBUTIONS_PER_DOCUMENT attributions: under 1 MB
    ATTRIBUTION_ANSWER: 16 * MIB,  # one result, with its French sentence, per attribution
    DECLARATION: 16 * MIB,  # MAX_DECLARATION_LINES lines and their sessions: about 4 MB
    DECLARATION_ANSWER: 16 * MIB,  # one line per redemption and cancellation declared
    SITE_RECOVERY: 512 * MIB,  # every batch of the site with its acknowledgement
    REPLICA_PAGE: 512 * MIB,  # at most 100,000 changes
    REPLICA_PAGE_COMPACT: 512 * MIB,
    REPLICA_SNAPSHOT: 512 * MIB,  # 34 bytes an attributed pass: 15M fit (a used one: 75 more)
    REPLICA_SNAPSHOT_LINES: 2048 * MIB,  # its lines: 34 bytes an attributed pass, 60M passes fit
    REPLICA_SEAL: 4 * KIB,  # a count, a digest and a signature: about 300 bytes
}

# The most bytes one line of a pn-replica-snapshot/2 may hold (the head with its key sets, a
# carnet with its codes, a published rulebook): the reader holds one line at a time.
MAX_SNAPSHOT_LINE_BYTES = 8 * MIB
