"""Subcommands of the ``backlinkbot`` command, one module each."""
