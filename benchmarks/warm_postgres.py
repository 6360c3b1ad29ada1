"""Warm starts off DuckDB: a jaffle-size project on a real PostgreSQL 15 server.

`dbt-console run jaffle --wait` on a running engine (its warm helper parsed and compiled a
throwaway Postgres project at start) against `dbt build` typed in a shell in the project,
interleaved round by round, medians and their ratio.       Target (issue 21): <= 0.35x

The server is the tests' own (tests/pgserver.py: initdb into /tmp as the postgres user),
so this needs root and /usr/lib/postgresql/15/bin, and an install with `.[postgres]`.

    python benchmarks/warm_postgres.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pgserver  # noqa: E402 - the tests' server, found through the path above
from overhead import CONSOLE, DBT, Engine, compare  # noqa: E402

TARGET = 0.35
ID_TESTS = "      - name: {col}\n        data_tests: [unique, not_null]\n"


def jaffle(root: Path, port: int) -> Path:
    """The jaffle shop's shape: three seeds, three staging views, two marts, ten tests."""
    files = {
        "dbt_project.yml": "name: jaffle\nversion: '1.0'\nprofile: jaffle\nconfig-version: 2\n"
                           "models:\n  jaffle:\n    staging: {+materialized: view}\n"
                           "    marts: {+materialized: table}\n",
        "profiles.yml": "jaffle:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n"
                        f"      host: 127.0.0.1\n      port: {port}\n      user: dbt\n"
                        "      password: \"{{ env_var('PG_PASSWORD') }}\"\n"
                        "      dbname: analytics\n      schema: jaffle\n      threads: 4\n",
        "seeds/raw_customers.csv": "id,first_name\n" + "".join(
            f"{i},name{i}\n" for i in range(1, 101)),
        "seeds/raw_orders.csv": "id,user_id,order_date,status\n" + "".join(
            f"{i},{i % 100 + 1},2024-01-{i % 28 + 1:02d},"
            f"{('placed', 'shipped', 'completed', 'returned')[i % 4]}\n" for i in range(1, 100)),
        "seeds/raw_payments.csv": "id,order_id,payment_method,amount\n" + "".join(
            f"{i},{i % 99 + 1},{('card', 'coupon', 'bank_transfer')[i % 3]},{i * 100}\n"
            for i in range(1, 114)),
        "models/staging/stg_customers.sql": "select id as customer_id, first_name "
                                            "from {{ ref('raw_customers') }}\n",
        "models/staging/stg_orders.sql": "select id as order_id, user_id as customer_id, "
                                         "order_date, status from {{ ref('raw_orders') }}\n",
        "models/staging/stg_payments.sql": "select id as payment_id, order_id, payment_method, "
                                           "amount / 100.0 as amount "
                                           "from {{ ref('raw_payments') }}\n",
        "models/marts/orders.sql": "select o.order_id, o.customer_id, o.order_date, o.status, "
                                   "coalesce(sum(p.amount), 0) as amount\n"
                                   "from {{ ref('stg_orders') }} o left join "
                                   "{{ ref('stg_payments') }} p using (order_id)\n"
                                   "group by 1, 2, 3, 4\n",
        "models/marts/customers.sql": "select c.customer_id, c.first_name, "
                                      "min(o.order_date) as first_order, "
                                      "count(o.order_id) as orders, "
                                      "coalesce(sum(o.amount), 0) as lifetime_value\n"
                                      "from {{ ref('stg_customers') }} c left join "
                                      "{{ ref('orders') }} o using (customer_id)\n"
                                      "group by 1, 2\n",
        "models/schema.yml": "models:\n"
        + "".join(f"  - name: {model}\n    columns:\n" + ID_TESTS.format(col=col)
                  for model, col in (("stg_customers", "customer_id"),
                                     ("stg_orders", "order_id"),
                                     ("stg_payments", "payment_id"),
                                     ("orders", "order_id"), ("customers", "customer_id"))),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    why = pgserver.available()
    if why:
        sys.exit(f"cannot run: {why}")
    server = pgserver.make()
    root = Path(tempfile.mkdtemp(prefix="dbt-console-warm-pg-"))
    try:
        project = jaffle(root / "jaffle", server.port)
        env = {**os.environ, "DBT_CONSOLE_HOME": str(root / "home"), "DO_NOT_TRACK": "1",
               "PG_PASSWORD": pgserver.PASSWORD}
        jobs = root / "jobs.yml"
        jobs.write_text(f"jobs:\n  - name: jaffle\n    project_dir: {project}\n"
                        "    env: {PG_PASSWORD: '${PG_PASSWORD}'}\n"
                        "    commands: ['dbt build']\n")
        subprocess.run([*CONSOLE, "jobs", "import", str(jobs)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        engine = Engine(root / "home", env)
        try:
            ratio = compare("warm", args.rounds,
                            ([*CONSOLE, "run", "jaffle", "--wait"], root / "home", env),
                            ([DBT, "build"], project, {**env, "DBT_PROFILES_DIR": str(project)}))
        finally:
            engine.stop()
        print(f"summary: warm on Postgres {ratio:.3f}x (target <= {TARGET}x): "
              f"{'met' if ratio <= TARGET else 'MISSED'}")
    finally:
        server.remove()


if __name__ == "__main__":
    main()
