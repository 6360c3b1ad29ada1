"""Serving the actions on a Unix socket in the data directory. Who is calling comes from
the kernel (SO_PEERCRED), never from what they send; each connection gets its own
Context, so roles, the audit log and `data_version` work as for a local process."""

from __future__ import annotations

import logging
import os
import socket
import socketserver
import struct
import threading
from pathlib import Path

from dbt_console import access, errors
from dbt_console.access import unix_name
from dbt_console.actions import Actor, Context, messages
from dbt_console.actions.guard import find
from dbt_console.actions.remote import socket_path
from dbt_console.config import Paths

log = logging.getLogger(__name__)
VIA = ("cli", "dashboard")
MAX_LINE = 1 << 24


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        uid = peer_uid(self.request)
        actor = Actor(unix_name(uid), "user", "cli", uid)
        with Context(self.server.paths, actor) as ctx:
            for line in self.rfile:
                if len(line) > MAX_LINE:
                    return
                try:
                    request = messages.request(line)
                except messages.BadMessage as exc:
                    answer: messages.Done | messages.Failed = messages.Failed(
                        "UserError", str(exc))
                else:
                    if isinstance(request, messages.Hello):  # where: cli or dashboard
                        via = request.via if request.via in VIA else "cli"
                        ctx.actor = Actor(actor.name, "user", via, uid)
                        answer = messages.Done(None)
                    else:
                        answer = self.server.answer(ctx, request)
                self.wfile.write(messages.dump(answer))
                self.wfile.flush()


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, paths: Paths):
        self.paths = paths
        super().__init__(path, _Handler)

    def answer(self, ctx: Context, call: messages.Call) -> messages.Done | messages.Failed:
        action = find(call.name)
        if action is None:
            return messages.Failed("UserError", f"no action {call.name!r}")
        try:
            return messages.Done(action(ctx, *call.args, **call.kwargs))
        except errors.ValidationError as exc:
            return messages.Failed("ValidationError", str(exc), tuple(exc.problems))
        except (access.Forbidden, errors.NotFound, errors.ConflictError) as exc:
            return messages.Failed(type(exc).__name__, str(exc))
        except errors.UserError as exc:
            return messages.Failed("UserError", str(exc))
        except (TypeError, ValueError) as exc:
            return messages.Failed("UserError", f"bad call: {exc}")
        except Exception:
            log.exception("socket call %s", call.name)
            return messages.Failed("UserError", "the engine failed on this call; its log "
                                                "has the details")


class Gateway:
    """The socket, served on a thread while the engine runs."""

    def __init__(self, paths: Paths):
        messages.allow_wire_types()  # every action, and the types they take and answer
        path = socket_path(paths)
        if os.path.exists(path):
            os.unlink(path)  # left by an engine that died; the lease says we own the store
        self.server = _Server(path, paths)
        # The data directory's group may connect (teammates); nobody else.
        os.chmod(path, 0o660)
        group = Path(paths.data_dir).stat().st_gid
        if group != os.getgid():
            try:
                os.chown(path, -1, group)
            except PermissionError:  # not one of our groups: teammates could not connect
                self.server.server_close()
                os.unlink(path)
                raise errors.UserError(
                    f"cannot give the engine's socket {path} the group of {paths.data_dir} "
                    f"({_group_name(group)}), so teammates could not reach the engine: add "
                    f"this user to it (usermod -aG {_group_name(group)} "
                    f"{unix_name(os.getuid())}), or give the directory one of this user's groups"
                ) from None
        self.path = path
        self._thread = threading.Thread(target=self.server.serve_forever, name="gateway",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)

