"""Warm starts: steps forked from a helper that has imported dbt must behave exactly like
plain `dbt` processes. Real dbt and DuckDB throughout; the helpers are real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import SLOW_PROJECT, binary, copy_home, make_project, slow_home, wait_for, write_jobs
from dbt_console import ci
from dbt_console.config import Paths, resolve_paths
from dbt_console.engine.executor import Executor
from dbt_console.engine.launcher import SubprocessLauncher
from dbt_console.engine.stepenv import find_dbt
from dbt_console.engine.steprunner import Launchers
from dbt_console.engine.warm.launcher import HELPER_SCRIPT, WarmLauncher, interpreter_of
from dbt_console.model import Job, RunStatus, Trigger
from dbt_console.store import Store

pytestmark = pytest.mark.real

DBT = find_dbt(Job(name="any", commands=("dbt parse",)))


@pytest.fixture(autouse=True)
def _warm(warm_starts):
    """This file is about warm starts: settings decide, as for users."""


def ready_launcher(log_file: Path, dbt: str = DBT) -> WarmLauncher:
    launcher = WarmLauncher(log_file)
    launcher.prewarm([dbt])
    helper = launcher.helper_for(interpreter_of(dbt))
    assert helper.ready.wait(180), "the helper never became ready"
    return launcher


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory):
    """One ready helper shared by the tests that do not break it."""
    launcher = ready_launcher(tmp_path_factory.mktemp("warm") / "helpers.log")
    assert launcher.helpers()[0].state == "ready", launcher.helpers()[0].detail
    yield launcher
    launcher.close()


def import_file(cli, tmp_path: Path, text: str) -> None:
    result = cli("jobs", "import", str(write_jobs(tmp_path / "jobs.yml", text)))
    assert result.code == 0, result.err


def run_job(paths: Paths, job_name: str, launcher) -> int:
    with Store(paths.store) as store:
        run = store.enqueue_run(store.get_job(job_name), Trigger.manual(), "test")
    Executor(paths, Launchers(launcher)).execute(run.id)
    return run.id


def step_pid(store: Store, run_id: int) -> int:
    return store.conn.execute("SELECT pid FROM steps WHERE run_id = ? AND pid IS NOT NULL",
                              (run_id,)).fetchone()[0]


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody reaped (the helper that forked it died,
    and a container's pid 1 need not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def log_text(store: Store, run_id: int) -> str:
    return "\n".join(line.msg for line in store.read_log(run_id))


def outcome(store: Store, run_id: int) -> dict:
    """What must not depend on how dbt was started."""
    run = store.get_run(run_id)
    lines = store.read_log(run_id)
    return {
        "status": run.status,
        "error": run.error,
        "exit_codes": [(s.idx, s.command, s.exit_code) for s in store.list_steps(run_id)],
        "nodes": {(r.step, r.unique_id): r.status for r in store.node_results(run_id)},
        # Timing-dependent events (a slow-query notice) aside, dbt says the same things.
        "events": {line.event for line in lines if line.event},
    }


def test_the_demo_jobs_give_the_same_results_warm_and_cold(demo_runs, tmp_path, paths, warm):
    # Each job's first run (demo_runs made them) parsed from scratch; the runs compared
    # here both reuse a parse.
    assert copy_home(demo_runs, tmp_path) == paths.data_dir
    cold = SubprocessLauncher()
    for job in ("nightly", "ride_audit"):
        warm_run = run_job(paths, job, warm)
        cold_run = run_job(paths, job, cold)
        with Store(paths.store) as store:
            warm_result, cold_result = outcome(store, warm_run), outcome(store, cold_run)
            assert warm_result == cold_result
            assert "warm start (helper pid" in log_text(store, warm_run)
            assert "warm start" not in log_text(store, cold_run)
    # nightly succeeds and ride_audit fails on purpose: both paths were compared on each.
    assert cold_result["status"] is RunStatus.ERROR
    assert any(code == 1 for _, _, code in cold_result["exit_codes"])


def test_dbt_own_failure_exits_2_on_both_paths(cli, paths, tmp_path, warm):
    project = make_project(tmp_path / "broken", {
        **SLOW_PROJECT, "profiles.yml": SLOW_PROJECT["profiles.yml"].replace("slow:", "other:")})
    import_file(cli, tmp_path, f"""
jobs:
  - name: broken
    project_dir: {project}
    commands: ["dbt run"]
