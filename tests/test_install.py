"""What an install gets: every adapter extra pins the dbt-core range dbt-console is
tested with, and an install outside it is warned about."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from conftest import binary
from dbt_console import dbtversion

pytestmark = pytest.mark.real

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"
ADAPTERS = ("duckdb", "postgres", "snowflake", "bigquery", "redshift", "databricks")


def test_every_adapter_extra_pins_the_tested_dbt_core():
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    low, high = dbtversion.TESTED
    pin = f"dbt-core>={low[0]}.{low[1]},<{high[0]}.{high[1]}"
    for adapter in ADAPTERS:
        assert pin in extras[adapter], adapter
        assert any(d.startswith(f"dbt-{adapter}") for d in extras[adapter]), adapter


def test_a_dbt_core_outside_the_tested_range_is_warned_about():
    assert dbtversion.untested("1.10.3") is None and dbtversion.untested("1.11.16") is None
    assert "1.13.0b1 is installed, but dbt-console is tested with 1.10 and 1.11" in (
        dbtversion.untested("1.13.0b1"))
    assert dbtversion.untested("1.9.8") and dbtversion.untested("2.0.0")


def test_status_names_the_dbt_core_that_runs(tmp_path):
    out = binary(tmp_path / "home", "status").out
    assert f"dbt-core:  {dbtversion.installed()}\n" in out  # in range here: no warning


def test_demo_without_dbt_duckdb_says_what_to_install(cli, home, monkeypatch):
    """An install without dbt-duckdb cannot exist in this test's venv (the suite needs
    it), so its absence is simulated: find_spec answers as it would there."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name.startswith(
        "dbt.adapters.duckdb") else real(name, *a))
    result = cli("demo", "--no-tui")
    assert result.code == 2
    assert "dbt-duckdb is not installed beside dbt-console: pip install " in result.err
    assert not (home / "demo").exists()  # nothing written
