"""The reference region hub (`mediateur-hub`): the region side of the sync protocol.

It publishes the registry of passes (replica pages and snapshots), enrols sites, receives
their monthly batches and reconciles them across sites, and decides the attributions of
carnets sent by distributor sites against the region-wide caps (docs/protocol.md). It has its own
tables (`hub.models`) and never imports the site's store or user interface.
"""