""")
    results = []
    for launcher in (warm, SubprocessLauncher()):
        run_id = run_job(paths, "broken", launcher)
        with Store(paths.store) as store:
            results.append(outcome(store, run_id))
    assert results[0] == results[1], {k: (results[0][k], results[1][k]) for k in results[0]}
    assert results[0]["exit_codes"][3:] == [(4, "dbt run", 2)]  # after 3 set-up steps
    # dbt's own words are the reason, on both paths (the API's status_message, hooks).
    assert results[0]["error"] == ("dbt could not run 'dbt run' (exit code 2): Runtime "
                                   "Error: Could not find profile named 'slow'")


def test_a_usage_error_is_in_the_log_on_both_paths(cli, paths, tmp_path, warm):
    """dbtRunner returns click's usage errors instead of printing them: a warm step must
    print them as the dbt command does (dagster-dbt's mis-quoted flags showed only
    'exited with code 2')."""
    project = make_project(tmp_path / "usage", SLOW_PROJECT)
    import_file(cli, tmp_path, f"""
jobs:
  - name: usage
    project_dir: {project}
    commands: ["dbt build --no-such-flag"]
""")
    for launcher in (warm, SubprocessLauncher()):
        run_id = run_job(paths, "usage", launcher)
        with Store(paths.store) as store:
            assert "Error: No such option '--no-such-flag'" in log_text(store, run_id), launcher


def test_cancel_during_a_long_model_on_the_warm_path(cli, paths, tmp_path, warm):
    project = make_project(tmp_path / "slow", SLOW_PROJECT)
    import_file(cli, tmp_path, f"""
jobs:
  - name: slow
    project_dir: {project}
    commands: ["dbt run"]
""")
    with Store(paths.store) as store:
        run = store.enqueue_run(store.get_job("slow"), Trigger.manual(), "test")
    executor = Executor(paths, Launchers(warm))
    worker = threading.Thread(target=executor.execute, args=(run.id,))
    worker.start()
    with Store(paths.store) as store:
        wait_for(lambda: "START sql table model main.slow" in log_text(store, run.id),
                 what="the slow model to start")
        pid = step_pid(store, run.id)
        cancelled_at = time.monotonic()
        assert executor.cancel(run.id)
        worker.join(60)
        assert not worker.is_alive()
        finished = store.get_run(run.id)
        text = log_text(store, run.id)
    assert finished.status is RunStatus.CANCELLED
    assert "warm start" in text
    # dbt handled the SIGINT itself: it cancelled the query and said so, like the CLI.
    assert "CANCEL query model.slow.slow" in text
    assert time.monotonic() - cancelled_at < 30
    wait_for(lambda: gone(pid), timeout=10, what="dbt to exit")


def test_a_helper_killed_mid_run_errors_the_run_and_the_next_run_gets_a_new_helper(
        paths, tmp_path):
    slow_home(tmp_path)  # the home the paths fixture points at
    launcher = ready_launcher(tmp_path / "helpers.log")
    try:
        first = launcher.helpers()[0]
        with Store(paths.store) as store:
            run = store.enqueue_run(store.get_job("slow"), Trigger.manual(), "test")
            executor = Executor(paths, Launchers(launcher))
            worker = threading.Thread(target=executor.execute, args=(run.id,))
            worker.start()
            wait_for(lambda: "START sql table model main.slow" in log_text(store, run.id),
                     what="the slow model to start")
            dbt_pid = step_pid(store, run.id)
            os.kill(first.pid, signal.SIGKILL)
            worker.join(60)
            failed = store.get_run(run.id)
        assert failed.status is RunStatus.ERROR
        assert failed.error == (f"the warm dbt helper (pid {first.pid}) died during this "
                                "step; the step was killed")
        wait_for(lambda: gone(dbt_pid), timeout=10, what="the step to be killed")

        launcher.maintain()  # what the engine does every few seconds
        second = launcher.helpers()[0]
        assert second.pid != first.pid
        assert second.ready.wait(180) and second.state == "ready"
        quick = run_job(paths, "quick", launcher)
        with Store(paths.store) as store:
            assert store.get_run(quick).status is RunStatus.SUCCESS
            assert f"warm start (helper pid {second.pid}," in log_text(store, quick)
    finally:
        launcher.close()


def test_a_dbt_the_helper_cannot_import_runs_cold_and_says_why(cli, paths, tmp_path):
    # A Python with no dbt in it, whose `dbt` script hands over to the real one: the
    # helper for that Python cannot import dbt, so the step must run the plain way.
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    wrapper = tmp_path / "dbt"
    wrapper.write_text(f"#!{bare / 'bin' / 'python'}\nimport os, sys\n"
                       f"os.execv({DBT!r}, [{DBT!r}, *sys.argv[1:]])\n")
    wrapper.chmod(0o755)
    project = make_project(tmp_path / "p", SLOW_PROJECT)
    import_file(cli, tmp_path, f"""
