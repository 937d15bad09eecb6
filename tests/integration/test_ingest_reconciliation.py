"""Every endpoint of the three systems, crawled from the real simulator into PostgreSQL, reconciles
with what the source serves as of T: distinct keys loaded + quarantined = distinct keys served,
and the (key, modification time) checksum of the latest loaded versions equals the served one.
Also: the three time formats parse to the same aware instants."""

from __future__ import annotations

import datetime as dt

import pytest

from govkpi.extract import extract
from govkpi.simulator import SimulatedProvince
from govkpi.sources import times
from tests.helpers import query
from tests.integration._ingest import (
    ENDPOINTS,
    checksum,
    latest_loaded,
    quarantined,
    served,
    settings,
)


@pytest.fixture(scope="module")
def crawled(fresh_warehouse_module):
    wh = fresh_warehouse_module
    with SimulatedProvince(seed=41, dossiers=1200) as province:
        conf = settings(province, page_size=300)
        results = {}
        for system in ("onestop", "eoffice", "dvc"):
            for r in extract(system, wh, conf[system], mode="full"):
                results[(system, r.endpoint)] = r
        expected = {ep: served(province, *ep) for ep in ENDPOINTS}
    return wh, results, expected


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: ".".join(e))
def test_endpoint_reconciles_with_the_source(crawled, endpoint):
    wh, results, expected = crawled
    source = expected[endpoint]
    assert source, endpoint  # the simulator serves something on every endpoint
    loaded = latest_loaded(wh, *endpoint)
    rejected = quarantined(wh, *endpoint)
    assert not loaded.keys() & rejected.keys()
    assert len(loaded) + len(rejected) == len(source)
    assert loaded.keys() | rejected.keys() == source.keys()
    assert not rejected, rejected  # a clean source: nothing to quarantine
    assert checksum(loaded.items()) == checksum((k, t) for k, (t, _) in source.items())
    batch = results[endpoint]
    assert batch.received == batch.loaded + batch.quarantined == len(source)
    assert batch.duplicates == 0
    assert query(wh, "select received_count, loaded_count, status from audit.load_batch "
                 "where batch_id = %s", (batch.batch_id,)) == [
        (len(source), len(source), "succeeded")]
    mark = query(wh, "select watermark from audit.watermark where source_system = %s and "
                 "endpoint = %s", endpoint)
    assert mark == [(max(t for t, _ in source.values()),)]


def test_raw_payloads_are_the_records_as_sent(crawled):
    wh, _, expected = crawled
    for endpoint in (("eoffice", "documents"), ("dvc", "payments")):
        rows = dict(query(wh, f"select record_key, payload from raw_{endpoint[0]}."
                              f"{endpoint[1]}"))
        assert rows == {k: r for k, (_, r) in expected[endpoint].items()}


def test_the_three_time_formats_parse_to_one_instant():
    instant = dt.datetime(2017, 3, 14, 2, 12, 5, tzinfo=dt.UTC)
    for value in (times.parse_iso("2017-03-14T09:12:05+07:00"),
                  times.parse_local("14/03/2017 09:12:05"),
                  times.parse_epoch_ms(1489457525000)):
        assert value == instant
        assert str(value.tzinfo) == "Asia/Ho_Chi_Minh"
    assert times.format_local(instant) == "14/03/2017 09:12:05"
    assert times.to_epoch_ms(instant) == 1489457525000
    for parse, bad, reason in (
            (times.parse_iso, "2017-03-14T09:12:05", "has no UTC offset"),
            (times.parse_iso, "2017-02-30T09:00:00+07:00", "is not a valid date"),
            (times.parse_local, "2017-03-14 09:12:05", "is not dd/MM/yyyy HH:mm:ss"),
            (times.parse_local, "30/02/2017 09:12:05", "is not a valid date"),
            (times.parse_epoch_ms, "1489457525000", "is not epoch milliseconds"),
            (times.parse_epoch_ms, True, "is not epoch milliseconds")):
        with pytest.raises(times.TimeFormatError, match=reason):
            parse(bad)
