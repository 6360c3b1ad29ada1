"""What dbt-console measures for Prometheus: the buckets of its histograms and the shape
of the counters and histograms the store adds up (store/metrics.py) and /metrics shows
(api/metrics.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Run and step durations, schedule lateness: upper bounds in seconds (+Inf is implied).
# Few buckets: two histograms per job, and a store may have 10,000 jobs.
DURATION_BUCKETS = (30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
LATENESS_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass
class Histogram:
    """Cumulative counts per bucket (as Prometheus has them), their count and sum."""

    buckets: list[float]
    count: int = 0
    total: float = 0.0

    def add(self, other: Histogram) -> None:
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.count += other.count
        self.total += other.total


@dataclass
class Totals:
    """Over every run ever finished, pruned ones included."""

    runs: dict[tuple[str, str, str], int] = field(default_factory=dict)  # job, status, kind
    run_seconds: dict[str, Histogram] = field(default_factory=dict)      # by job
    step_seconds: dict[str, Histogram] = field(default_factory=dict)     # by job
    lateness: dict[str, Histogram] = field(default_factory=dict)         # "" only
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # hook type, status