jobs:
  - name: wrapped
    project_dir: {project}
    dbt_path: {wrapper}
    commands: ["dbt parse"]
""")
    launcher = ready_launcher(tmp_path / "helpers.log", dbt=str(wrapper))
    try:
        run_id = run_job(paths, "wrapped", launcher)
        with Store(paths.store) as store:
            assert store.get_run(run_id).status is RunStatus.SUCCESS
            text = log_text(store, run_id)
        assert f"cold start: dbt cannot be imported by {bare / 'bin' / 'python'}" in text
    finally:
        launcher.close()


def test_a_job_with_warm_false_runs_cold(cli, paths, tmp_path, warm):
    project = make_project(tmp_path / "p", SLOW_PROJECT)
    import_file(cli, tmp_path, f"""
jobs:
  - name: plain
    project_dir: {project}
    warm: false
    commands: ["dbt parse"]
""")
    exported = cli("jobs", "export", "-")
    assert "warm: false" in exported.out
    run_id = run_job(paths, "plain", warm)
    with Store(paths.store) as store:
        assert store.get_run(run_id).status is RunStatus.SUCCESS
        assert "warm start" not in log_text(store, run_id)


TWO_TARGETS = {
    "dbt_project.yml": "name: shared\nversion: '1.0.0'\nprofile: shared\nconfig-version: 2\n",
    "profiles.yml": "shared:\n  target: a\n  outputs:\n"
                    "    a:\n      type: duckdb\n      path: a.duckdb\n      threads: 1\n"
                    "    b:\n      type: duckdb\n      path: b.duckdb\n      threads: 1\n",
    "models/who.sql": "{{ config(materialized='table') }}\n"
                      "select '{{ env_var('WHO', 'nobody') }}' as who,\n"
                      "       '{{ target.name }}' as target_name,\n"
                      "       '{{ env_var('ONLY_ALPHA', 'absent') }}' as only_alpha\n",
}


def test_jobs_alternating_on_one_helper_see_only_their_own_env_and_target(
        cli, paths, tmp_path, warm):
    import duckdb

    project = make_project(tmp_path / "shared", TWO_TARGETS)
    import_file(cli, tmp_path, f"""
jobs:
  - name: alpha
    project_dir: {project}
    target: a
    env: {{WHO: alpha, ONLY_ALPHA: "yes"}}
    commands: ["dbt run"]
  - name: beta
    project_dir: {project}
    target: b
    env: {{WHO: beta}}
    commands: ["dbt run"]
