"""A real PostgreSQL 15 server for the tests: initdb into a temp directory as the
`postgres` user (initdb refuses root), on a free port of 127.0.0.1 with its socket in
that directory, a role with a password and a database; stopped at the end."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "pg-canary-3b7e"  # the tests look for it where it must not be
_NUMBERS = itertools.count(1)


@dataclass
class PgServer:
    root: Path
    port: int
    user: str = "dbt"
    database: str = "analytics"
    password: str = PASSWORD

    def _as_postgres(self, *argv: str, check: bool = True, **kwargs):
        return subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=check,
                              capture_output=True, text=True, **kwargs)

    def start(self) -> None:
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.root / "data"), "-w", "-t",
                          "60", "-l", str(self.root / "server.log"), "-o",
                          f"-p {self.port} -k {self.root} -h 127.0.0.1 {THROWAWAY}", "start")

    def stop(self) -> None:
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.root / "data"), "-w", "-m",
                          "fast", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> PgServer:
        """A database of its own, copied from this one (CREATE DATABASE ... TEMPLATE: a file
        copy, no SQL replayed), as a view of the same server."""
        name = f"t{next(_NUMBERS)}_{os.getpid()}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {self.database} OWNER {self.user}",
                 database="postgres")
        return replace(self, database=name)

    def drop(self) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)", database="postgres")

    def sql(self, statement: str, database: str | None = None) -> str:
        out = self._as_postgres(str(BIN / "psql"), "-h", str(self.root), "-p", str(self.port),
                                "-d", database or self.database, "-At", "-c", statement)
        return out.stdout.strip()


# PostgreSQL's documented settings for a cluster whose data may be lost (the manual's
# "Non-Durable Settings"): a crash of the machine loses a test run, nothing else.
THROWAWAY = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def available() -> str | None:
    """Why the server cannot be had here, or None."""
    if not (BIN / "initdb").exists():
        return f"PostgreSQL 15's binaries are not in {BIN}"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "starting PostgreSQL as its own user needs root and runuser"
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user"
    return None


def make() -> PgServer:
    # Not under pytest's own directories: they are root's alone (0700). On tmpfs where
    # there is one: a throwaway cluster need not wait for a disk.
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="dbtc-pg-", dir=shm if shm.is_dir() else None))
    shutil.chown(root, "postgres")
    os.chmod(root, 0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = PgServer(root, port)
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    shutil.chown(pwfile, "postgres")
    server._as_postgres(str(BIN / "initdb"), "-D", str(root / "data"), "-U", "postgres",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                        "--no-sync")
    server.start()
    server.database = "postgres"
    server.sql(f"CREATE ROLE dbt LOGIN PASSWORD '{PASSWORD}'")
    server.sql("CREATE DATABASE analytics OWNER dbt")
    server.database = "analytics"
    deadline = time.monotonic() + 30
    while "accepting" not in subprocess.run(
            [str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True, text=True).stdout:
        if time.monotonic() > deadline:
            raise RuntimeError("PostgreSQL did not start")
        time.sleep(0.1)
    return server
