"""A CI branch's second run parses partially: a generated 300-model project (the one of
overhead.py) in a real git repository, a production run, then CI runs of feature/x,
feature/y and feature/x again, each changing one staging model, through `run --wait`.

    python benchmarks/ci_parse.py

Before, the second feature/x run reused feature/y's parse, whose rendered profile had
another schema, and dbt parsed all 300 models again. Target (issue 21): the second run
of a branch parses partially; its wall time is shown against the first's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from overhead import large_project

PROFILE = ("large:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
           "      path: \"{db}\"\n      threads: 4\n"
           "      schema: \"{{{{ env_var('DBT_CONSOLE_CI_SCHEMA', 'main') }}}}\"\n")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=B", "-c", "user.email=b@example.org", *args],
                   cwd=cwd, check=True, capture_output=True)


def cli(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "dbt_console", *args], env=env,
                          capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr)
    return done.stdout


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-ci-parse-") as tmp:
        root = Path(tmp)
        work = large_project(root / "work")
        (work / "profiles.yml").write_text(PROFILE.format(db=root / "large.duckdb"))
        git(work, "init", "-q", "-b", "main")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "large")
        bare = root / "large.git"
        git(root, "clone", "-q", "--bare", str(work), str(bare))
        env = {**os.environ, "DBT_CONSOLE_HOME": str(root / "home"), "DO_NOT_TRACK": "1"}
        (root / "jobs.yml").write_text(
            f"jobs:\n  - name: nightly\n    git: {{url: {bare}, branch: main}}\n"
            '    commands: ["dbt build"]\n  - name: ci\n'
            f"    git: {{url: {bare}, branch: main}}\n"
            '    ci: {defer_to: nightly, branches: "feature/*"}\n')
        cli(env, "jobs", "import", str(root / "jobs.yml"))
        cli(env, "run", "nightly", "--wait")
        for n, branch in enumerate(("feature/x", "feature/y")):
            git(work, "checkout", "-q", "-B", branch, "main")
            model = work / "models" / f"stg_{n}.sql"
            model.write_text(model.read_text() + f"-- changed on {branch}\n")
            git(work, "commit", "-q", "-am", branch)
            git(work, "push", "-q", str(bare), branch)
        results = []
        for branch in ("feature/x", "feature/y", "feature/x"):
            start = time.perf_counter()
            cli(env, "run", "ci", "--branch", branch, "--wait")
            took = time.perf_counter() - start
            run_id = json.loads(cli(env, "runs", "--json", "--limit", "1"))[0]["id"]
            log = cli(env, "logs", str(run_id))
            results.append((branch, took, "Unable to do partial parsing" not in log))
    for (branch, took, partial), label in zip(results, ("first", "other branch", "second"),
                                               strict=True):
        print(f"{label:<13} CI run of {branch}: {took:5.1f}s, "
              f"{'partial parse' if partial else 'full parse'}")
    first, second = results[0][1], results[2][1]
    print(f"second run of feature/x vs its first: {second:.1f}s vs {first:.1f}s = "
          f"{second / first:.2f}x   (target: the second parses partially: "
          f"{'met' if results[2][2] else 'missed'})")
    return 0 if results[2][2] else 1


if __name__ == "__main__":
    sys.exit(main())
