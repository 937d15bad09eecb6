"""The loader packs raw rows as binary COPY tuples itself (``govkpi.load.raw``): every column
must come back from PostgreSQL exactly as the record said, at the edges of each encoding —
a non-ASCII key, microseconds, times before 2000-01-01 (negative offsets from PostgreSQL's
epoch), other UTC offsets, a missing modification time, payloads with escapes — and a page
larger than one write (rows go out in groups of 64)."""

from __future__ import annotations

import asyncio
import datetime as dt

import msgspec

from govkpi.load.raw import load_batch
from govkpi.privacy import PiiHasher
from govkpi.sources.records import Endpoint, validate
from tests.helpers import query


class Thing(msgspec.Struct, gc=False):
    code: str
    changed: str | None = None  # ISO 8601 kept as text here: the loader reads Record fields


def _endpoint() -> Endpoint:
    return Endpoint("hoso", "/things", Thing, "code", "changed", pii_fields=("ChuHoSo",))


def _records(bodies: list[bytes], times: list[dt.datetime | None]):
    endpoint = _endpoint()
    out = []
    for body, when in zip(bodies, times, strict=True):
        rec = validate(endpoint, body)
        rec.updated_at = when
        out.append(rec)
    return out


async def _pages(records, size):
    for i in range(0, len(records), size):
        yield records[i:i + size]


def test_packed_rows_round_trip_at_the_edges(fresh_warehouse):
    wh = fresh_warehouse
    utc = dt.UTC
    times = [
        dt.datetime(2017, 3, 14, 9, 12, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=7))),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=utc),  # just before PG's epoch
        dt.datetime(1975, 4, 30, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        dt.datetime(2000, 1, 1, tzinfo=utc),  # PG's epoch itself: 0
        None,
        dt.datetime(2030, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ]
    bodies = [
        '{"code":"Hồ sơ-1","ChuHoSo":"Lê Minh","GhiChu":"tab\\tquote\\" \\\\"}'.encode(),
        b'{"code":"H-2","nested":{"a":[1,2.5,null,true]}}',
        b'{"code":"H-3","ChuHoSo":null,"v":"\\u00ea\\ud83d\\ude00"}',
        b'{"code":"H-4"}',
        b'{"code":"H-5","ChuHoSo":"0905123456"}',
        b'{"code":"' + b"K" * 300 + b'","big":"' + b"x" * 5000 + b'"}',
    ]
    # 6 special rows, then 150 ordinary ones: more than two writes of 64 in one page of 156
    bodies += [b'{"code":"P-%d","ChuHoSo":"Name %d"}' % (i, i % 7) for i in range(150)]
    times += [dt.datetime(2018, 1, 1, 8, 0, i % 60, tzinfo=utc) for i in range(150)]
    records = _records(bodies, times)
    hasher = PiiHasher(b"k" * 32)
    result = asyncio.run(load_batch(wh, "onestop", _endpoint(), _pages(records, 156),
                                    hasher=hasher))
    assert (result.received, result.loaded, result.quarantined) == (156, 156, 0)

    rows = {key: (updated, payload, batch) for key, updated, payload, batch in query(
        wh, "select record_key, source_updated_at, payload, batch_id from raw_onestop.hoso")}
    assert len(rows) == 156
    for rec, when in zip(records, times, strict=True):
        updated, payload, batch = rows[rec.key]
        assert updated == when, rec.key
        assert batch == result.batch_id
        expected = hasher.scrub(msgspec.json.decode(rec.raw), ("ChuHoSo",))
        assert payload == expected, rec.key
    assert rows["Hồ sơ-1"][1]["GhiChu"] == 'tab\tquote" \\'
    assert rows["H-3"][1]["v"] == "ê😀"
    assert rows["H-5"][1]["ChuHoSo"] == hasher.hash_value("0905123456")
    assert query(wh, "select watermark from audit.watermark") == [
        (dt.datetime(2030, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))),)]
