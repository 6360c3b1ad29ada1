"""Warm starts: steps forked from a helper that has already imported dbt.

One helper per Python interpreter that owns a job's dbt (read from the `dbt` script's
`#!` line). A step whose helper is not ready yet, or cannot exist (dbt not importable
there, no programmatic entry point, a helper that will not start), runs as a plain
subprocess, and the Process it returns carries a note saying so for the run's log.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dbt_console import ci
from dbt_console.engine.launcher import Process, SubprocessLauncher
from dbt_console.engine.stepenv import base_env
from dbt_console.engine.warm.process import WarmProcess

HELPER_SCRIPT = Path(__file__).with_name("helper.py")
# A helper imports dbt and builds a throwaway project; on a busy machine that can take a
# while, and a helper that has not answered by then is taken as broken.
READY_TIMEOUT = 120.0


def interpreter_of(dbt_path: str) -> str | None:
    """The Python that runs a `dbt` entry-point script, from its `#!` line; None when it
    is not a Python script (a binary, a shell wrapper)."""
    try:
        with open(dbt_path, "rb") as f:
            first = f.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    parts = first[2:].decode(errors="replace").split()
    if not parts:
        return None
    if Path(parts[0]).name == "env" and len(parts) > 1:
        found = shutil.which(parts[1])
        parts = [found] if found else []
    if not parts or "python" not in Path(parts[0]).name:
        return None
    return parts[0] if os.access(parts[0], os.X_OK) else None


def fingerprint(paths: Sequence[str]) -> tuple:
    """Changes when an install or upgrade touches the dbt installation."""
    marks = []
    for path in paths:
        try:
            marks.append(os.stat(path).st_mtime_ns)
        except OSError:
            marks.append(None)
    return tuple(marks)


class HelperUnavailable(Exception):
    """The warm path cannot run this step; the message says why."""


@dataclass
class Helper:
    """One helper process and what it said when it became ready."""

    python: str
    socket_path: Path
    proc: subprocess.Popen
    state: str = "warming"  # warming | ready | failed
    detail: str = ""
    dbt_version: str = ""
    watch: list[str] = field(default_factory=list)
    marks: tuple = ()
    ready: threading.Event = field(default_factory=threading.Event)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stale(self) -> bool:
        return fingerprint(self.watch) != self.marks

    def stop(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()  # the helper exits when its stdin closes
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class WarmLauncher:
    """Starts steps from warm helpers; `on_change(helper)` hears of each helper's state."""

    def __init__(self, log_file: Path, on_change: Callable[[Helper], None] | None = None,
                 imports_only: bool = False, pass_env: tuple[str, ...] = ()):
        self.log_file = log_file  # the helpers' stderr: a warm-up's traceback lands here
        self.pass_env = pass_env
        # A helper that only imports is ready sooner and warms less: for a short-lived
        # launcher whose helper must be ready by a run's second step.
        self.imports_only = imports_only
        # Made on first use and removed on close. A short path of its own: a Unix socket's
        # path must fit in 108 bytes, which a deep data directory need not.
        self.socket_dir: Path | None = None
        self.cold = SubprocessLauncher()
        self.on_change = on_change or (lambda helper: None)
        self._helpers: dict[str, Helper] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._spawned = 0

    # --- the Launcher interface --------------------------------------------------------

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str],
              keep: bool = False) -> Process:
        try:
            return self._start_warm(argv, cwd, env, keep)
        except HelperUnavailable as exc:
            proc = self.cold.start(argv, cwd, env)
            proc.note = f"cold start: {exc}"
            return proc

    def _start_warm(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str],
                    keep: bool) -> Process:
        python = interpreter_of(argv[0])
        if python is None:
            raise HelperUnavailable(f"{argv[0]} is not a Python entry point")
        helper = self.helper_for(python)
        if helper.state == "warming":
            raise HelperUnavailable("the warm helper for this dbt is still starting")
        if helper.state == "failed":
            raise HelperUnavailable(helper.detail)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            conn.connect(str(helper.socket_path))
            request = json.dumps({"args": list(argv[1:]), "cwd": str(cwd), "env": dict(env),
                                  "keep": keep})
            socket.send_fds(conn, [request.encode()], [out_w, err_w])
            answer = json.loads(conn.recv(4096) or b"{}")
        except (OSError, ValueError) as exc:
            conn.close()
            for fd in (out_r, err_r):
                os.close(fd)
            raise HelperUnavailable(f"the warm helper (pid {helper.pid}) did not answer: "
                                    f"{exc}") from None
        finally:
            os.close(out_w)
            os.close(err_w)
        if "pid" not in answer:
            conn.close()
            os.close(out_r)
            os.close(err_r)
            raise HelperUnavailable(answer.get("error") or "the warm helper hung up")
        return WarmProcess(conn, answer["pid"], out_r, err_r, helper.pid,
                           f"warm start (helper pid {helper.pid}, dbt {helper.dbt_version})")

    # --- helpers -------------------------------------------------------------------------

    def prewarm(self, dbt_paths: Sequence[str]) -> None:
        """Start helpers for these dbt installations now, so the first run is warm."""
        for path in dbt_paths:
            python = interpreter_of(path)
            if python is not None:
                self.helper_for(python)

    def helper_for(self, python: str) -> Helper:
        """The helper for an interpreter, started (in the background) when there is none,
        or when the last one died or its dbt installation changed."""
        with self._lock:
            helper = self._helpers.get(python)
            if helper is not None and helper.state != "warming":
                if not helper.alive() and helper.state == "ready":
                    helper = None  # died: a new one
                elif helper.state == "ready" and helper.stale():
                    helper.stop()  # upgraded under us: the warm modules are the old ones
                    helper = None
                elif helper.state == "failed" and helper.stale():
                    helper = None  # maybe fixed by the install that changed it
            if helper is None and not self._closed:
                helper = self._spawn(python)
                self._helpers[python] = helper
            return helper

    def maintain(self) -> None:
        """Replace helpers that died or whose dbt was upgraded, so the next step is warm."""
        for python in list(self._helpers):
            self.helper_for(python)

    def helpers(self) -> list[Helper]:
        with self._lock:
            return list(self._helpers.values())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            helpers = list(self._helpers.values())
            self._helpers.clear()
        for helper in helpers:
            helper.stop()
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def _spawn(self, python: str) -> Helper:
        if self.socket_dir is None:
            # mode 0700; the pid in the name lets a later engine clean up after a kill -9
            self.socket_dir = Path(tempfile.mkdtemp(prefix=f"dbt-console-{os.getpid()}-"))
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._spawned += 1
        name = f"helper-{os.getpid()}-{self._spawned}"
        socket_path = self.socket_dir / f"{name}.sock"
        with open(self.log_file, "ab") as errors:
            proc = subprocess.Popen(
                [python, str(HELPER_SCRIPT), str(socket_path), "--macros", str(ci.MACROS),
                 *(["--imports-only"] if self.imports_only else [])], cwd=self.socket_dir,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                start_new_session=True, env=helper_env(self.pass_env))
        helper = Helper(python, socket_path, proc)
        self.on_change(helper)
        threading.Thread(target=self._await_ready, args=(helper,), name=f"warm-{proc.pid}",
                         daemon=True).start()
        return helper

    def _await_ready(self, helper: Helper) -> None:
        line = read_line(helper.proc, READY_TIMEOUT)
        try:
            message = json.loads(line) if line else {}
        except ValueError:
            message = {}
        if message.get("ready"):
            helper.dbt_version = message.get("dbt_version", "")
            helper.watch = list(message.get("watch", []))
            helper.marks = fingerprint(helper.watch)
            helper.detail = f"warmed: {message.get('warmed') or 'imports'}"
            helper.state = "ready"
        else:
            helper.state = "failed"
            helper.detail = message.get("error") or (
                f"the warm helper for {helper.python} did not start (see "
                f"{self.log_file})")
            # Remember what would mean a fix: the interpreter's own site-packages.
            helper.watch = [str(Path(helper.python).resolve().parent.parent)]
            helper.marks = fingerprint(helper.watch)
            if helper.alive():
                helper.stop()
        if helper.proc.stdout is not None:
            helper.proc.stdout.close()
        helper.ready.set()
        self.on_change(helper)