""")
    helper_pid = warm.helpers()[0].pid
    for job, database, expected in [("alpha", "a", ("alpha", "a", "yes")),
                                    ("beta", "b", ("beta", "b", "absent"))] * 2:
        run_id = run_job(paths, job, warm)
        with Store(paths.store) as store:
            assert store.get_run(run_id).status is RunStatus.SUCCESS, log_text(store, run_id)
            assert f"warm start (helper pid {helper_pid}," in log_text(store, run_id)
        with duckdb.connect(str(project / f"{database}.duckdb"), read_only=True) as db:
            assert db.execute("select who, target_name, only_alpha from who").fetchone() \
                == expected
    assert "ONLY_ALPHA" not in os.environ  # and the test itself never had it


def test_status_shows_the_engines_helpers_with_dbt_version_pid_and_memory(tmp_path, serving):
    home = slow_home(tmp_path)
    serve = serving(home)
    wait_for(lambda: "ready: dbt 1." in binary(home, "status").out, timeout=180,
             what="the helper to be ready")
    helper = json.loads(binary(home, "status", "--json").out)["warm_helpers"][0]
    assert helper["state"] == "ready" and helper["python"] == interpreter_of(DBT)
    assert helper["rss_bytes"] > 50_000_000  # dbt's imports: well over 50 MB
    assert "duckdb (build)" in helper["detail"]  # what it warmed, said in status
    assert "warmed: duckdb (build)" in binary(home, "status").out
    assert Path(f"/proc/{helper['pid']}").exists()
    serve.stop()
    assert not Path(f"/proc/{helper['pid']}").exists() or gone(helper["pid"])
    assert "warm dbt" not in binary(home, "status").out  # no engine, no helpers


def test_warm_starts_off_in_settings_starts_no_helper(tmp_path, serving):
    home = slow_home(tmp_path)
    (home / "settings.toml").write_text("warm_starts = 'yes'\n")
    refused = binary(home, "serve", timeout=30)
    assert refused.code == 2
    assert refused.err.strip() == (f"dbt-console: {home / 'settings.toml'}: warm_starts must "
                                   "be true or false, got 'yes'")
    serving(home, settings="warm_starts = false\n")
    run = binary(home, "run", "quick", "--wait")
    assert run.code == 0, run.out + run.err
    assert "warm dbt:  no helper(s)" in binary(home, "status").out
    log = binary(home, "logs", "1").out
    assert "$ dbt parse" in log and "warm start" not in log and "cold start" not in log


def test_run_wait_with_no_engine_warms_a_helper_for_the_later_steps_and_stops_it(tmp_path):
    import re

    home = tmp_path / "home"
    assert binary(home, "demo", "--no-tui").code == 0
    run = binary(home, "run", "nightly", "--wait")
    assert run.code == 0, run.out + run.err
    log = binary(home, "logs", "1").out
    # The first step cannot wait for a helper that is still importing dbt...
    seed = log.split("$ dbt seed")[1].split("$ dbt build")[0]
    assert "cold start: the warm helper for this dbt is still starting" in seed
    # ...the second normally finds it ready (on a very slow machine it runs cold too).
    build = log.split("$ dbt build")[1]
    assert re.search(r"(warm start \(helper pid \d+|cold start: )", build)
    for pid in re.findall(r"helper pid (\d+)", log):
        assert gone(int(pid)), "the helper outlived the run"


def test_a_helper_whose_dbt_installation_changed_is_replaced(tmp_path):
    launcher = ready_launcher(tmp_path / "helpers.log")
    try:
        old = launcher.helpers()[0]
        assert old.watch and all(Path(p).exists() for p in old.watch)
        launcher.maintain()
        assert launcher.helpers()[0] is old  # nothing changed: kept
        # An upgrade rewrites site-packages; its directories' mtimes move. Moving ours
        # would disturb every other test's venv, so the helper's recorded marks are aged
        # instead: what maintain() compares is the same either way.
        old.marks = tuple((m or 0) - 1 for m in old.marks)
        launcher.maintain()
        new = launcher.helpers()[0]
        assert new is not old and new.pid != old.pid
        wait_for(lambda: gone(old.pid), timeout=10, what="the outdated helper to stop")
        assert new.ready.wait(180) and new.state == "ready"
    finally:
        launcher.close()


def test_run_wait_with_no_engine_warms_the_docs_step_of_a_one_command_job(tmp_path):
    """The docs step is a step: a job of one command plus docs has two dbt steps, and a
    helper starts beside the first. A job of one step gets none, and its log says why."""
    from conftest import binary, import_jobs

    project = make_project(tmp_path / "p", {**SLOW_PROJECT, "models/slow.sql": "select 1\n"})
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: documented
    project_dir: {project}
    commands: ["dbt parse"]
    generate_docs: true
  - name: single
    project_dir: {project}
    commands: ["dbt parse"]
""")
    assert binary(home, "run", "documented", "--wait").code == 0
    log = binary(home, "logs", "1").out
    assert ("warm start (helper pid" in log
            or "cold start: the warm helper for this dbt is still starting" in log), log
    assert binary(home, "run", "single", "--wait").code == 0
    assert "no warm start with no engine running: this run has one dbt step" in (
        binary(home, "logs", "2").out)


def test_a_warm_step_leaks_no_semaphores(cli, paths, tmp_path):
    """A step forked from a helper that only imported dbt (run --wait's) made dbt's locks
    itself and left through os._exit: the resource tracker then wrote 'leaked semaphore'
    warnings into the run's log."""
    launcher = WarmLauncher(tmp_path / "helpers.log", imports_only=True)
    launcher.prewarm([DBT])
    assert launcher.helper_for(interpreter_of(DBT)).ready.wait(180)
    project = make_project(tmp_path / "p", {**SLOW_PROJECT, "models/slow.sql": "select 1\n"})
    import_file(cli, tmp_path, f"""
jobs:
  - name: quick
    project_dir: {project}
    commands: ["dbt run"]
""")
    try:
        run_id = run_job(paths, "quick", launcher)
    finally:
        launcher.close()
    with Store(paths.store) as store:
        text = log_text(store, run_id)
        assert store.get_run(run_id).status is RunStatus.SUCCESS
    assert "warm start (helper pid" in text
    assert "leaked semaphore" not in text and "resource_tracker" not in text


