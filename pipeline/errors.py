"""Errors a user can fix by changing how the pipeline is called."""


class UsageError(Exception):
    """A mistake in the command line or its inputs: reported in one line, exit code 2."""
