"""Every API endpoint under inputs no client would send (issue 33): Hypothesis makes the
path ids, query parameters and bodies (deep nesting, other scripts' digits, NUL, lone
surrogates, invalid UTF-8, numbers past 2^63), a real `serve --api` answers over real
HTTP. No answer is a 5xx, and a 4xx leaves the jobs and runs as they were."""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, reject, settings
from hypothesis import strategies as st

from conftest import copy_home, token
from dbt_console.api.app import ROUTES

pytestmark = pytest.mark.e2e

NASTY = st.sampled_from([
    "", "0", "1", "2", "-1", "²", "٣", "1e3", "0x1", " 1", str(1 << 63), str(1 << 70),
    "9" * 40, "\x00", "a\x00b", "\udfff", "a\r\nb", "%00", "x" * 300, "null", "[]", "{}",
    '["run_steps"]', "['job', 'trigger']", '[["x"]]', "[1, [2]]", '["a", {"b": 1}]',
    '["2024-01-01", "2024-01-02"]', '["nope", "2024-01-02"]', "-infinity", "NaN"])


def deep(*sizes: int):
    """Nesting at the sizes that matter: within the API's limit, just past it, past
    Python's recursion limit (1000), and far past."""
    return st.sampled_from(sizes).flatmap(lambda n: st.sampled_from(
        ["[" * n + "]" * n, "[" * n, '{"a":' * n + "1" + "}" * n]))


# Nesting past Python's own limit (1000) still fits in a URL (httpx's limit: 64 KiB).
TEXT = st.one_of(NASTY, deep(2, 32, 33, 1001, 1500), st.text(max_size=40))
QUERY_KEYS = st.sampled_from([
    "status__in", "status", "include_related", "finished_at__range", "limit", "offset",
    "order_by", "job_definition_id", "project_id", "environment_id", "name__icontains",
    "state", "x"])
BODY_KEYS = st.sampled_from([
    "cause", "git_branch", "git_sha", "schema_override", "target_name_override",
    "threads_override", "timeout_seconds_override", "generate_docs_override",
    "steps_override", "environment_id", "project_id", "account_id", "name", "description",
    "execute_steps", "triggers", "settings", "job_type", "state", "dbt_version_override"])
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70),
                   st.floats(allow_nan=False), TEXT)
JSON_VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                          max_leaves=10)
BODY = st.one_of(
    st.none(),
    st.dictionaries(BODY_KEYS, JSON_VALUE, max_size=5).map(json.dumps).map(str.encode),
    JSON_VALUE.map(json.dumps).map(str.encode),
    deep(2, 33, 1001, 100_000).map(str.encode),
    st.binary(max_size=60),
    st.just(b'{"cause": "\\udfff", "description": "\\ud800"}'))


def _saved(store) -> tuple:
    """What a refused request must not change: every job's row, and the runs there are."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return (conn.execute("SELECT * FROM jobs ORDER BY id").fetchall(),
                conn.execute("SELECT count(*), max(id) FROM runs").fetchone())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def fuzzed_api(demo_runs, tmp_path_factory):
    """One server for every route's examples: each example checks its own answer."""
    from conftest import Serving

    home = copy_home(demo_runs, tmp_path_factory.mktemp("fuzz"))
    secret = token(home, "fuzz", "editor")  # the widest a token gets: creates and deletes
    # One run at a time and a short stop: a valid trigger found by the fuzzer queues a
    # real run, which need not hold the machine.
    serve = Serving(home, settings="max_concurrent_runs = 1\nstop_grace_seconds = 1\n",
                    args=("--api", "127.0.0.1:0"))
    root = httpx.URL(serve.api_url).copy_with(path="/")
    try:
        with httpx.Client(base_url=root, timeout=30,
                          headers={"Authorization": f"Token {secret}"}) as client:
            yield home / "dbt-console.db", client
    finally:
        serve.proc.kill()
        serve.proc.wait()


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1].split('}/', 1)[-1]}"
                         if isinstance(r, tuple) else None)
# No shrinking: against a real server it takes minutes, and the first failing input,
# printed whole, says enough.
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.filter_too_much])
# What the campaign that filed issue 33 sent, always tried, on every route:
@example(ids=["1", "1", "1"], body=b"[" * 1001 + b"]" * 1001,
         query={k: "[" * 1001 + "]" * 1001 for k in ("status__in", "include_related")})
@example(ids=["²", "٣", str(1 << 63)], body=b'{"cause": "x", "description": "\\udfff"}',
         query={"finished_at__range": "[" * 1001, "environment_id": str(1 << 63)})
@given(ids=st.lists(TEXT, min_size=3, max_size=3),
       query=st.dictionaries(QUERY_KEYS, TEXT, max_size=4), body=BODY)
def test_no_input_gets_a_5xx_and_a_refused_one_changes_nothing(fuzzed_api, route, ids,
                                                               query, body):
    store, client = fuzzed_api
    method, template, _ = route
    path = template.replace("{account_id:int}", "1")
    for name, value in zip(("{project_id}", "{environment_id}", "{job_id}", "{run_id}",
                            "{path:path}"), ids * 2, strict=False):
        path = path.replace(name, quote(value.encode("utf-8", "surrogatepass"), safe=""))
    params = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
              for k, v in query.items()}
    before = _saved(store)
    try:
        request = client.build_request(method, path, params=params, content=body,
                                       headers={"Content-Type": "application/json"})
    except httpx.InvalidURL:
        reject()  # past what a URL holds (httpx stops at 64 KiB): no client sends it
    answer = client.send(request)
    assert answer.status_code < 500, (method, path, params, body, answer.text)
    if 400 <= answer.status_code < 500:
        assert _saved(store) == before, (method, path, params, body, answer.text)
