"""`python -m storyboard` runs the command line."""

import sys

from storyboard.cli.main import main

sys.exit(main())
