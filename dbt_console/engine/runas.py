"""Steps as another unix user (settings.toml's `run_as`): the shared-server set-up in
which dbt, and whatever SQL a job runs, cannot read the store or the engine's memory.

The engine stays the service user and starts each step through `sudo -n -u <run_as>`,
as Airflow's `run_as_user` does: no setuid code of our own, and the sudoers rule says
in one line who may do what. The run directories and git workspaces are given the run
user's group (setgid, group-writable) so dbt can write its target and the engine can read
and remove what dbt wrote; the store and settings keep the service user's own group.

sudo passes signals on to the command, so a cancel's SIGINT and SIGTERM reach dbt as
they would unwrapped; a SIGKILL cannot be passed on, so the run user sends it itself.
Warm starts do not apply: a helper's forked steps could not be signalled by the engine.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dbt_console.access import unix_name
from dbt_console.config import Paths
from dbt_console.engine.launcher import Process, SubprocessLauncher, _Popen
from dbt_console.errors import UserError

# sudo applies the union of our umask and its own (022): dbt's files would then be
# read-only to the engine, which must rotate and remove them. The shell sets 007 again.
UMASK_THEN_EXEC = 'umask 007 && exec "$0" "$@"'


@dataclass(frozen=True)
class RunAs:
    user: str
    uid: int
    gid: int
    home: str

    @classmethod
    def named(cls, user: str) -> RunAs:
        """The unix user; KeyError when there is none by that name."""
        entry = pwd.getpwnam(user)
        return cls(user, entry.pw_uid, entry.pw_gid, entry.pw_dir)

    @property
    def group(self) -> str:
        try:
            return grp.getgrgid(self.gid).gr_name
        except KeyError:
            return str(self.gid)

    def sudo(self, argv: Sequence[str]) -> list[str]:
        # -n: never ask for a password (there is no one to type it); -E: the step's own
        # environment, which sudoers allows with SETENV.
        return ["sudo", "-n", "-E", "-u", self.user, "--", "/bin/sh", "-c",
                UMASK_THEN_EXEC, *argv]

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        """The step's environment, at home as the run user (dbt reads ~/.dbt there)."""
        return {**env, "HOME": self.home, "USER": self.user, "LOGNAME": self.user}

    def problem(self) -> str | None:
        """Why steps cannot run as this user from here, with what to do; None if they can."""
        me = unix_name(os.geteuid())
        if self.uid == 0:
            return "run_as may not be root: it is there to give dbt less than the engine has"
        if self.uid == os.geteuid():
            return f"run_as is {self.user}, the user the engine runs as: name another user"
        if self.gid not in os.getgroups() and self.gid != os.getegid():
            return (f"the engine's user {me} must be in {self.user}'s group {self.group}, "
                    f"to share the run directories with it: sudo usermod -aG {self.group} "
                    f"{me} (then restart the engine)")
        if shutil.which("sudo") is None:
            return "run_as needs sudo, which is not installed"
        tried = subprocess.run(self.sudo(["true"]), stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=30)
        if tried.returncode != 0:
            said = (tried.stderr.strip().splitlines() or ["no reason given"])[-1][:200]
            return (f"sudo may not run commands as {self.user} for {me} ({said}); add to "
                    f"/etc/sudoers.d/dbt-console: {me} ALL=({self.user}) NOPASSWD:SETENV: ALL")
        return None

    def share(self, directory: Path) -> None:
        """Give a directory and what it holds the run user's group, group-writable and
        setgid, so what either side makes in it stays shared."""
        directory.mkdir(parents=True, exist_ok=True)
        st = directory.stat()
        if st.st_gid == self.gid and st.st_mode & 0o2070 == 0o2070:
            return  # shared before: what was made in it since inherited the group
        for root, dirs, files in os.walk(directory):
            for name in dirs + files:
                _share_one(Path(root) / name, self.gid)
        _share_one(directory, self.gid)

    def kill_group(self, pgid: int) -> None:
        """SIGKILL what the run user runs in a step's process group (sudo cannot pass a
        SIGKILL on, and the engine may not signal another user's processes)."""
        subprocess.run(["sudo", "-n", "-u", self.user, "--", "kill", "-s", "KILL", "--",
                        f"-{pgid}"], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)


def _share_one(path: Path, gid: int) -> None:
    try:
        st = path.lstat()
        if path.is_symlink() or st.st_uid != os.geteuid():
            return  # dbt's own files are already the run user's group's
        os.chown(path, -1, gid)
        extra = 0o2070 if path.is_dir() else 0o060
        os.chmod(path, (st.st_mode & 0o7777) | extra)
    except OSError:
        pass


class _SudoPopen(_Popen):
    def __init__(self, popen: subprocess.Popen, run_as: RunAs):
        super().__init__(popen)
        self._run_as = run_as
        self.note = f"as unix user {run_as.user} (settings.toml's run_as)"

    def signal_group(self, sig: int) -> None:
        super().signal_group(sig)  # sudo passes it on, and SIGKILL ends sudo itself
        if sig == signal.SIGKILL:
            self._run_as.kill_group(self.pid)


class RunAsLauncher(SubprocessLauncher):
    """Each step a plain dbt process, as the run user."""

    def __init__(self, run_as: RunAs) -> None:
        super().__init__()
        self.run_as = run_as

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str],
              keep: bool = False) -> Process:
        popen = subprocess.Popen(
            self.run_as.sudo(argv), cwd=cwd, env=self.run_as.env(env),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        return _SudoPopen(popen, self.run_as)


def configured(user: str, paths: Paths) -> RunAs | None:
    """settings.toml's run_as, checked and made ready (the run directories shared with
    it); None when steps run as the engine's own user. UserError saying what to fix."""
    if not user:
        return None
    where = f"{paths.settings_file}: run_as = {user!r}"
    try:
        run_as = RunAs.named(user)
    except KeyError:
        raise UserError(f"{where}: no such unix user on this machine") from None
    why = run_as.problem()
    if why:
        raise UserError(f"{where}: {why}")
    for directory in (paths.runs, paths.workspaces):
        run_as.share(directory)
    reach = subprocess.run(run_as.sudo(["test", "-w", str(paths.runs), "-a", "-x",
                                        str(paths.runs)]),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    if reach.returncode != 0:
        raise UserError(f"{where}: {user} cannot reach {paths.runs}, where dbt writes its "
                        f"target: let it pass through {paths.data_dir} (chmod o+x "
                        f"{paths.data_dir}; nothing in it is readable by others)")
    return run_as
