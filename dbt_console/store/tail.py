"""Following a run as it happens, from any process: the store is the only channel.

Each poll costs one `PRAGMA data_version` when nothing changed; only when another
connection committed does it read the run row and the lines it has not seen.
"""

from __future__ import annotations

from dbt_console.model import LogLine, Run
from dbt_console.store import Store


class RunTail:
    def __init__(self, store: Store, run_id: int, start: int = 0):
        self.store = store
        self.run_id = run_id
        self.next_seq = start
        self.run: Run = store.get_run(run_id)
        self._version: int | None = None

    def poll(self) -> list[LogLine]:
        """New lines since the last poll (empty when nothing changed)."""
        version = self.store.data_version()
        if version == self._version:
            return []
        self._version = version
        # Read the status before the lines: a run seen finished then has all its lines in.
        self.run = self.store.get_run(self.run_id)
        lines = self.store.read_log(self.run_id, self.next_seq)
        if lines:
            self.next_seq = lines[-1].seq + 1
        return lines

    @property
    def finished(self) -> bool:
        return self.run.status.finished