def helper_env(pass_env: tuple[str, ...] = ()) -> dict[str, str]:
    """The helper's own environment: what every step starts from, never ours whole. Each
    step gets its job's environment in the child, but a process's first environment stays
    readable in /proc/<pid>/environ, where a step's SQL could find our secrets."""
    env = base_env(pass_env)
    env["DO_NOT_TRACK"] = "1"
    return env


def rss_bytes(pid: int) -> int | None:
    """A process's resident memory (Linux), None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def read_line(proc: subprocess.Popen, timeout: float) -> bytes:
    """The helper's first stdout line, or b"" if it exits or stays silent too long."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buf = b""
    try:
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                return b""
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return buf
            buf += chunk
    finally:
        sel.close()
    return buf.split(b"\n", 1)[0]


def remove_stale_temp_dirs() -> list[Path]:
    """The temporary directories (helper sockets, warm-ups) of dbt-console processes of
    this user that no longer exist: what a kill -9 left behind. Returns those removed."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob("dbt-console-*"):
        parts = path.name.removeprefix("dbt-console-").removeprefix("warmup-").split("-")
        try:
            if not parts[0].isdigit() or path.lstat().st_uid != os.getuid():
                continue
            os.kill(int(parts[0]), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except OSError:  # gone meanwhile, or a live process of someone else
            continue
    return removed
