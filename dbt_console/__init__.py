"""dbt-console: run dbt Core in production from one machine."""

__version__ = "0.1.0"
