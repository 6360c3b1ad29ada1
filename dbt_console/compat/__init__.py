"""Where dbt-console leans on a library's internals: each use in one module per library,
saying what it relies on and checking it is still there (tests/test_compat.py)."""
