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
    dbt("build", "--select", "+staging", "--indirect-selection", "cautious")
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


# --------------------------------------------------------------------------------------------
# every raw, audit and staging table, with all three systems and messy records quarantined

RAW_SCHEMAS = ("raw_onestop", "raw_eoffice", "raw_dvc", "raw_files")
MESS_SPEC = "malformed=0.08,repeat=0.03,move=0.03,missing=0.03"


@pytest.fixture(scope="module")
def province_warehouse(server):
    """A database of its own (the fixture above fills the module's one)."""
    from tests.conftest import _own_database

    yield from _own_database(server)


@pytest.fixture(scope="module")
def province_loaded(province_warehouse):
    from govkpi.extract import extract
    from govkpi.simulator import SimulatedProvince
    from govkpi.simulator.mess import Mess
    from tests.integration._ingest import settings

    wh = province_warehouse
    with SimulatedProvince(seed=23, dossiers=1200, years=(2017,),
                           mess=Mess.parse(MESS_SPEC, seed=3)) as province:
        clear = {str(d[f]) for d in province.world.dossiers_as_of() for f in PII_FIELDS
                 if d.get(f)}
        conf = settings(province, page_size=200)
        for system in ("onestop", "eoffice", "dvc"):
            extract(system, wh, conf[system], mode="full")
    from govkpi.warehouse import export_environment

    export_environment(wh)  # dbt reads the database from the environment
    dbt("build", "--select", "+staging", "--indirect-selection", "cautious")
    return wh, clear


def _tables(wh) -> list[str]:
    return [f"{s}.{t}" for s, t in query(
        wh, "select table_schema, table_name from information_schema.tables where "
            "table_schema = any(%s) order by 1, 2",
        ([*RAW_SCHEMAS, "audit", "staging"],))]


def test_every_raw_audit_and_staging_table_is_free_of_clear_personal_values(province_loaded):
    wh, clear = province_loaded
    assert len(clear) > 3000
    quarantined_dossiers = query(wh, "select count(*) from audit.quarantine where "
                                     "source_system = 'onestop' and endpoint = 'hoso'")[0][0]
    assert quarantined_dossiers >= 20  # the quarantine is part of the scan, not empty
    tables = _tables(wh)
    assert {"raw_onestop.hoso", "raw_eoffice.documents", "raw_dvc.submissions",
            "audit.quarantine", "audit.load_batch", "audit.watermark",
            "staging.stg_onestop__dossiers"} <= set(tables)
    # whole values (e.g. an address) can sit inside longer text: a reason "got '…'", an error
    long_clear = [v for v in clear if len(v) >= 8 and not v.isdigit()]
    for table in tables:
        values: set[str] = set()
        for (row,) in query(wh, f"select to_jsonb(t)::text from {table} as t"):
            _leaves(msgspec.json.decode(row), values)
        assert not (values & clear), (table, sorted(values & clear)[:3])
        digits = {m for s in values for m in DIGIT_RUN.findall(s)}
        assert not digits & clear, (table, sorted(digits & clear)[:3])
        text = "\n".join(v for v in values if " " in v)
        inside = [v for v in long_clear if v in text]
        assert not inside, (table, inside[:3])


def test_quarantined_dossiers_keep_personal_fields_hashed(province_loaded):
    wh, _ = province_loaded
    rows = query(wh, "select payload from audit.quarantine where source_system = 'onestop' "
                     "and endpoint = 'hoso'")
    parsed = [p for (p,) in rows if "unparsed_sha256" not in p]
    assert parsed
    for payload in parsed:
        for field in PII_FIELDS:
            value = payload.get(field)
            assert value is None or str(value).startswith("hmac-sha256:"), (field, value)
