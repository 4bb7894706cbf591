"""mediateur-tui: take pass numériques at a digital-mediation site, offline."""

__version__ = "0.1.0"
