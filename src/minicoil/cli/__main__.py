"""``python -m minicoil.cli``: the same as the ``minicoil`` console script."""

from minicoil.cli.app import main

main()
