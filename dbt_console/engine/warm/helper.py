"""The warm dbt helper: a process that has already imported dbt and forks a child per step.

Every dbt process spends about two seconds importing dbt and its adapter before it reads a
file. This helper pays that once: it imports dbt and every installed adapter, runs dbt
once per adapter on a throwaway project (a real build on DuckDB, a compile against a
profile that points nowhere on the others, which need a server to build), so the modules a
build touches are loaded (warmup.py), releases what that held, and then waits on a Unix
socket. For each step the engine sends the argv, working directory, environment and the
step's stdout/stderr file descriptors; the helper forks a child that becomes the step
(child.py), calls dbt's programmatic entry point and exits with the code the `dbt` command
would have. The child sends its pid at once; the helper sends its exit code when it ends.

It runs under the interpreter that owns a job's dbt, which need not have dbt-console
installed: standard library only, started as a script. Single-threaded by design: forking
a process that has other threads can leave the child holding a lock nobody will release,
so the helper refuses to serve (and says why) when the warm-up left a thread behind.

`--macros DIR` adds the .sql files in DIR to the throwaway project (dbt-console's own
macros: CI's compare changes and cleanup), so their templates are compiled before the first
fork instead of in each step that calls them (about 50 ms a compare step).

`helper.py SOCKET --imports-only` skips the throwaway build: ready in about 2 s instead of
5, steps then take about 0.55x of a cold start instead of 0.3x.

Protocol: one connection per step. The engine sends one JSON object with the two fds
attached (SCM_RIGHTS); the child answers `{"pid": N}` and the helper `{"exit": CODE}`, one
JSON line each, or the helper `{"error": "..."}`. A kept step (child.py) answers
`{"done": CODE}` in between and takes one more request on the same connection. On start
the helper prints one JSON line on stdout: `{"ready": ...}` or `{"error": ...}`. It exits
when its stdin (a pipe from the engine) closes.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from child import MAX_REQUEST, run_child  # siblings: this runs as a script, see warmup.py
from warmup import warm_up


def say(**message) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def installed_adapters() -> list[str]:
    """Adapter plugins installed beside dbt-core: each ships its macros in dbt/include/."""
    import dbt.include

    skip = {"global_project", "starter_project"}
    names = set()
    for base in dbt.include.__path__:
        for entry in Path(base).iterdir():
            if entry.is_dir() and entry.name not in skip and not entry.name.startswith("_"):
                names.add(entry.name)
    return sorted(names)


def thread_count() -> int:
    """Threads of this process, native ones included: Python's threading module does not
    see threads a C or Rust extension started, and those are what a fork would strand."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def watched_paths() -> list[str]:
    """Paths whose change means the dbt installation changed: the site-packages directories
    holding dbt (an install or upgrade adds and removes dist-info entries there) and the
    dbt package directories themselves."""
    import dbt
    import dbt.adapters

    paths = set()
    for pkg in (*dbt.__path__, *dbt.adapters.__path__):
        paths.add(str(Path(pkg)))
        paths.add(str(Path(pkg).parent))
    return sorted(paths)








class Helper:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sel = selectors.DefaultSelector()
        self.children: dict[int, socket.socket] = {}
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wake the loop through the fd
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine stops us by closing stdin
        self.sel.register(sock, selectors.EVENT_READ, "accept")
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.sel.register(0, selectors.EVENT_READ, "stdin")

    def serve(self) -> None:
        while True:
            for key, _ in self.sel.select():
                if key.data == "accept":
                    conn, _ = self.sock.accept()
                    self.start_step(conn)
                elif key.data == "wake":
                    try:
                        while os.read(self.wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                elif key.data == "stdin":
                    if not os.read(0, 512):
                        self.stop_children()
                        return
            self.reap()

    def stop_children(self, grace: float = 5.0) -> None:
        """The engine is gone (our stdin closed, also when it was killed): the steps it
        started must not run on with nobody reading them. SIGINT first, so dbt cancels
        its warehouse queries; what is still there after `grace` seconds is killed."""
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 0.0)):
            for pid in self.children:
                try:
                    os.killpg(pid, sig)  # each child leads its own process group
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + wait
            while self.children and time.monotonic() < deadline:
                self.reap()
                time.sleep(0.05)
            self.reap()

    def start_step(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        fds: list[int] = []
        try:
            data, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 2)
            request = json.loads(data)
            if len(fds) != 2:
                raise ValueError(f"expected 2 file descriptors, got {len(fds)}")
            if thread_count() != 1:
                raise RuntimeError("the helper has other threads; it cannot fork safely")
        except (OSError, ValueError) as exc:
            self.answer(conn, error=f"bad request: {exc}")
            conn.close()
            for fd in fds:
                os.close(fd)
            return
        except RuntimeError as exc:
            self.answer(conn, error=str(exc))
            conn.close()
            for fd in fds:
                os.close(fd)
            return
        keep_closed = [self.sock.fileno(), self.wake_r, self.wake_w,
                       *(c.fileno() for c in self.children.values())]
        pid = os.fork()
        if pid == 0:
            run_child(request, fds[0], fds[1], conn, keep_closed)  # it sends its pid
        for fd in fds:
            os.close(fd)
        self.children[pid] = conn

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is not None:
                self.answer(conn, exit=os.waitstatus_to_exitcode(status))
                conn.close()

    @staticmethod
    def answer(conn: socket.socket, **message) -> None:
        try:
            conn.send((json.dumps(message) + "\n").encode())
        except OSError:
            pass  # the engine hung up; the child still runs to its end and is reaped


def main() -> int:
    socket_path = sys.argv[1]
    build = "--imports-only" not in sys.argv[2:]
    macros = sys.argv[sys.argv.index("--macros") + 1] if "--macros" in sys.argv[2:-1] else None
    try:
        import dbt.version
        from dbt.cli.main import dbtRunner  # noqa: F401 - the entry point this needs
    except Exception as exc:  # noqa: BLE001 - any import failure means: not here
        say(error=f"dbt cannot be imported by {sys.executable}: {exc}")
        return 3
    try:
        warmed = warm_up(installed_adapters(), build, macros)
    except Exception as exc:  # noqa: BLE001 - report it; the engine falls back
        say(error=f"warm-up failed in {sys.executable}: {exc!r}")
        return 3
    if thread_count() != 1:
        say(error=f"the warm-up left {thread_count() - 1} other threads running; "
                  "forking is not safe")
        return 3
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        os.unlink(socket_path)
    except FileNotFoundError:
        pass
    sock.bind(socket_path)
    os.chmod(socket_path, 0o600)  # steps carry a job's secrets in their environment
    sock.listen(64)
    say(ready=True, pid=os.getpid(), dbt_version=dbt.version.__version__, warmed=warmed,
        python=sys.executable, watch=watched_paths())
    try:
        Helper(sock).serve()
    finally:
        sock.close()
        try:
            os.unlink(socket_path)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
