"""The site side of the open sync protocol: payloads, replica updates, batches, hub client."""
