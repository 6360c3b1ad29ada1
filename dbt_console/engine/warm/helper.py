"""The warm dbt helper: a process that has already imported dbt and forks a child per step.

Every dbt process spends about two seconds importing dbt and its adapter before it reads a
file. This helper pays that once: it imports dbt and every installed adapter, runs dbt
once per adapter on a throwaway project (a real build on DuckDB, a compile against a
profile that points nowhere on the others, which need a server to build), so the modules a
build touches are loaded (warmup.py), releases what that held, and then waits on a Unix
socket. For each step the engine sends the argv, working directory, environment and the
step's stdout/stderr file descriptors; the helper forks a child that becomes the step,
calls dbt's programmatic entry point and exits with the code the `dbt` command would have.
The child's pid goes back at once and its exit code when it ends.

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
attached (SCM_RIGHTS); the helper answers `{"pid": N}` then `{"exit": CODE}`, one JSON line
each, or `{"error": "..."}`. On start it prints one JSON line on stdout: `{"ready": ...}` or
`{"error": ...}`. It exits when its stdin (a pipe from the engine) closes.
"""

from __future__ import annotations

import io
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from warmup import warm_up  # a sibling: this runs as a script, see warmup.py

# The request is small: argv, cwd and an environment. A larger one is refused.
MAX_REQUEST = 4 * 1024 * 1024
def say(**message) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def exit_code(result) -> int:
    """The `dbt` command's exit code for a dbtRunnerResult: 0 success, 1 a node failed,
    2 dbt itself failed (as dbt.cli.main's click wrappers map ResultExit/ExceptionExit)."""
    if result.success:
        return 0
    return 1 if result.exception is None else 2


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


def _release_semaphores() -> None:
    """What a `dbt` process does at exit that os._exit skips: multiprocessing's
    finalizers, which unlink the named semaphores dbt's locks made. Skipped, each step
    leaked two, and the resource tracker said so in the run's log."""
    try:
        from multiprocessing import util

        util._exit_function()  # what multiprocessing registers with atexit
    except Exception:  # noqa: BLE001 - a child must reach os._exit whatever happens
        pass


def _forget_warm_up_state() -> None:
    """dbt caches the DBT_ENV_CUSTOM_ENV_* variables it puts in artifacts' metadata.env
    when first asked; the warm-up asked with the helper's environment, not the step's."""
    try:
        from dbt_common.events.functions import reset_metadata_vars
    except ImportError:  # a dbt_common without the cache
        return
    reset_metadata_vars()


def run_child(request: dict, out_fd: int, err_fd: int, keep_closed: list[int]) -> None:
    """In the forked child: become the step, run dbt, exit with its code. Never returns."""
    code = 2
    try:
        os.setsid()  # its own process group: the engine signals the group to cancel
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        for fd in keep_closed:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (devnull, out_fd, err_fd):
            os.close(fd)
        # Line by line, as an unbuffered `dbt` would write them: the engine shows them live.
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", line_buffering=True)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["dbt", *request["args"]]
        _forget_warm_up_state()
        from dbt.cli.main import dbtRunner

        code = exit_code(dbtRunner().invoke(list(request["args"])))
    except BaseException as exc:  # noqa: BLE001 - the child must always exit, never return
        try:
            sys.stderr.write(f"dbt-console warm helper: {exc!r}\n")
        except Exception:  # noqa: BLE001
            pass
    finally:
        try:
            _release_semaphores()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


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
        keep_closed = [self.sock.fileno(), self.wake_r, self.wake_w, conn.fileno(),
                       *(c.fileno() for c in self.children.values())]
        pid = os.fork()
        if pid == 0:
            run_child(request, fds[0], fds[1], keep_closed)
        for fd in fds:
            os.close(fd)
        self.children[pid] = conn
        self.answer(conn, pid=pid)

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
