"""Which models compare changes measures (ci/compare.targets), from two manifests: the
branch's models whose SQL changed or that production lacks, with their primary key, and
whether production's own run built them (only then is production's relation taken as
existing without asking the warehouse)."""

from __future__ import annotations

import pytest

from dbt_console.ci.compare import targets

pytestmark = pytest.mark.unit


def model(name: str, checksum: str, schema: str = "main") -> dict:
    return {"resource_type": "model", "name": name, "database": "wh", "schema": schema,
            "alias": name, "checksum": {"name": "sha256", "checksum": checksum},
            "config": {"materialized": "view"}}


def data_test(name: str, column: str, model_id: str) -> dict:
    return {"resource_type": "test", "column_name": column, "attached_node": model_id,
            "test_metadata": {"name": name, "kwargs": {"column_name": column}}}


def test_changed_and_new_models_are_measured_and_production_built_ones_not_looked_up():
    a, b, c = "model.p.a", "model.p.b", "model.p.c"
    prod = {"nodes": {a: model("a", "1"), b: model("b", "2"), c: model("c", "3")}}
    branch = {"nodes": {a: model("a", "1x", "ci"), b: model("b", "2", "ci"),
                        c: model("c", "3x", "ci"), "model.p.d": model("d", "4", "ci"),
                        "test.p.u": data_test("unique", "id", a),
                        "test.p.n": data_test("not_null", "id", a),
                        "test.p.u2": data_test("unique", "id", c)}}
    found = targets(branch, prod, {a, b, c, "model.p.d"}, frozenset({a, b}))
    assert [(t["id"], t["prod_built"], t["key"]) for t in found] == [
        (a, True, "id"),  # changed; production's run built it; unique + not_null: a key
        (c, False, None),  # changed, but production's run did not build it: looked up
        ("model.p.d", False, None)]  # new: production has no such model
    assert found[0]["prod"] == ["wh", "main", "a"] and found[0]["branch"] == ["wh", "ci", "a"]
    assert found[2]["prod"] is None
