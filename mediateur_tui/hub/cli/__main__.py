"""`python -m mediateur_tui.hub.cli`, where the `mediateur-hub` script is not installed."""

import sys

from mediateur_tui.hub.cli import main

sys.exit(main())
