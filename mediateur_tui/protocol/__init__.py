"""The open sync protocol between a site and its region (docs/protocol.md, schema/).

Pure and shared by both sides, so that they can never disagree: document formats and their
limits, canonical bytes and signatures, JSON and gzip loading, instants, ids and their
patterns, and the region's verdicts with their French labels. It imports only the standard
library, `cryptography` and `mediateur_tui.domain`.
"""
