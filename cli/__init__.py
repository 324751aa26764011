"""The `corridor` command-line interface."""
