"""The SQLite run store: the single source of truth and the only channel between processes.

The only package that speaks SQL, one module per concern; Store puts them together. A
Store wraps one connection and is used by one thread; a thread that needs the store
opens its own (opening is cheap). Every state change is one transaction, so a reader
never sees a half-written run.
"""

from __future__ import annotations

from dbt_console.store.access import AccessStore, AuditRow
from dbt_console.store.alerts import AlertsStore
from dbt_console.store.ci import CiBranch, CiStore
from dbt_console.store.deliveries import DeliveriesStore, Delivery
from dbt_console.store.events import EngineEvent, EventsStore
from dbt_console.store.jobs import JobsStore
from dbt_console.store.lease import Lease, LeaseStore, WarmHelperRow
from dbt_console.store.logs import LogsStore
from dbt_console.store.metrics import MetricsStore
from dbt_console.store.projects import ProjectsStore
from dbt_console.store.prune import PruneStore
from dbt_console.store.queue import QueueStore
from dbt_console.store.repos import Repos
from dbt_console.store.runs import RunsStore
from dbt_console.store.steps import StepsStore
from dbt_console.store.tokens import TokensStore


class Store(JobsStore, RunsStore, QueueStore, StepsStore, LogsStore, LeaseStore, CiStore,
            DeliveriesStore, TokensStore, EventsStore, AccessStore, ProjectsStore,
            PruneStore, MetricsStore, AlertsStore):
    """The whole store through one connection. The engine's parts are each given only
    the concerns they use (only(), repos.py)."""

    def only(self, *concerns: type) -> Repos:
        return Repos(self, concerns)


__all__ = ["AccessStore", "AlertsStore", "AuditRow", "CiBranch", "CiStore", "Delivery",
           "DeliveriesStore", "EngineEvent", "EventsStore", "JobsStore", "Lease", "LeaseStore",
           "LogsStore", "MetricsStore", "ProjectsStore", "PruneStore", "QueueStore", "Repos",
           "RunsStore", "StepsStore", "Store", "TokensStore", "WarmHelperRow"]
