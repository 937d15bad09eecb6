"""A source that errors, rate-limits, drops connections and truncates bodies still loads
completely: every faulted request is retried and nothing is lost or doubled."""

from __future__ import annotations

import logging

import pytest

from govkpi.config import OneStopSettings
from govkpi.extract import extract_onestop
from govkpi.simulator import OneStopServer, generate_world
from govkpi.simulator.serving import Faults
from tests.helpers import query


def test_extract_survives_injected_faults(fresh_warehouse, caplog):
    world = generate_world(seed=21, dossiers=1500)
    faults = Faults(error_5xx=0.15, rate_limit_429=0.15, retry_after_seconds=0,
                    dropped_connection=0.1, truncated_body=0.1, seed=4)
    caplog.set_level(logging.WARNING, logger="govkpi.sources.http")
    with OneStopServer(world, faults=faults) as srv:
        settings = OneStopSettings(srv.url, srv.client_id, srv.client_secret, page_size=50)
        results = extract_onestop(fresh_warehouse, settings, mode="full")
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    kinds = {k for k in ("HTTP 503", "HTTP 429") for m in retried if k in m}
    assert len(retried) >= 5
    assert {"HTTP 503", "HTTP 429"} <= kinds, retried
    hoso = results[-1]
    assert hoso.received == hoso.loaded == 1500
    assert hoso.quarantined == 0
    assert query(fresh_warehouse, "select count(*), count(distinct record_key) "
                 "from raw_onestop.hoso") == [(1500, 1500)]


def test_fault_spec_parsing():
    f = Faults.parse("5xx=0.02,429=0.01,latency=50,retry-after=2", seed=3)
    assert (f.error_5xx, f.rate_limit_429, f.latency_ms, f.retry_after_seconds, f.seed) == (
        0.02, 0.01, 50, 2, 3)
    assert f.draw("GET /a?page=1") == Faults(seed=3).draw("GET /a?page=1")  # deterministic
    with pytest.raises(ValueError, match="expected one of"):
        Faults.parse("boom=1")
