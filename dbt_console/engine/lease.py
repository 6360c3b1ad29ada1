"""One engine per store: a row naming the holder (host, pid), renewed by heartbeats and
taken over only once it expired, or at once when its holder is known to be dead."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid

from dbt_console.errors import UserError
from dbt_console.humanize import local_time
from dbt_console.store import Lease, LeaseStore, StepsStore
from dbt_console.store.repos import Repos

# The store's concerns this part and the parts it hands the store to use (repos.py).
# recover() hands the store on to outbox.end_orphans: its caller's store reaches that far
# too (engine.USES), and the CLI, which imports this module, does not import the outbox.
USES = (LeaseStore, StepsStore)


HEARTBEAT_SECONDS = 2.0
# A holder silent for this long is presumed dead (machine lost, process frozen).
LEASE_TTL_SECONDS = 10.0


class EngineBusy(UserError):
    def __init__(self, holder: Lease):
        self.holder = holder
        super().__init__(f"an engine already runs this store: {describe(holder)}")


def describe(lease: Lease) -> str:
    return (f"{lease.kind} on {lease.host}, pid {lease.pid}, since "
            f"{local_time(lease.started_at)}")


def holder_is_dead(lease: Lease) -> bool:
    """True only when we can tell: the holder is on this host and its pid is gone."""
    if lease.host != socket.gethostname():
        return False
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def live_holder(store: Repos) -> Lease | None:
    lease = store.read_lease()
    if lease is None or time.time() - lease.heartbeat_at >= LEASE_TTL_SECONDS:
        return None
    return None if holder_is_dead(lease) else lease


def silent_holder(store: Repos) -> Lease | None:
    """An engine on this host that is alive but has let its lease expire: it cannot
    write the store (a full disk), or its loop is stuck. Not a holder: another engine
    may take the store; but status must not say that none runs."""
    lease = store.read_lease()
    if (lease is None or lease.host != socket.gethostname()
            or time.time() - lease.heartbeat_at < LEASE_TTL_SECONDS):
        return None
    return None if holder_is_dead(lease) else lease


class LeaseKeeper:
    """Holds this process's lease: take it, renew it, give it back."""

    def __init__(self, kind: str):
        self.lease = Lease(host=socket.gethostname(), pid=os.getpid(),
                           token=uuid.uuid4().hex, kind=kind, started_at=time.time(),
                           heartbeat_at=0.0)
        self._last_beat = 0.0
        self.previous: Lease | None = None
        self.stop_asked_by: str | None = None  # `dbt-console engine stop`, by whom

    def acquire(self, store: Repos) -> None:
        """Take the lease or raise EngineBusy naming the holder. `previous` is whoever
        held it before (dead or expired), for the recovery message."""
        self.previous = store.read_lease()
        holder = store.acquire_lease(self.lease, LEASE_TTL_SECONDS, holder_is_dead)
        if holder is not None:
            raise EngineBusy(holder)
        self._last_beat = time.monotonic()

    def beat_if_due(self, store: Repos, now: bool = False) -> bool:
        """Renew when due (or `now`: another process nudged the engine, perhaps to ask
        it to stop); False when the lease was lost to another engine."""
        if not now and time.monotonic() - self._last_beat < HEARTBEAT_SECONDS:
            return True
        self._last_beat = time.monotonic()
        ours, self.stop_asked_by = store.heartbeat(self.lease.token)
        return ours

    def release(self, store: Repos) -> None:
        store.release_lease(self.lease.token)


def recover(store: Repos, keeper: LeaseKeeper) -> list[int]:
    """Runs a dead engine left starting/running become errors, with the reason, and set
    off their errored hooks and chained runs; their dbt processes, which outlive the
    engine in their own sessions, are stopped."""
    # Here, not at the top: every CLI command imports this module, and the outbox brings
    # the hook kinds and their HTTP client with it.
    from dbt_console.engine import outbox

    previous = keeper.previous
    if previous is not None and previous.host == socket.gethostname():
        for pid in store.orphan_pids():
            _stop_orphan(pid)
    who = describe(previous) if previous else "a previous engine"
    ids, _ = outbox.end_orphans(
        store, f"the engine running this run ({who}) stopped before the run finished")
    return ids


def _stop_orphan(pid: int) -> None:
    """SIGTERM a dead engine's dbt process group, if that pid is still a dbt process
    (pids are reused: never signal a stranger)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"dbt" not in fh.read():
                return
        os.killpg(pid, signal.SIGTERM)
    except (OSError, ProcessLookupError):
        pass
