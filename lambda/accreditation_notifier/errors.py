"""The errors both functions of the Lambda zip surface; Step Functions and the logs see their class names.

The run report imports them from here: its package ships in the same zip and already reads the notifier's
file contract from this package. What each function could not find or read keeps a name of its own
(ResultsNotFoundError, ReportInputNotFoundError, ...), subclassing the shared kinds.
"""

from __future__ import annotations


class InvocationError(Exception):
    """A failure the invocation must surface (Step Functions catches it by name)."""


class InvalidEventError(InvocationError, ValueError):
    """The event does not match the function's contract."""


class ConfigurationError(InvocationError):
    """A setting the function reads from its environment is missing or invalid."""


class InputNotFoundError(InvocationError):
    """An object the function must read does not exist."""


class MalformedInputError(InvocationError):
    """An object the function reads does not have the expected header, shape or values."""
