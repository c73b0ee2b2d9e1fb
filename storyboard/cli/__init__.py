"""The ``storyboard`` command line: argv in, text and exit codes out; one module per command.

Owns the parser, printing and exit codes: only this package prints, reads argv and the environment, and decides exit codes. Nothing
imports it (but ``storyboard.__main__``); it may import every other package. Heavy packages
(assembly with MoviePy, the emulator) are imported inside the commands that need them.
"""

from storyboard.cli.main import main

__all__ = ["main"]
