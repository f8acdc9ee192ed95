"""The ``minicoil`` command line: thin commands over the library (``minicoil --help``).

Only the console script and tests import this package; no library module does.
"""

from minicoil.cli.app import app, main

__all__ = ["app", "main"]