@pytest.mark.slow
def test_the_warm_up_compiles_dbt_consoles_own_macros(tmp_path):
    """A CI run's compare step calls macros dbt-console copies into the clone. The helper
    gets their directory and compiles them with dbt's own before its first fork, so each
    step finds them in dbt's template cache (keyed by a macro's text) instead of compiling
    them again (about 50 ms a compare step)."""
    wanted = ["dbt_console_columns", "dbt_console_compare", "dbt_console_drop_schema",
              "dbt_console_measure", "dbt_console_scalars"]
    script = f"""
import sys
sys.path.insert(0, {str(HELPER_SCRIPT.parent)!r})
from warmup import warm_up
from dbt_common.clients.jinja import template_cache
warm_up(["duckdb"], True, {str(ci.MACROS)!r})
cached = list(template_cache.file_cache)
print(" ".join(m for m in {wanted!r} if any(f"macro {{m}}(" in k for k in cached)))
"""
    done = subprocess.run([interpreter_of(DBT), "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == wanted


def drain(process) -> str:
    """A step's output to its end (its pipes close when its command ends)."""
    out = []
    for fd in (process.stdout_fd(), process.stderr_fd()):
        while chunk := os.read(fd, 65536):
            out.append(chunk.decode(errors="replace"))
    return "".join(out)


def quick_project(root: Path) -> tuple[Path, dict]:
    project = make_project(root, {
        **SLOW_PROJECT, "models/slow.sql": "select 1 as n\n",
        "macros/say.sql": "{% macro say(word) %}{{ log('said ' ~ word, info=True) }}"
                          "{% endmacro %}\n"})
    return project, {**os.environ, "DBT_PROFILES_DIR": str(project), "DO_NOT_TRACK": "1"}


@pytest.mark.slow
def test_a_kept_step_runs_its_follow_up_in_its_own_process_with_the_project_loaded(
        tmp_path, warm):
    """How compare changes follows a CI build: the next command runs in the build's dbt
    process with the manifest the build loaded. Here it could not load one itself without
    writing dbt's partial parse file again, which was removed in between."""
    project, env = quick_project(tmp_path / "p")
    build = warm.start([DBT, "build"], project, env, keep=True)
    assert "Completed successfully" in drain(build)
    assert build.wait(60) == 0 and build.kept
    parse_file = project / "target" / "partial_parse.msgpack"
    parse_file.unlink()
    then = build.follow([DBT, "run-operation", "say", "--args", "{word: hello}"], project, env)
    assert then is not None and then.pid == build.pid and not build.kept
    assert "said hello" in drain(then)
    assert then.wait(60) == 0
    assert not parse_file.exists()
    wait_for(lambda: gone(build.pid), what="the kept process to exit after its follow-up")


@pytest.mark.slow
def test_a_kept_step_released_without_a_follow_up_exits(tmp_path, warm):
    project, env = quick_project(tmp_path / "p")
    step = warm.start([DBT, "parse"], project, env, keep=True)
    drain(step)
    assert step.wait(60) == 0 and step.kept and not gone(step.pid)
    step.release()
    wait_for(lambda: gone(step.pid), what="the released process to exit")
    assert step.follow([DBT, "parse"], project, env) is None


@pytest.mark.slow
def test_compare_changes_runs_in_the_ci_builds_own_dbt_process(tmp_path, warm):
    from test_ci import ci_home, push_branch

    home, _, work, _ = ci_home(tmp_path)
    paths = resolve_paths({"DBT_CONSOLE_HOME": str(home)})

    def execute(*args: str) -> int:
        queued = binary(home, "run", *args)  # no engine: it stays queued for us
        assert queued.code == 0, queued.err
        run_id = int(queued.out.split()[0])
        assert Executor(paths, Launchers(warm)).execute(run_id).status is RunStatus.SUCCESS
        return run_id

    execute("nightly")
    push_branch(work, "feature/kept", ("trim(name)", "upper(trim(name))"))
    run_id = execute("ci", "--branch", "feature/kept")
    with Store(paths.store) as store:
        pids = {command.split()[1]: pid for command, pid in store.conn.execute(
            "SELECT command, pid FROM steps WHERE run_id = ? AND pid IS NOT NULL", (run_id,))}
        text = log_text(store, run_id)
    assert pids["run-operation"] == pids["build"]
    assert "warm start: the process of the step before" in text
    [model] = json.loads(binary(home, "compare", str(run_id), "--json").out)["models"]
    assert (model["name"], model["note"], model["rows_changed"]) == ("stg_stations", None, 12)
