"""Errors meant for users: a plain message that says what and where, never a traceback."""

from __future__ import annotations


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
