"""How a dbt process is started: the seam where a faster launcher can plug in later.

A launcher starts one step's process with its stdout and stderr on pipes, in its own
session and process group, so the executor can signal dbt and everything it spawned.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol


class Process(Protocol):
    pid: int
    # A line for the run's log about how the step was started (warm, or why it was not).
    note: str | None
    # Set when the step was lost with whatever started it; the run's failure reason.
    lost: str | None
    # Its command ended and the process waits to run one more (a launcher's keep=True).
    kept: bool

    def stdout_fd(self) -> int: ...
    def stderr_fd(self) -> int: ...
    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def signal_group(self, sig: int) -> None: ...

    def follow(self, argv: Sequence[str], cwd: Path,
               env: Mapping[str, str]) -> Process | None:
        """A kept process's next command, run with the project its dbt already loaded;
        None when this process cannot take one."""
        ...

    def release(self) -> None:
        """Let a kept process go without a next command."""
        ...


class Launcher(Protocol):
    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str],
              keep: bool = False) -> Process:
        """Start argv; raise FileNotFoundError/PermissionError when it cannot start.
        With `keep`, the process may be kept for a follow-up command (Process.follow) if
        the launcher can do that; the caller then follows or releases it."""
        ...


class _Popen:
    def __init__(self, popen: subprocess.Popen):
        self._p = popen
        self.pid = popen.pid
        self.note: str | None = None
        self.lost: str | None = None
        self.kept = False  # a `dbt` process ends with its command

    def follow(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        return None

    def release(self) -> None:
        pass

    def stdout_fd(self) -> int:
        return self._p.stdout.fileno()

    def stderr_fd(self) -> int:
        return self._p.stderr.fileno()

    def poll(self) -> int | None:
        return self._p.poll()

    def wait(self, timeout: float | None = None) -> int:
        code = self._p.wait(timeout)
        self._p.stdout.close()
        self._p.stderr.close()
        return code

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass  # already gone


class SubprocessLauncher:
    """A plain child process per step: no shell, its own session. Making one changes
    nothing in the process: the commands that start an engine (serve, run --wait) call
    restore_default_sigint() themselves."""

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str],
              keep: bool = False) -> Process:
        popen = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        return _Popen(popen)


def restore_default_sigint() -> None:
    """A process started with SIGINT ignored (`cmd &` in a script: CI's runner, say)
    passes that on to its children, and a dbt that ignores SIGINT cannot be cancelled.
    Undo it for ourselves so the dbt processes we start get the default handling (called
    on the main thread, by the commands that start an engine)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
