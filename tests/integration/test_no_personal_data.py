"""No applicant name, ID number, phone or address reaches the warehouse in clear."""

from __future__ import annotations

import re

import msgspec
import pytest

from govkpi.config import OneStopSettings
from govkpi.extract import extract_onestop
from govkpi.simulator import OneStopServer, generate_world
from tests.helpers import dbt, query

PII_FIELDS = ("ChuHoSo", "SoGiayTo", "SoDienThoai", "DiaChi")
DIGIT_RUN = re.compile(r"\d{9,12}")


def _leaves(value, out: set[str]) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _leaves(v, out)
    elif isinstance(value, list):
        for v in value:
            _leaves(v, out)
    elif isinstance(value, str):
        out.add(value)


@pytest.fixture(scope="module")
def loaded(fresh_warehouse_module):
    wh = fresh_warehouse_module
    world = generate_world(seed=11, dossiers=600)
    clear = {str(d[f]) for d in world.dossiers_as_of() for f in PII_FIELDS if d.get(f)}
    assert len(clear) > 1000  # the simulator really fills personal data
    with OneStopServer(world) as srv:
        extract_onestop(wh, OneStopSettings(srv.url, srv.client_id, srv.client_secret),
                        mode="full")
    dbt("build", "--select", "staging", "--indirect-selection", "cautious")
    return wh, clear


def test_raw_payloads_hold_hashes_only(loaded):
    wh, clear = loaded
    strings: set[str] = set()
    hashed = 0
    for (payload,) in query(wh, "select payload::text from raw_onestop.hoso"):
        record = msgspec.json.decode(payload)
        _leaves(record, strings)
        hashed += sum(str(record.get(f) or "").startswith("hmac-sha256:") for f in PII_FIELDS)
    assert hashed == 4 * 600
    assert not (strings & clear)
    digits = {m for s in strings for m in DIGIT_RUN.findall(s)}  # IDs, phones inside any text
    assert not digits & clear


def test_quarantine_and_staging_hold_hashes_only(loaded):
    wh, clear = loaded
    tables = ["staging.stg_onestop__dossiers", "staging.stg_onestop__units",
              "staging.stg_onestop__procedures", "audit.quarantine"]
    for table in tables:
        values: set[str] = set()
        for (row,) in query(wh, f"select to_jsonb(t)::text from {table} as t"):
            _leaves(msgspec.json.decode(row), values)
        assert not (values & clear), table
        assert not {m for s in values for m in DIGIT_RUN.findall(s)} & clear, table
    cols = {c for (c,) in query(
        wh, "select column_name from information_schema.columns where table_schema = 'staging' "
            "and table_name = 'stg_onestop__dossiers'")}
    assert {"applicant_name_hash", "applicant_id_number_hash", "applicant_phone_hash",
            "applicant_address_hash"} <= cols
