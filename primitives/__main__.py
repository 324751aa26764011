"""`python -m corridor` runs the `corridor` command."""

from corridor.cli.main import main

main()
