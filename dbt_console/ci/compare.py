"""Compare changes: how each model a CI branch modified differs from production's, and
the dbt macro that measures it on the job's own adapter. Pure: no I/O.

The engine copies the macro (macros/dbt_console_compare.sql) into the run's clone, calls
it with `dbt run-operation` and reads back one log line per model (LINE_PREFIX + JSON): the
warehouse is only ever reached through dbt's own connection, so it works on any adapter.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

MACRO = "dbt_console_compare"
MACRO_FILE = "dbt_console_compare.sql"
LINE_PREFIX = "dbt-console-compare "
# The key diff joins the two relations; above this many rows in either it is skipped and
# only counts and columns are compared (a count and a column list cost nothing).
KEY_DIFF_MAX_ROWS = 1_000_000
# A branch that modified more models than this compares the first ones by name.
MAX_MODELS = 50


@dataclass(frozen=True)
class ModelDiff:
    """One modified model: production's relation against the branch's."""

    unique_id: str
    name: str
    prod_rows: int | None = None  # None: production has no such relation (a new model)
    branch_rows: int | None = None
    added_columns: tuple[str, ...] = ()
    removed_columns: tuple[str, ...] = ()
    type_changes: tuple[tuple[str, str, str], ...] = ()  # column, production's, branch's
    key: str | None = None  # the primary key the rows were matched by
    rows_added: int | None = None
    rows_removed: int | None = None
    rows_changed: int | None = None
    note: str | None = None  # why part of the comparison was not made

    @property
    def differs(self) -> bool:
        return bool(self.prod_rows != self.branch_rows or self.added_columns
                    or self.removed_columns or self.type_changes or self.rows_added
                    or self.rows_removed or self.rows_changed)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "differs": self.differs}


def from_dict(data: dict[str, Any]) -> ModelDiff:
    fields = {k: v for k, v in data.items() if k in ModelDiff.__dataclass_fields__}
    for key in ("added_columns", "removed_columns"):
        fields[key] = tuple(fields.get(key) or ())
    fields["type_changes"] = tuple(tuple(t) for t in fields.get("type_changes") or ())
    return ModelDiff(**fields)


def dumps(diffs: list[ModelDiff]) -> str:
    return json.dumps([d.to_dict() for d in diffs])


def loads(text: str) -> list[ModelDiff]:
    return [from_dict(d) for d in json.loads(text)]


def targets(branch: dict[str, Any], prod: dict[str, Any], built: set[str],
            built_in_prod: frozenset[str] = frozenset()) -> list[dict]:
    """The macro's argument for each model this run built whose SQL differs from
    production's manifest, or that production does not have: where each relation is, its
    primary key if its tests name one, and whether production's run built it (then the
    macro need not ask the warehouse whether it exists)."""
    out = []
    prod_nodes = prod.get("nodes", {})
    for uid in sorted(built):
        node = branch.get("nodes", {}).get(uid)
        if not node or node.get("resource_type") != "model" or _ephemeral(node):
            continue
        before = prod_nodes.get(uid)
        if before is not None and (before.get("checksum") == node.get("checksum")):
            continue
        out.append({"id": uid, "name": node.get("name", uid), "branch": _where(node),
                    "prod": None if before is None or _ephemeral(before) else _where(before),
                    "prod_built": uid in built_in_prod, "key": primary_key(branch, uid)})
    return out[:MAX_MODELS]


def _ephemeral(node: dict[str, Any]) -> bool:
    return (node.get("config") or {}).get("materialized") == "ephemeral"


def _where(node: dict[str, Any]) -> list[str | None]:
    return [node.get("database"), node.get("schema"), node.get("alias") or node.get("name")]


def primary_key(manifest: dict[str, Any], uid: str) -> str | None:
    """The model's primary key as dbt Cloud infers it: a column with both a unique and a
    not_null test."""
    tested: dict[str, set[str]] = {}
    for node in manifest.get("nodes", {}).values():
        meta = node.get("test_metadata") or {}
        column = node.get("column_name") or (meta.get("kwargs") or {}).get("column_name")
        attached = node.get("attached_node") or next(
            iter((node.get("depends_on") or {}).get("nodes") or []), None)
        if (node.get("resource_type") == "test" and attached == uid and column
                and meta.get("name") in ("unique", "not_null")):
            tested.setdefault(column.lower(), set()).add(meta["name"])
    keys = sorted(c for c, tests in tested.items() if tests == {"unique", "not_null"})
    return keys[0] if keys else None


def parse(message: str) -> dict[str, Any] | None:
    """A measurement the macro logged, or None for any other line."""
    if not message.startswith(LINE_PREFIX):
        return None
    try:
        data = json.loads(message[len(LINE_PREFIX):])
    except ValueError:
        return None
    return data if isinstance(data, dict) and "id" in data else None


def diff_of(target: dict[str, Any], measured: dict[str, Any]) -> ModelDiff:
    """A model's differences from its target and what the macro measured of it."""
    prod_cols = {c.lower(): (c, t) for c, t in measured.get("prod_columns") or []}
    branch_cols = {c.lower(): (c, t) for c, t in measured.get("branch_columns") or []}
    has_prod = measured.get("prod_rows") is not None
    return ModelDiff(
        unique_id=target["id"], name=target["name"],
        prod_rows=measured.get("prod_rows"), branch_rows=measured.get("branch_rows"),
        added_columns=tuple(branch_cols[c][0] for c in branch_cols if c not in prod_cols)
        if has_prod else (),
        removed_columns=tuple(prod_cols[c][0] for c in prod_cols if c not in branch_cols),
        type_changes=tuple((branch_cols[c][0], prod_cols[c][1], branch_cols[c][1])
                           for c in branch_cols if c in prod_cols
                           and prod_cols[c][1].lower() != branch_cols[c][1].lower()),
        key=measured.get("key"), rows_added=measured.get("rows_added"),
        rows_removed=measured.get("rows_removed"), rows_changed=measured.get("rows_changed"),
        note=measured.get("note"))


def differing_words(n: int) -> str:
    return f"{n} model{' differs' if n == 1 else 's differ'}"


def cells(diff: ModelDiff) -> tuple[str, str, str]:
    """Rows, columns and by-key differences in words, for tables."""
    if diff.prod_rows is None and diff.branch_rows is None:
        return "?", "?", diff.note or "not measured"
    if diff.prod_rows is None:
        rows = f"new: {_n(diff.branch_rows)}"
    else:
        rows = f"{_n(diff.prod_rows)} → {_n(diff.branch_rows)}"
    columns = [f"+{c}" for c in diff.added_columns] + [f"-{c}" for c in diff.removed_columns]
    columns += [f"{c}: {a} → {b}" for c, a, b in diff.type_changes]
    if diff.rows_added is not None:
        keyed = (f"{diff.rows_added} added, {diff.rows_removed} removed, "
                 f"{diff.rows_changed} changed (by {diff.key})")
    else:
        keyed = diff.note or "no primary key"
    return rows, ", ".join(columns) or "same", keyed


def _n(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"
