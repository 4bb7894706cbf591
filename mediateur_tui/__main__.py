import sys

from mediateur_tui.cli import main

sys.exit(main())
