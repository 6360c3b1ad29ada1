"""A step forked by a warm helper, as the executor sees it: not our child, so its exit
code comes over the step's connection, and a kept step can take one more command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path


class WarmProcess:
    def __init__(self, conn: socket.socket, pid: int, out_r: int, err_r: int,
                 helper_pid: int, note: str):
        self.pid = pid
        self.note: str | None = note
        self.lost: str | None = None
        # Its dbt returned and the process waits for a follow-up (started with keep=True).
        self.kept = False
        self._conn: socket.socket | None = conn
        self._out, self._err = out_r, err_r
        self._helper_pid = helper_pid
        self._code: int | None = None
        self._done = threading.Event()
        threading.Thread(target=self._watch, name=f"warm-{pid}", daemon=True).start()

    def _watch(self) -> None:
        try:
            data = self._conn.recv(4096)
        except OSError:
            data = b""
        message = json.loads(data) if data else {}
        if "done" in message:
            self.kept = True  # the connection stays open for the follow-up
            code = message["done"]
        else:
            self._conn.close()
            code = message.get("exit")
        if code is None:
            # The helper died with the step still running; its output pipes would stay
            # open forever, and nobody would ever learn its exit code.
            self.lost = (f"the warm dbt helper (pid {self._helper_pid}) died during this "
                         "step; the step was killed")
            self.signal_group(signal.SIGKILL)
            code = -signal.SIGKILL
        self._code = code
        self._done.set()

    def follow(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]
               ) -> WarmProcess | None:
        """`argv` run in this step's process, with the manifest its dbt already loaded;
        None when the process is not waiting for one (not kept, or gone)."""
        if not self.kept:
            return None
        self.kept = False
        conn, self._conn = self._conn, None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            request = json.dumps({"args": list(argv[1:]), "cwd": str(cwd), "env": dict(env)})
            socket.send_fds(conn, [request.encode()], [out_w, err_w])
        except OSError:
            conn.close()
            os.close(out_r)
            os.close(err_r)
            return None
        finally:
            os.close(out_w)
            os.close(err_w)
        return WarmProcess(conn, self.pid, out_r, err_r, self._helper_pid,
                           f"warm start: the process of the step before (pid {self.pid}), "
                           "with the project it already loaded")

    def release(self) -> None:
        """Let a kept process exit without a follow-up."""
        if self.kept:
            self.kept = False
            self._conn.close()

    def stdout_fd(self) -> int:
        return self._out

    def stderr_fd(self) -> int:
        return self._err

    def poll(self) -> int | None:
        return self._code

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"warm step {self.pid}", timeout or 0)
        for fd in (self._out, self._err):
            try:
                os.close(fd)
            except OSError:
                pass
        self._out = self._err = -1
        return self._code

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass  # already gone, or not yet its own group (a repeat signal follows)
