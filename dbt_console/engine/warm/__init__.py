"""Warm starts: dbt steps forked from a helper process that has already imported dbt."""
