"""How a batch of log lines is packed into one compressed blob, and back.

A row is the tuple (ts, level, step, event, node_id, node_status, msg): the log pump
builds these directly because constructing an object per line costs more than parsing it.
"""

from __future__ import annotations

import zlib

import orjson

from dbt_console.model import LogLine

Row = tuple  # (ts, level, step, event, node_id, node_status, msg)

# Live chunks are small and written every ~100 ms: favour speed. Compaction favours size.
FAST, SMALL = 1, 6


def encode(rows: list[Row], level: int = FAST) -> bytes:
    return zlib.compress(orjson.dumps(rows), level)


def decode_rows(blob: bytes) -> list[list]:
    return orjson.loads(zlib.decompress(blob))


def decode(first_seq: int, blob: bytes) -> list[LogLine]:
    return [LogLine(first_seq + i, ts, level, step, msg, event, node_id, node_status)
            for i, (ts, level, step, event, node_id, node_status, msg)
            in enumerate(decode_rows(blob))]
