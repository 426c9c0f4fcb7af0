"""Errors that carry a one-line message fit for the terminal; the CLI prints them and exits non-zero."""

from __future__ import annotations


class AdaemError(Exception):
    """Base of errors that carry a one-line message fit for the terminal."""


class ConfigError(AdaemError):
    """A bad name, key, path or setting: the user must change something."""


class ModelCallError(AdaemError):
    """A call failed for good (after retries, or with an error retrying cannot fix)."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class BudgetReached(ModelCallError):
    """A spending cap of the run was reached: the call was not made; a --resume with a higher cap goes on."""


class TransientError(ModelCallError):
    """A failure that may pass: rate limit, 5xx, timeout, dropped connection, truncated body."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None):
        super().__init__(message, retryable=True, status=status)
        self.retry_after = retry_after


class OutputParseError(AdaemError):
    """A model answer that does not have the form asked for. Recorded as such, never guessed."""
