"""The service layer between the screens (or the command line) and the store."""
