"""The HTTP API: dbt Cloud's Admin API v2 paths and wire shapes, so orchestrators' dbt
Cloud operators (Airflow, Prefect, Dagster) can be pointed at dbt-console unchanged.
Served by `dbt-console serve --api`; needs the `api` extra (Starlette, uvicorn)."""
