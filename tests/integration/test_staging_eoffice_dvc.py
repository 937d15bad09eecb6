"""E-office and portal staging, and dim_online_service, on data crawled by the real extractors
from the real simulator: once an hour before the Decree 42/2022 level reform, once a year after
it (incremental), so keys land twice and services change level between the two crawls.

Expected values come from what the simulator serves, read with its own parsers; the warehouse
must agree on every row: one row per key, the latest version, local and epoch-ms times as the
same instants, enum codes decoded as documented, level periods split at the reform."""

from __future__ import annotations

import datetime as dt

import pytest

from govkpi.calendar import VN_TZ
from govkpi.extract import extract
from govkpi.simulator import SimulatedProvince
from govkpi.simulator.dvc import LEVEL_REFORM, from_epoch_ms
from govkpi.simulator.eoffice import parse_time
from tests.helpers import dbt, query
from tests.integration._ingest import served, settings

FIRST = dt.datetime(2021, 12, 31, 23, 0, tzinfo=VN_TZ)  # an hour before the level reform
SECOND = dt.datetime(2023, 1, 15, 8, 0, tzinfo=VN_TZ)
UTC = dt.UTC

# staging model → (raw table, key column of the model)
MODELS = {
    "stg_eoffice__documents": ("raw_eoffice.documents", "document_id"),
    "stg_dvc__services": ("raw_dvc.services", "service_id"),
    "stg_dvc__submissions": ("raw_dvc.submissions", "submission_id"),
    "stg_dvc__payments": ("raw_dvc.payments", "payment_id"),
    "stg_dvc__ratings": ("raw_dvc.ratings", "rating_id"),
}
# e-office payload field → staging column (naive local dd/MM/yyyy HH:mm:ss → timestamptz)
LOCAL_TIMES = {"ngay_ky": "signed_at", "ngay_ban_hanh": "issued_at", "ngay_den": "arrived_at",
               "ngay_xac_nhan": "acknowledged_at", "ngay_trinh": "submitted_to_leader_at"}
# portal model → {payload field → staging column} (epoch ms → timestamptz)
EPOCH_TIMES = {
    ("services", "stg_dvc__services", "service_id"): {
        "online_from": "online_from", "online_to": "online_to", "updated_at": "source_updated_at"},
    ("submissions", "stg_dvc__submissions", "submission_id"): {
        "started_at": "started_at", "submitted_at": "submitted_at",
        "updated_at": "source_updated_at"},
    ("payments", "stg_dvc__payments", "payment_id"): {
        "paid_at": "paid_at", "updated_at": "source_updated_at"},
    ("ratings", "stg_dvc__ratings", "rating_id"): {
        "rated_at": "rated_at", "updated_at": "source_updated_at"},
}


@pytest.fixture(scope="module")
def built(fresh_warehouse_module):
    wh = fresh_warehouse_module
    with SimulatedProvince(seed=7, dossiers=600, years=(2021, 2022), as_of=FIRST) as province:
        conf = settings(province, page_size=500)
        for system in ("onestop", "eoffice", "dvc"):  # one-stop first: the others refer to it
            extract(system, wh, conf[system], mode="full")
        # staged after the first crawl: the build below restages only the documents changed
        dbt("run", "--select", "stg_eoffice__documents")
        first = {e: served(province, "dvc", e, FIRST) for e in ("services",)}
        first["documents"] = served(province, "eoffice", "documents", FIRST)
        province.set_as_of(SECOND)
        for system in ("onestop", "eoffice", "dvc"):
            extract(system, wh, conf[system])  # incremental: what changed since the watermark
        second = {e: served(province, "dvc", e, SECOND)
                  for e in ("services", "submissions", "payments", "ratings")}
        second["documents"] = served(province, "eoffice", "documents", SECOND)
    dbt("build", "--select", "staging.eoffice", "staging.dvc", "dim_online_service",
        "--indirect-selection", "cautious")
    with wh.connect() as conn:
        conn.execute("create table public.documents_incremental as "
                     "select * from staging.stg_eoffice__documents")
        conn.commit()
    dbt("run", "--select", "stg_eoffice__documents", "--full-refresh")
    return wh, first, second


def test_the_incremental_staging_of_documents_equals_a_full_refresh(built):
    """stg_eoffice__documents is an incremental table: after the second crawl it restaged the
    documents with a new version (delete+insert), which must give the rows a full rebuild
    gives."""
    wh, first, second = built
    changed = {k for k, (t, _) in first["documents"].items() if second["documents"][k][0] != t}
    [(restaged,)] = query(wh, "select count(*) from public.documents_incremental "
                              "where batch_id > (select min(batch_id) from raw_eoffice.documents)")
    assert 0 < len(changed) <= restaged < len(second["documents"])
    for a, b in (("public.documents_incremental", "staging.stg_eoffice__documents"),
                 ("staging.stg_eoffice__documents", "public.documents_incremental")):
        assert query(wh, f"select * from {a} except all select * from {b}") == [], (a, b)


