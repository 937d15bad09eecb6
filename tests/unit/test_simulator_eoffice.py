"""The e-office simulator: deterministic documents, their as-of view, and the HTTP contract of
SOURCES.md §2 (X-API-Key, opaque cursor, naive dd/MM/yyyy HH:mm:ss times) over a real socket."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from govkpi.calendar import VN_TZ
from govkpi.simulator import OneStopWorld, generate_world
from govkpi.simulator.eoffice import (
    DOCUMENT_FIELDS,
    EofficeServer,
    EofficeWorld,
    build_eoffice_world,
    parse_time,
)
from govkpi.simulator.serving import Faults

TIME_RE = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$")
TIME_FIELDS = ("ngay_ky", "ngay_ban_hanh", "ngay_den", "ngay_xac_nhan", "ngay_trinh", "ngay_sua")
NUMBER_RE = re.compile(r"^\d+/[^/\s]+$")
KEY = "govkpi-eoffice-key"


def order_key(record: dict) -> tuple[dt.datetime, str]:
    return parse_time(record["ngay_sua"]), record["id"]


@pytest.fixture(scope="module")
def onestop() -> OneStopWorld:
    return generate_world(seed=11, dossiers=600, years=(2016, 2017, 2018, 2019))


@pytest.fixture(scope="module")
def world(onestop) -> EofficeWorld:
    return build_eoffice_world(onestop, seed=11)


@pytest.fixture(scope="module")
def final(world) -> list[dict]:
    return world.documents_as_of(dt.datetime(2030, 1, 1))


# ------------------------------------------------------------------------------ the documents


def test_same_inputs_give_equal_documents_and_another_seed_does_not(onestop, world):
    again = build_eoffice_world(onestop, seed=11)
    assert again == world
    assert again.documents_as_of() == world.documents_as_of()
    other = build_eoffice_world(onestop, seed=12)
    assert other != world
    assert [d.id for d in other.documents] != [d.id for d in world.documents]


def test_default_volume_and_years_follow_the_one_stop_world(onestop, world, final):
    assert len(world.documents) == 3 * 600
    assert len({r["id"] for r in final}) == len(final) == 1800
    first_years = {d.created_at.year for d in world.documents}
    assert first_years == {2016, 2017, 2018, 2019}
    assert world.default_as_of == dt.datetime(2020, 1, 15, 8, 0, tzinfo=VN_TZ)
    small = build_eoffice_world(onestop, seed=1, documents=50, years=[2018])
    assert len(small.documents) == 50
    assert {d.created_at.year for d in small.documents} == {2018}
    shares = sum(r["huong"] == "di" for r in final) / len(final)
    assert 0.38 < shares < 0.52


def test_every_unit_is_valid_on_the_documents_first_day(onestop, world):
    units = {u.code: u for u in onestop.units}
    for d in world.documents:
        unit = units[d.unit_code]
        day = d.created_at.date()
        assert 1 <= unit.level <= 4
        assert unit.valid_from <= day
        assert unit.valid_to is None or day <= unit.valid_to


def test_fields_and_time_format(final):
    for r in final:
        assert tuple(r) == DOCUMENT_FIELDS
        assert isinstance(r["id"], str)
        assert len(r["id"]) == 36
        for f in TIME_FIELDS:
            assert r[f] is None or TIME_RE.match(r[f]), (f, r[f])
        assert r["do_khan"] in ("thuong", "khan", "hoa_toc")
        assert r["hinh_thuc"] in ("dien_tu", "giay", "dien_tu_va_giay")
        assert NUMBER_RE.match(r["so_ky_hieu"]), r["so_ky_hieu"]
    numbers = [r["so_ky_hieu"] for r in final if r["huong"] == "di"]
    assert any(re.match(r"^\d+/UBND-[A-Z]+$", n) for n in numbers)
    assert any(re.match(r"^\d+/QĐ-UBND$", n) for n in numbers)
    assert any(re.match(r"^\d+/STC(-[A-Za-z]+)?$|^\d+/[A-Za-z]+-STC$", n) for n in numbers)


def test_outgoing_and_incoming_fields_are_consistent(final):
    for r in final:
        ngay_sua = parse_time(r["ngay_sua"])
        times = [parse_time(r[f]) for f in TIME_FIELDS if r[f] is not None]
        assert ngay_sua == max(times)
        if r["hinh_thuc"] == "giay":
            assert not r["qua_truc_lien_thong"]
            assert not r["ky_so_ca_nhan"]
            assert not r["ky_so_to_chuc"]
        if r["qua_truc_lien_thong"]:
            assert r["noi_nhan_ket_noi"]
        if r["huong"] == "di":
            assert r["ngay_den"] is None
            assert r["ngay_xac_nhan"] is None
            assert r["trang_thai"] == "da_ban_hanh"
            assert parse_time(r["ngay_trinh"]) < parse_time(r["ngay_ky"]) < parse_time(
                r["ngay_ban_hanh"])
        else:
            assert r["huong"] == "den"
            assert r["ngay_ky"] is None
            assert r["ngay_ban_hanh"] is None
            assert r["ngay_den"] is not None
            if r["ngay_xac_nhan"] is None:
                assert r["trang_thai"] == "moi"
                assert r["ngay_trinh"] is None
            else:
                assert r["trang_thai"] == "da_xu_ly"
                assert parse_time(r["ngay_den"]) < parse_time(r["ngay_xac_nhan"]) < parse_time(
                    r["ngay_trinh"])


def test_documents_are_weekday_and_office_hours_heavy(world):
    first = [d.created_at for d in world.documents]
    assert sum(t.weekday() < 5 for t in first) / len(first) > 0.95
    assert sum(7 <= t.hour < 18 for t in first) / len(first) > 0.9


def test_kpi_inputs_move_the_right_way(onestop, final):
    def share(year: str, rows, hit) -> float:
        rows = [r for r in rows if (r["ngay_ky"] or r["ngay_den"])[6:10] == year]
        return sum(map(hit, rows)) / len(rows)

    def signed(r: dict) -> bool:
        return bool(r["ky_so_ca_nhan"] and r["ky_so_to_chuc"])

    def electronic(r: dict) -> bool:
        return r["hinh_thuc"] != "giay"

    out = [r for r in final if r["huong"] == "di"]
    assert share("2016", out, signed) < 0.2 < 0.5 < share("2019", out, signed)
    assert share("2016", final, electronic) < share("2019", final, electronic)
    # EO-3 and EO-4 have both outcomes
    late = [r for r in out if (parse_time(r["ngay_ban_hanh"]).date()
                               - parse_time(r["ngay_ky"]).date()).days > 4]
    assert 0 < len(late) < 0.3 * len(out)
    incoming = [r for r in final if r["huong"] == "den" and r["hinh_thuc"] != "giay"]
    same_day = [r for r in incoming if r["ngay_xac_nhan"]
                and r["ngay_xac_nhan"][:10] == r["ngay_den"][:10]]
    assert 0.3 * len(incoming) < len(same_day) < len(incoming)
    assert any(r["ngay_xac_nhan"] is None for r in final if r["huong"] == "den")


def test_as_of_view_shows_each_document_in_its_state_then(world):
    doc = next(d for d in world.documents if d.direction == "den" and d.acknowledged_at
               and d.acknowledged_at.date() > d.created_at.date())
    t1 = doc.created_at + (doc.acknowledged_at - doc.created_at) / 2
    t2 = doc.acknowledged_at
    before = doc.created_at - dt.timedelta(seconds=1)
    assert doc.as_of(before) is None
    at_t1, at_t2 = doc.as_of(t1), doc.as_of(t2)
    assert at_t1["ngay_xac_nhan"] is None
    assert at_t1["trang_thai"] == "moi"
    assert at_t1["ngay_sua"] == at_t1["ngay_den"]
    assert at_t2["ngay_xac_nhan"] is not None
    assert at_t2["trang_thai"] == "dang_xu_ly"
    assert parse_time(at_t2["ngay_sua"]) > parse_time(at_t1["ngay_sua"])
    # the world view agrees, and takes aware times too
    aware = t1.replace(tzinfo=VN_TZ).astimezone(dt.UTC)
    by_id = {r["id"]: r for r in world.documents_as_of(aware)}
    assert by_id[doc.id] == at_t1

    out = next(d for d in world.documents if d.direction == "di"
               and d.issued_at.date() > d.signed_at.date())
    draft = out.as_of(out.created_at)
    assert draft["trang_thai"] == "moi"
    assert all(draft[f] is None for f in ("so_ky_hieu", "ngay_ky", "ngay_ban_hanh",
                                          "ky_so_ca_nhan", "qua_truc_lien_thong"))
    signed = out.as_of(out.signed_at)
    assert signed["trang_thai"] == "da_ky"
    assert signed["so_ky_hieu"]
    assert signed["ngay_ban_hanh"] is None
    assert signed["ngay_sua"] == signed["ngay_ky"]


def test_a_mid_period_view_has_fewer_documents_and_some_unfinished(world):
    view = world.documents_as_of(dt.datetime(2018, 6, 1, 12, tzinfo=VN_TZ))
    assert 0.4 * len(world.documents) < len(view) < 0.75 * len(world.documents)
    unfinished = [r for r in view if r["trang_thai"] in ("moi", "cho_ky", "da_ky", "dang_xu_ly")]
    assert len(unfinished) > 5
    # an outgoing document not yet numbered, at that moment or a working noon soon after
    moments = [dt.datetime(2018, 6, day, 12, tzinfo=VN_TZ) for day in (1, 4, 5, 6, 7, 8)]
    assert any(r["huong"] == "di" and r["so_ky_hieu"] is None
               and r["trang_thai"] in ("moi", "cho_ky", "da_ky", "dang_xu_ly")
               for at in moments for r in world.documents_as_of(at))


# ------------------------------------------------------------------------------ HTTP


def get(url: str, key: str | None = KEY, **params) -> tuple[int, dict]:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    request = urllib.request.Request(f"{url}?{query}" if query else url)
    if key is not None:
        request.add_header("X-API-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def server(world):
    with EofficeServer(world, as_of=dt.datetime(2018, 6, 1, 12, tzinfo=VN_TZ)) as s:
        yield s


def crawl(server: EofficeServer, limit: int, **params) -> tuple[list[dict], int]:
    items, pages, cursor = [], 0, None
    while True:
        status, body = get(f"{server.url}/api/v2/documents", limit=limit, cursor=cursor,
                           **params)
        assert status == 200, body
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_health_needs_no_key(server):
    status, body = get(f"{server.url}/health", key=None)
    assert status == 200
    assert body["status"] == "ok"
    assert body["as_of"] == "01/06/2018 12:00:00"


@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_missing_or_wrong_key_is_401(server, key):
    status, body = get(f"{server.url}/api/v2/documents", key=key)
    assert status == 401
    assert "X-API-Key" in body["message"]
    assert server.api_key == KEY


def test_cursor_paging_returns_every_document_once_in_order(server, world):
    expected = world.documents_as_of(server.as_of)
    items, pages = crawl(server, limit=97)
    assert pages == -(-len(expected) // 97)
    assert len(items) == len({r["id"] for r in items}) == len(expected)
    assert items == sorted(expected, key=order_key)
    status, body = get(f"{server.url}/api/v2/documents")
    assert status == 200
    assert len(body["items"]) == 100


def test_modified_since_is_inclusive_and_naive_local(server, world):
    everything, _ = crawl(server, limit=1000)
    pivot = everything[len(everything) // 2]["ngay_sua"]
    items, _ = crawl(server, limit=50, modified_since=pivot)
    assert items == [r for r in everything if parse_time(r["ngay_sua"]) >= parse_time(pivot)]
    assert items[0]["ngay_sua"] == pivot


def test_set_as_of_moves_documents_forward_for_an_incremental_crawl(world):
    t1 = dt.datetime(2017, 3, 1, 8, tzinfo=VN_TZ)
    with EofficeServer(world, as_of=t1) as s:
        first, _ = crawl(s, limit=1000)
        watermark = max(parse_time(r["ngay_sua"]) for r in first)
        s.set_as_of(dt.datetime(2017, 4, 1, 8, tzinfo=VN_TZ))
        changed, _ = crawl(s, limit=1000, modified_since=watermark.strftime("%d/%m/%Y %H:%M:%S"))
    old = {r["id"]: r for r in first}
    moved = [r for r in changed if r["id"] in old and r != old[r["id"]]]
    assert moved, "documents seen at t1 change later"
    assert all(parse_time(r["ngay_sua"]) > parse_time(old[r["id"]]["ngay_sua"]) for r in moved)
    assert any(r["id"] not in old for r in changed)


@pytest.mark.parametrize(("params", "message"), [
    ({"limit": 1001}, "maximum of 1000"),
    ({"limit": 0}, "at least 1"),
    ({"limit": "ten"}, "not an integer"),
    ({"cursor": "garbage!!"}, "cursor"),
    ({"cursor": "eyJ2IjoxfQ"}, "cursor"),
    ({"modified_since": "2017-03-14T09:12:00+07:00"}, "dd/MM/yyyy HH:mm:ss"),
    ({"modified_since": "31/02/2017 09:12:00"}, "dd/MM/yyyy HH:mm:ss"),
])
def test_bad_parameters_are_400_with_a_message(server, params, message):
    status, body = get(f"{server.url}/api/v2/documents", **params)
    assert status == 400
    assert message in body["message"]


def test_tampered_cursor_and_changed_filter_are_400(server):
    status, body = get(f"{server.url}/api/v2/documents", limit=5)
    cursor = body["next_cursor"]
    tampered = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    assert get(f"{server.url}/api/v2/documents", cursor=tampered)[0] == 400
    status, body = get(f"{server.url}/api/v2/documents", cursor=cursor,
                       modified_since="01/01/2017 00:00:00")
    assert status == 400
    assert "modified_since" in body["message"]


def test_faults_answer_503_to_some_requests(world):
    with EofficeServer(world, faults=Faults(error_5xx=0.5, seed=3)) as s:
        statuses = [get(f"{s.url}/api/v2/documents", limit=n)[0] for n in range(1, 21)]
        assert get(f"{s.url}/health", key=None)[0] == 200
    assert 503 in statuses
    assert 200 in statuses
