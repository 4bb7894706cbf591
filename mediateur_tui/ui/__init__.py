"""The terminal application: the app, one screen per file, widgets, the typed context and messages."""
