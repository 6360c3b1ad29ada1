"""Log throughput and size: a fake dbt writes 1,000,000 JSON log lines shaped like dbt's
own (LogStartLine / LogModelResult pairs with node_info), through the real executor path
(launcher, log pump, batched commits, compaction) into a real store.

    python benchmarks/log_pipeline.py [--lines 1000000] [--rounds 3]

Targets (issue 2): >= 100,000 lines/s; the store holds the log in <= 0.5x the raw bytes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from dbt_console.config import resolve_paths
from dbt_console.engine.executor import Executor
from dbt_console.model import Job, Trigger
from dbt_console.store import Store

TARGET_RATE, TARGET_RATIO = 100_000, 0.5

FAKE_DBT = textwrap.dedent('''\
    #!{python}
    """A stand-in for dbt that only talks: pairs of start/result events, as fast as read."""
    import os, sys
    if sys.argv[1:] == ["--version"]:  # what dbt-console asks a dbt_path before running it
        sys.exit(print("Core:\\n  - installed: a stand-in (benchmarks)"))
    n = int(os.environ["FAKE_DBT_LINES"])
    start = ('{{"data": {{"description": "sql table model analytics.model_%d", "index": %d, '
             '"node_info": {{"materialized": "table", "meta": {{}}, "node_checksum": '
             '"0f3c%060d", "node_finished_at": "", "node_name": "model_%d", '
             '"node_path": "marts/model_%d.sql", "node_relation": {{"alias": "model_%d", '
             '"database": "warehouse", "relation_name": "\\\\"warehouse\\\\".\\\\"analytics\\\\".'
             '\\\\"model_%d\\\\"", "schema": "analytics"}}, "node_started_at": '
             '"2026-11-24T02:%02d:%02d.%06d", "node_status": "started", "resource_type": "model", '
             '"unique_id": "model.bench.model_%d"}}, "total": %d}}, "info": {{"category": "", '
             '"code": "Q011", "extra": {{}}, '
             '"invocation_id": "2d9a8c61-4c1e-4f7e-9a55-7c1d2b0e9f10", '
             '"level": "info", "msg": "%d of %d START sql table model analytics.model_%d '
             '..................... [RUN]", "name": "LogStartLine", "pid": 4242, '
             '"thread": "Thread-%d (worker)", "ts": "2026-11-24T02:%02d:%02d.%06dZ"}}}}\\n')
    done = ('{{"data": {{"description": "sql table model analytics.model_%d", "execution_time": '
            '0.%06d, "index": %d, "node_info": {{"materialized": "table", "meta": {{}}, '
            '"node_checksum": "0f3c%060d", "node_finished_at": "2026-11-24T02:%02d:%02d.%06d", '
            '"node_name": "model_%d", "node_path": "marts/model_%d.sql", "node_relation": '
            '{{"alias": "model_%d", "database": "warehouse", "relation_name": "", "schema": '
            '"analytics"}}, "node_started_at": "2026-11-24T02:%02d:%02d.%06d", "node_status": '
            '"success", "resource_type": "model", "unique_id": "model.bench.model_%d"}}, '
            '"status": "SELECT %d", "total": %d}}, "info": {{"category": "", "code": "Q012", '
            '"extra": {{}}, "invocation_id": "2d9a8c61-4c1e-4f7e-9a55-7c1d2b0e9f10", "level": '
            '"info", "msg": "%d of %d OK created sql table model analytics.model_%d '
            '............ [SELECT %d in 0.%02ds]", "name": "LogModelResult", "pid": 4242, '
            '"thread": "Thread-%d (worker)", "ts": "2026-11-24T02:%02d:%02d.%06dZ"}}}}\\n')
    out = sys.stdout.buffer
    total_nodes = n // 2
    written = 0
    block = []
    for i in range(total_nodes):
        m, s, us = (i // 60000) % 60, (i // 1000) % 60, (i * 37) % 1000000
        t = i % 4 + 1
        block.append(start % (i, i, i, i, i, i, i, m, s, us, i, total_nodes, i, total_nodes, i,
                              t, m, s, us))
        block.append(done % (i, us, i, i, m, s, us, i, i, i, m, s, us, i, i * 7, total_nodes,
                             i, total_nodes, i, i * 7, i % 100, t, m, s, us))
        if len(block) >= 2000:
            data = "".join(block).encode()
            written += len(data)
            out.write(data)
            block = []
    data = "".join(block).encode()
    written += len(data)
    out.write(data)
    out.flush()
    with open(os.environ["FAKE_DBT_BYTES_FILE"], "w") as fh:
        fh.write(str(written))
''')


def one_round(root: Path, lines: int, round_no: int) -> tuple[float, float, float]:
    home = root / f"round-{round_no}"
    os.environ["DBT_CONSOLE_HOME"] = str(home)
    paths = resolve_paths()
    project = home / "project"
    project.mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: bench\n")
    fake = home / "fake-dbt"
    fake.write_text(FAKE_DBT.format(python=sys.executable))
    fake.chmod(0o755)
    bytes_file = home / "raw-bytes"
    # The job's own env: dbt gets only its job's environment, never the engine's.
    env = {"FAKE_DBT_LINES": str(lines), "FAKE_DBT_BYTES_FILE": str(bytes_file)}
    with Store(paths.store) as store:
        store.save_jobs([Job(name="chatty", commands=("dbt build",), project_dir=str(project),
                             dbt_path=str(fake), env=env)])
        run = store.enqueue_run(store.get_job("chatty"), Trigger.manual(), "bench")
        Executor(paths).execute(run.id)
        step = store.list_steps(run.id)[-1]
        stored_lines = store.log_line_count(run.id)
        step_lines = sum(1 for line in store.iter_log(run.id) if line.step == step.idx)
        assert step_lines == lines + 2, step_lines  # + "$ dbt build" and its exit line
        stored = store.conn.execute(
            "SELECT SUM(LENGTH(data)) FROM log_chunks WHERE run_id = ?", (run.id,)).fetchone()[0]
        read_start = time.perf_counter()
        count = sum(1 for _ in store.iter_log(run.id))
        read_seconds = time.perf_counter() - read_start
        assert count == stored_lines
    raw = int(bytes_file.read_text())
    rate = lines / (step.finished_at - step.started_at)
    return rate, stored / raw, read_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dbt-console-logbench-"))
    rates, ratios = [], []
    for i in range(args.rounds):
        rate, ratio, read_seconds = one_round(root, args.lines, i)
        rates.append(rate)
        ratios.append(ratio)
        print(f"round {i + 1}: {rate:,.0f} lines/s into the store, stored/raw {ratio:.3f}x, "
              f"read back all lines in {read_seconds:.2f}s", flush=True)
    rate, ratio = statistics.median(rates), statistics.median(ratios)
    print(f"median throughput: {rate:,.0f} lines/s   (target >= {TARGET_RATE:,}: "
          f"{'met' if rate >= TARGET_RATE else 'MISSED'})")
    print(f"median stored/raw: {ratio:.3f}x   (target <= {TARGET_RATIO}x: "
          f"{'met' if ratio <= TARGET_RATIO else 'MISSED'})")


if __name__ == "__main__":
    main()
