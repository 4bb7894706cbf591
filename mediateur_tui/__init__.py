"""mediateur-tui: take pass numériques at a digital-mediation site, offline."""

import logging

__version__ = "0.1.0"

# Where no log file is set up yet, log records go nowhere: never to the terminal, which
# either program speaks on in French (Python would print warnings there otherwise).
logging.getLogger(__name__).addHandler(logging.NullHandler())
