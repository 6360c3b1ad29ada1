"""Deterministic seed data for the demo project: the same bytes on every machine."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta

DISTRICTS = ["Harbour", "Old Town", "Riverside", "Uplands"]
STREETS = ["Mill", "Quay", "Chapel", "Orchard", "Tanner", "Bridge", "Market", "Forge",
           "Weaver", "Lantern", "Cooper", "Granary"]
PLANS = ["casual", "monthly", "annual"]
# Rides whose dock never reported a return: they fail the demo's audit test.
RUNAWAY_RIDES = {137, 1404, 2718}


def _csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def seed_files() -> dict[str, str]:
    """File name -> CSV text for stations, members and rides."""
    rng = random.Random(20261124)
    stations = [
        [i + 1, f"{street} Street", DISTRICTS[i % len(DISTRICTS)], rng.choice([12, 16, 20, 24])]
        for i, street in enumerate(STREETS)
    ]
    start_day = datetime(2026, 9, 1)
    members = [
        [i + 1, rng.choice(PLANS).title(),
         (start_day - timedelta(days=rng.randint(0, 700))).date().isoformat()]
        for i in range(240)
    ]
    rides = []
    for ride_id in range(1, 3001):
        started = start_day + timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        minutes = rng.randint(3, 95) if ride_id not in RUNAWAY_RIDES else rng.randint(1600, 4000)
        rides.append([
            ride_id,
            rng.randint(1, len(members)),
            rng.randint(1, len(stations)),
            rng.randint(1, len(stations)),
            started.isoformat(sep=" "),
            (started + timedelta(minutes=minutes)).isoformat(sep=" "),
        ])
    return {
        "stations.csv": _csv(["station_id", "name", "district", "capacity"], stations),
        "members.csv": _csv(["member_id", "plan", "joined_on"], members),
        "rides.csv": _csv(["ride_id", "member_id", "start_station_id", "end_station_id",
                           "started_at", "ended_at"], rides),
    }
