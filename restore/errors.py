"""The one exception type the CLI turns into a one-line error and a non-zero exit."""


class RestoreError(Exception):
    """A user-facing error: bad input, missing model, unreadable file."""
