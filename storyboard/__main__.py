"""`python -m storyboard` runs the command line."""

import sys

from storyboard.cli import main

sys.exit(main())
