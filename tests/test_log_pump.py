"""The executor's log path with a real child process: every line is kept, in order,
whatever the process writes."""

from __future__ import annotations

import sys
import textwrap

import pytest

from dbt_console.engine.launcher import SubprocessLauncher
from dbt_console.engine.logpump import RunLog, pump
from dbt_console.model import Job, Trigger

EMITTER = textwrap.dedent("""
    import json, sys
    out = sys.stdout.buffer
    def event(name, msg, level="info", node=None, total=None):
        data = {}
        if node:
            data["node_info"] = {"unique_id": node[0], "node_status": node[1]}
        if total:
            data["total"] = total
        out.write(json.dumps({"info": {"name": name, "msg": msg, "level": level,
                                       "ts": "2026-11-24T02:00:00.000000Z"},
                              "data": data}).encode() + b"\\n")
    event("MainReportVersion", "Running with dbt=1.11")
    event("LogStartLine", "1 of 2 START model a", node=("model.p.a", "started"), total=2)
    event("LogModelResult", "1 of 2 ERROR model a", "error", node=("model.p.a", "error"))
    out.write(b"plain text from a print\\n")
    out.write(b"bad bytes: \\xff\\xfe end\\n")
    out.write(b"{not json but starts like it\\n")
    out.write(b"L" + b"x" * 1_000_000 + b"\\n")
    out.write(b"windows line\\r\\n")
    out.flush()
    sys.stderr.write("Traceback: something broke\\n")
    sys.stderr.flush()
    out.write(b"no newline at the end")
    sys.exit(3)
""")


@pytest.mark.real
def test_every_kind_of_output_reaches_the_store(store, tmp_path):
    store.save_jobs([Job(name="j", commands=("dbt run",), project_dir="/srv")])
    run = store.enqueue_run(store.get_job("j"), Trigger.manual(), "me")
    log = RunLog(store, run.id)
    proc = SubprocessLauncher().start([sys.executable, "-c", EMITTER], tmp_path, {})
    code = pump(proc, log, 1, lambda: None)
    assert code == 3
    lines = store.read_log(run.id)
    by_msg = {ln.msg: ln for ln in lines}
    assert [ln.seq for ln in lines] == list(range(len(lines)))
    assert by_msg["1 of 2 ERROR model a"].node_id == "model.p.a"
    assert by_msg["1 of 2 ERROR model a"].node_status == "error"
    assert by_msg["1 of 2 ERROR model a"].level == "error"
    assert by_msg["1 of 2 ERROR model a"].event == "LogModelResult"
    assert "plain text from a print" in by_msg
    assert "bad bytes: \ufffd\ufffd end" in by_msg
    assert "{not json but starts like it" in by_msg
    assert "L" + "x" * 1_000_000 in by_msg
    assert "windows line" in by_msg
    assert by_msg["Traceback: something broke"].level == "warn"  # stderr
    assert "no newline at the end" in by_msg
    progress = store.get_run(run.id).progress
    assert progress == {"step": 0, "done": 1, "total": 2, "failed": 1, "running": [],
                        "run_done": 1, "run_total": 2}


@pytest.mark.real
def test_lines_reach_the_store_while_the_process_still_runs(store, tmp_path):
    """Batches are committed as the process writes, not when it ends: the child prints
    'first', then waits until the test has seen 'first' in the store."""
    store.save_jobs([Job(name="j", commands=("dbt run",), project_dir="/srv")])
    run = store.enqueue_run(store.get_job("j"), Trigger.manual(), "me")
    log = RunLog(store, run.id)
    go = tmp_path / "seen-first"
    script = (f"import os, sys, time\nprint('first', flush=True)\nt = time.time()\n"
              f"while not os.path.exists({str(go)!r}) and time.time() - t < 10:\n"
              f"    time.sleep(0.01)\n"
              f"print('second' if os.path.exists({str(go)!r}) else 'gave up', flush=True)\n")
    proc = SubprocessLauncher().start([sys.executable, "-c", script], tmp_path, {})

    def tick():
        if not go.exists() and any(ln.msg == "first" for ln in store.read_log(run.id)):
            go.touch()

    pump(proc, log, 1, tick)
    assert [ln.msg for ln in store.read_log(run.id)] == ["first", "second"]


@pytest.mark.real
def test_a_line_over_16_mib_stays_one_line_cut_with_its_size(store, tmp_path):
    store.save_jobs([Job(name="j", commands=("dbt run",), project_dir="/srv")])
    run = store.enqueue_run(store.get_job("j"), Trigger.manual(), "me")
    emitter = textwrap.dedent("""
        import json, sys
        out = sys.stdout.buffer
        huge = json.dumps({"info": {"name": "SQLQuery", "msg": "M" + "y" * (17 << 20),
                                    "level": "debug", "ts": "2026-11-24T02:00:00Z"}})
        out.write(huge.encode() + b"\\nthe line after\\n")
    """)
    proc = SubprocessLauncher().start([sys.executable, "-c", emitter], tmp_path, {})
    assert pump(proc, RunLog(store, run.id), 1, lambda: None) == 0
    lines = store.read_log(run.id)
    assert [ln.msg for ln in lines][1:] == ["the line after"]
    cut = lines[0].msg
    assert cut.startswith("Myyy") and cut.endswith(" characters]")
    size = len(b'{"info": {"name": "SQLQuery", "msg": "') + 1 + (17 << 20) + len(
        b'", "level": "debug", "ts": "2026-11-24T02:00:00Z"}}')
    assert f"[a line of {size:,} bytes, cut to its first 65,536 characters]" in cut


@pytest.mark.unit
def test_an_interrupted_dbts_traceback_is_folded_into_one_line_and_a_crash_is_not():
    from dbt_console.engine.tracefold import TracebackFold
    from dbt_console.model import FOLDED_EVENT

    ts = "2026-12-01T00:00:00Z"
    frames = ['  File "dbt/cli/requires.py", line 187, in wrapper', "    waiter.acquire()"]
    trace = "\n".join(["Traceback (most recent call last):", *frames, "KeyboardInterrupt"])
    kept: list[tuple] = []
    fold = TracebackFold(lambda row, total=None: kept.append(row),
                         lambda: "run cancelled by alice (from the dashboard)")
    fold.add((ts, "error", 4, "MainEncounteredError", None, None, "Encountered an error:\n"))
    fold.add((ts, "info", 4, "Formatting", None, None, ""))  # dbt goes on meanwhile
    fold.add((ts, "error", 4, "MainStackTrace", None, None, trace))
    for text in ["Traceback (most recent call last):", *frames, "KeyboardInterrupt"]:
        fold.add((ts, "warn", 4, "", None, None, text))  # the same, printed on stderr
    crash = ["Traceback (most recent call last):", *frames, "ValueError: a real bug"]
    for text in crash:
        fold.add((ts, "warn", 4, "", None, None, text))
    fold.end()
    folded = [r for r in kept if r[3] == FOLDED_EVENT]
    assert len(folded) == 2
    assert folded[0][6].startswith("run cancelled by alice (from the dashboard): dbt stopped "
                                   "(KeyboardInterrupt; its 4-line traceback")
    assert folded[0][6].endswith(trace) and folded[0][1] == "warn"
    assert [r[6] for r in kept if r[3] == "MainEncounteredError"] == []  # folded with it
    assert [r[6] for r in kept if r[3] == ""] == crash  # a crash shows line by line