def _rows(wh, model: str, key: str, columns: list[str]) -> dict[str, dict]:
    rows = query(wh, f"select {key}, {', '.join(columns)} from staging.{model}")
    return {r[0]: dict(zip(columns, r[1:], strict=True)) for r in rows}


@pytest.mark.parametrize("model", MODELS)
def test_one_row_per_key_of_raw(built, model):
    wh, _, second = built
    raw, key = MODELS[model]
    [(rows, keys, distinct_keys)] = query(
        wh, f"select (select count(*) from staging.{model}), "
            f"(select count(distinct {key}) from staging.{model}), "
            f"(select count(distinct record_key) from {raw})")
    assert rows == keys == distinct_keys
    endpoint = raw.split(".")[1]
    assert rows == len(second[endpoint])  # every served key, none quarantined


def test_keys_landed_twice_keep_the_latest_version(built):
    wh, first, second = built
    for raw, endpoint in (("raw_eoffice.documents", "documents"), ("raw_dvc.services", "services")):
        twice = {k for (k,) in query(wh, f"select record_key from {raw} group by record_key "
                                         "having count(distinct source_updated_at) > 1")}
        changed = {k for k, (t, _) in first[endpoint].items() if second[endpoint][k][0] != t}
        assert changed
        assert twice == changed  # the second crawl landed every change once more

    documents = _rows(wh, "stg_eoffice__documents", "document_id",
                      ["status_code", "source_updated_at", "batch_id"])
    assert {k: (r["status_code"], r["source_updated_at"]) for k, r in documents.items()} == {
        k: (record["trang_thai"], t) for k, (t, record) in second["documents"].items()}
    # e.g. an outgoing document drafted before the first crawl and issued after it
    issued_later = next(k for k, (_, r) in first["documents"].items()
                        if r["trang_thai"] != "da_ban_hanh"
                        and second["documents"][k][1]["trang_thai"] == "da_ban_hanh")
    assert documents[issued_later]["status_code"] == "da_ban_hanh"
    batches = query(wh, "select batch_id from raw_eoffice.documents where record_key = %s "
                    "order by source_updated_at", (issued_later,))
    assert len(batches) == 2
    assert documents[issued_later]["batch_id"] == batches[-1][0]


def test_eoffice_local_times_are_asia_ho_chi_minh_instants(built):
    wh, _, second = built
    columns = list(LOCAL_TIMES.values())
    with wh.connect() as conn:  # the conversion must not depend on the session's time zone
        conn.execute("set time zone 'America/Sao_Paulo'")
        rows = conn.execute(f"select document_id, {', '.join(columns)} "
                            "from staging.stg_eoffice__documents").fetchall()
    staged = {r[0]: dict(zip(columns, r[1:], strict=True)) for r in rows}
    expected = {
        k: {column: parse_time(record[field]).replace(tzinfo=VN_TZ) if record[field] else None
            for field, column in LOCAL_TIMES.items()}
        for k, (_, record) in second["documents"].items()}
    assert staged == expected

    # one record spelled out: local wall-clock time minus 7 hours is the UTC instant
    key, record = next((k, r) for k, (_, r) in sorted(second["documents"].items())
                       if r["ngay_ky"])
    day, clock = record["ngay_ky"].split(" ")
    d, m, y = (int(x) for x in day.split("/"))
    h, mi, s = (int(x) for x in clock.split(":"))
    utc = dt.datetime(y, m, d, h, mi, s, tzinfo=UTC) - dt.timedelta(hours=7)
    assert staged[key]["signed_at"] == utc
    assert staged[key]["signed_at"].astimezone(UTC).replace(tzinfo=None) == (
        dt.datetime(y, m, d, h, mi, s) - dt.timedelta(hours=7))


@pytest.mark.parametrize("portal", EPOCH_TIMES, ids=lambda p: p[0])
def test_portal_epoch_ms_are_the_same_instants(built, portal):
    wh, _, second = built
    endpoint, model, key = portal
    fields = EPOCH_TIMES[portal]
    staged = _rows(wh, model, key, list(fields.values()))
    assert staged == {
        k: {column: from_epoch_ms(record[field]) if record[field] is not None else None
            for field, column in fields.items()}
        for k, (_, record) in second[endpoint].items()}
    # one record spelled out: epoch ms are milliseconds since 1970-01-01 00:00 UTC
    k, (_, record) = min(second[endpoint].items())
    since_epoch = staged[k]["source_updated_at"] - dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert since_epoch // dt.timedelta(milliseconds=1) == record["updated_at"]


