"""A step forked from the warm helper: it becomes the step (its own process group, the
step's pipes, directory and environment), calls dbt's programmatic entry point and exits
with the code the `dbt` command would have.

A kept step (`"keep": true` in its request) does not exit when dbt returns. It tells the
engine dbt's exit code (`{"done": CODE}`), closes the step's output and waits on its
connection for one more command, which it runs with the manifest the first one parsed:
that command skips loading the project again. CI's compare changes follows its build this
way (dbt's start-up and manifest load were most of the compare step). The engine closing
the connection instead lets the process exit.

Standard library only at import time, like helper.py, which imports it as a sibling.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sys

import dbt_compat as compat  # a sibling: the helper runs these as scripts (warmup.py)

# A request is small: argv, cwd and an environment. A larger one is refused.
MAX_REQUEST = 4 * 1024 * 1024
# How long a kept step waits for its follow-up: the engine sends it, or hangs up, as soon
# as it has read the first command's results.
FOLLOW_UP_WAIT = 120.0


def exit_code(result) -> int:
    """The `dbt` command's exit code for a dbtRunnerResult: 0 success, 1 a node failed,
    2 dbt itself failed (as dbt.cli.main's click wrappers map ResultExit/ExceptionExit)."""
    if result.success:
        return 0
    return 1 if result.exception is None else 2


def run_child(request: dict, out_fd: int, err_fd: int, conn: socket.socket,
              keep_closed: list[int]) -> None:
    """In the forked child: become the step, run dbt, exit with its code. Never returns."""
    code = 2
    try:
        _become_step(keep_closed)
        # From the child, not the helper: a kept step's "done" must never arrive first.
        conn.send(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        keep = bool(request.get("keep"))
        if not keep:
            conn.close()  # the helper's copy tells the engine the exit code, or dies
        manifests = compat.capture_manifests() if keep else []
        _take(request, out_fd, err_fd)
        code = _invoke(request, None)
        if keep:
            code = _follow_up(conn, code, manifests)
    except BaseException as exc:  # noqa: BLE001 - the child must always exit, never return
        try:
            sys.stderr.write(f"dbt-console warm helper: {exc!r}\n")
        except Exception:  # noqa: BLE001
            pass
    finally:
        try:
            compat.release_semaphores()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _become_step(keep_closed: list[int]) -> None:
    os.setsid()  # its own process group: the engine signals the group to cancel
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.set_wakeup_fd(-1)
    for fd in keep_closed:
        os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # Line by line, as an unbuffered `dbt` would write them: the engine shows them live.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True)


def _take(request: dict, out_fd: int, err_fd: int) -> None:
    """The command's output pipes, directory, environment and argv."""
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.close(out_fd)
    os.close(err_fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["dbt", *request["args"]]


def _invoke(request: dict, manifest) -> int:
    compat.forget_metadata_env()
    from dbt.cli.main import dbtRunner

    result = dbtRunner(manifest=manifest).invoke(list(request["args"]))
    _show_usage_error(result.exception)
    return exit_code(result)


def _show_usage_error(exc: BaseException | None) -> None:
    """The `dbt` command prints a usage error (a bad flag) as click does before it exits
    2; dbtRunner hands it back instead. (dbt logs its other errors itself.)"""
    from dbt.cli.exceptions import DbtInternalException, DbtUsageException

    if isinstance(exc, (DbtUsageException, DbtInternalException)):
        sys.stderr.write(f"Error: {exc}\n")


def _follow_up(conn: socket.socket, code: int, manifests: list) -> int:
    """Tell the engine the first command ended, then run its follow-up, if one comes."""
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)  # the step's pipes close: its log is complete
    os.close(devnull)
    conn.send(json.dumps({"done": code}).encode() + b"\n")
    conn.settimeout(FOLLOW_UP_WAIT)
    try:
        data, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 2)
    except OSError:  # hung up, or never came
        return code
    finally:
        conn.close()  # the helper's copy tells the engine how the follow-up ended
    if not data or len(fds) != 2:
        for fd in fds:
            os.close(fd)
        return code
    request = json.loads(data)
    _take(request, fds[0], fds[1])
    return _invoke(request, manifests[-1] if manifests else None)
