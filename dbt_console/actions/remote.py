"""A teammate's way to the actions: over the engine's Unix socket, when the store is not
theirs to open. The engine knows who they are from the kernel (SO_PEERCRED), checks
their role and carries the action out; this side only sends the call and reads the
answer (plain.py), so every front end works the same over it."""

from __future__ import annotations

import socket
import threading
from typing import Any

from dbt_console import access, errors
from dbt_console.actions import messages
from dbt_console.config import Paths

# An answer's error kind -> what is raised here, so a refusal reads the same either way.
ERRORS = {"Forbidden": access.Forbidden, "NotFound": errors.NotFound,
          "ConflictError": errors.ConflictError, "UserError": errors.UserError}


def socket_path(paths: Paths) -> str:
    return str(paths.data_dir / "engine.sock")


class RemoteContext:
    """Looks like a Context to the front ends; every action call goes to the engine."""

    def __init__(self, paths: Paths, actor, via: str):
        self.paths = paths
        self.actor = actor  # who we are locally (the engine decides for itself)
        self.via = via
        self.remote = self
        messages.allow_wire_types()
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(socket_path(paths))
        except OSError as exc:
            self._sock.close()
            raise errors.UserError(
                f"cannot reach the engine at {socket_path(paths)}: {exc.strerror or exc} "
                "(is dbt-console serve running?)") from None
        self._file = self._sock.makefile("rwb")
        self._send(messages.Hello(via))

    def _send(self, message: messages.Hello | messages.Call) -> messages.Done | messages.Failed:
        self._file.write(messages.dump(message))
        self._file.flush()
        line = self._file.readline()
        if not line:
            raise errors.UserError("the engine closed the connection (it stopped?)")
        try:
            return messages.answer(line)
        except messages.BadMessage as exc:
            raise errors.UserError(f"the engine answered what this version cannot read "
                                   f"({exc}): are both the same dbt-console?") from None

    def call(self, name: str, args: tuple, kwargs: dict) -> Any:
        with self._lock:  # one call at a time on this connection
            answer = self._send(messages.Call(name, args, kwargs))
        if isinstance(answer, messages.Failed):
            if answer.kind == "ValidationError":
                raise errors.ValidationError(list(answer.problems))
            raise ERRORS.get(answer.kind, errors.UserError)(answer.message)
        return answer.value

    def role(self, job: str | None = None) -> str | None:
        from dbt_console.actions import team

        return team.whoami(self).role

    def fork(self) -> RemoteContext:
        return RemoteContext(self.paths, self.actor, self.via)

    def close(self) -> None:
        try:
            self._file.close()
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> RemoteContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