def test_enum_codes_are_decoded_as_documented(built):
    wh, _, second = built
    documents = _rows(wh, "stg_eoffice__documents", "document_id",
                      ["direction_code", "is_outgoing", "form_code", "has_electronic_version",
                       "has_paper_version", "urgency_code", "signed_by_person",
                       "sent_via_exchange_axis", "recipient_on_exchange_axis"])
    assert documents == {
        k: {"direction_code": r["huong"], "is_outgoing": r["huong"] == "di",
            "form_code": r["hinh_thuc"],
            "has_electronic_version": r["hinh_thuc"] in ("dien_tu", "dien_tu_va_giay"),
            "has_paper_version": r["hinh_thuc"] in ("giay", "dien_tu_va_giay"),
            "urgency_code": r["do_khan"], "signed_by_person": r["ky_so_ca_nhan"],
            "sent_via_exchange_axis": r["qua_truc_lien_thong"],
            "recipient_on_exchange_axis": r["noi_nhan_ket_noi"]}
        for k, (_, r) in second["documents"].items()}
    assert {r["direction_code"] for r in documents.values()} == {"di", "den"}
    assert {r["form_code"] for r in documents.values()} == {"dien_tu", "giay", "dien_tu_va_giay"}

    services = _rows(wh, "stg_dvc__services", "service_id", ["level", "level_number"])
    assert services == {
        k: {"level": str(r["level"]),
            "level_number": r["level"] if isinstance(r["level"], int) else None}
        for k, (_, r) in second["services"].items()}
    assert {r["level"] for r in services.values()} >= {"2", "full", "partial"}

    submissions = _rows(wh, "stg_dvc__submissions", "submission_id",
                        ["status", "account_type", "dossier_code", "service_id"])
    assert submissions == {
        k: {"status": r["status"], "account_type": r["account_type"],
            "dossier_code": r["dossier_code"], "service_id": r["service_id"]}
        for k, (_, r) in second["submissions"].items()}
    payments = _rows(wh, "stg_dvc__payments", "payment_id",
                     ["status", "amount_vnd", "payment_method", "dossier_code"])
    assert payments == {
        k: {"status": r["status"], "amount_vnd": r["amount"], "payment_method": r["method"],
            "dossier_code": r["dossier_code"]}
        for k, (_, r) in second["payments"].items()}
    ratings = _rows(wh, "stg_dvc__ratings", "rating_id", ["score", "is_complaint"])
    assert ratings == {k: {"score": r["score"], "is_complaint": r["comment_flag"]}
                       for k, (_, r) in second["ratings"].items()}
    assert {r["score"] for r in ratings.values()} <= {1, 2, 3, 4, 5}


def _periods(wh, service_id: str) -> list[tuple]:
    return query(wh, "select period_number, level, level_number, is_full_online, "
                 "accepts_online_applications, counts_toward_online_coverage, valid_from, "
                 "valid_to, is_current, level_observed_at from marts.dim_online_service "
                 "where service_id = %s order by period_number", (service_id,))


def test_dim_online_service_splits_level_history_at_the_reform(built):
    wh, first, second = built
    before, after = first["services"], second["services"]
    reform = LEVEL_REFORM

    # exactly one current row per service, with the level the portal serves now
    current = dict(query(wh, "select service_id, level from marts.dim_online_service "
                         "where is_current"))
    assert current == {k: str(r["level"]) for k, (_, r) in after.items()}

    # level 4 before the first crawl, full after: two periods, split at the reform
    upgraded = next(k for k, (_, r) in sorted(before.items())
                    if r["level"] == 4 and after[k][1]["level"] == "full"
                    and r["updated_at"] == r["online_from"])
    online_from = from_epoch_ms(before[upgraded][1]["online_from"])
    assert _periods(wh, upgraded) == [
        (1, "4", 4, True, True, True, online_from, reform, False, online_from),
        (2, "full", None, True, True, True, reform, None, True, reform)]

    # level 3 then partial: counted for coverage (DVC-1) before the reform, not after
    partial = next(k for k, (_, r) in sorted(before.items())
                   if r["level"] == 3 and after[k][1]["level"] == "partial"
                   and r["updated_at"] == r["online_from"])
    online_from = from_epoch_ms(before[partial][1]["online_from"])
    assert _periods(wh, partial) == [
        (1, "3", 3, False, True, True, online_from, reform, False, online_from),
        (2, "partial", None, False, True, False, reform, None, True, reform)]

    # level 2 is no online service any more from the reform: one period, ending then
    level_2 = next(k for k, (_, r) in sorted(after.items())
                   if r["level"] == 2 and k in before and from_epoch_ms(r["online_to"]) == reform)
    online_from = from_epoch_ms(after[level_2][1]["online_from"])
    assert _periods(wh, level_2) == [
        (1, "2", 2, False, False, False, online_from, reform, True, online_from)]

    # upgraded 3 → 4 before the first crawl: only level 4 was ever landed, so it is assumed
    # back to online_from and level_observed_at shows when it was first seen
    seen_late = next(k for k, (_, r) in sorted(before.items())
                     if r["level"] == 4 and r["updated_at"] > r["online_from"])
    [first_period, *_] = _periods(wh, seen_late)
    assert first_period[1] == "4"
    assert first_period[6] == from_epoch_ms(before[seen_late][1]["online_from"])
    assert first_period[9] == from_epoch_ms(before[seen_late][1]["updated_at"])
