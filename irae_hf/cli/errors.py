"""The one way a command refuses: a UsageError, printed by ``main()`` as one line with exit code 2."""

__all__ = ["UsageError"]


class UsageError(Exception):
    """A request that cannot be carried out as given (a flag, a file, a model): said in one line, before any work."""
