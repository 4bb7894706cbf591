"""The terminal application: the app, one screen per file, widgets, typed context, messages."""
