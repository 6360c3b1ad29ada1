"""Errors meant for users: a plain message that says what and where, never a traceback."""

from __future__ import annotations

import errno
import sqlite3


class UserError(Exception):
    """Something the user asked for cannot be done as asked; the message says why."""


class NotFound(UserError):
    """A job or run named by the user does not exist."""


class ValidationError(UserError):
    """One or more fields of a job are invalid. Each problem names the job and the field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class ConflictError(UserError):
    """Someone else changed the thing being saved since it was read."""


def no_space(exc: BaseException) -> bool:
    """Whether `exc` says a disk (or the user's quota) is full: an OSError's ENOSPC or
    EDQUOT, or SQLite's SQLITE_FULL ('database or disk is full'), which has no errno."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(exc, sqlite3.DatabaseError) and "disk is full" in str(exc)


def no_space_words(where: object) -> str:
    return (f"no space left on the device holding {where}: free some space "
            "(dbt-console prune removes old runs and their logs)")


def failed_words(exc: BaseException, where: object) -> str:
    """A run's reason when dbt-console itself failed under it."""
    return no_space_words(where) if no_space(exc) else f"dbt-console failed: {exc!r}"
