"""Pure rules of the pass numérique: no UI, no SQL, no network."""
