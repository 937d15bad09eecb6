"""The one-stop simulator: a deterministic world, its as-of view, and the HTTP contract of
SOURCES.md §1 exercised over a real socket."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest

from govkpi.calendar import legal_due_date
from govkpi.simulator import OneStopServer, OneStopWorld, generate_world
from govkpi.simulator.onestop import main as onestop_main
from govkpi.simulator.world import DEFAULT_AS_OF, END_STATUSES, VN_OFFSET

VN = VN_OFFSET
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")
UNIT_CODE_RE = re.compile(r"^000\.\d\d\.\d\d\.H08$")


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def world() -> OneStopWorld:
    return generate_world()


@pytest.fixture(scope="module")
def view(world: OneStopWorld) -> list[dict]:
    return world.dossiers_as_of()


# ------------------------------------------------------------------------------ the world


def test_same_seed_gives_an_equal_world_and_another_seed_does_not():
    a = generate_world(seed=7, dossiers=1500)
    assert a == generate_world(seed=7, dossiers=1500)
    assert a.dossiers_as_of() == generate_world(seed=7, dossiers=1500).dossiers_as_of()
    other = generate_world(seed=8, dossiers=1500)
    assert other != a
    assert [d.code for d in other.dossiers] != [d.code for d in a.dossiers]


def test_units_are_binh_dinh_with_national_style_codes(world):
    units = world.units_as_of()
    by_level = Counter(u["CapDonVi"] for u in units)
    assert by_level == {1: 1, 2: 21, 3: 11, 4: 159}  # the binh_dinh scenario, before 2025
    names = {u["TenDonVi"] for u in units}
    assert {"Sở Tài chính", "Sở Thông tin và Truyền thông", "UBND thành phố Quy Nhơn",
            "UBND huyện Vĩnh Thạnh", "Ban Quản lý Khu kinh tế"} <= names
    codes = {u["MaDonVi"] for u in units}
    assert len(codes) == len(units)
    assert all(UNIT_CODE_RE.match(c) for c in codes)
    for u in units:
        assert u["HieuLucTu"] == "2015-01-01"
        assert u["HieuLucDen"] is None
        assert (u["MaDonViCha"] is None) == (u["CapDonVi"] == 1)
        assert u["MaDonViCha"] is None or u["MaDonViCha"] in codes


def test_procedures_have_codes_and_legal_processing_times(world):
    procs = world.procedures_as_of()
    assert 1900 <= len(procs) <= 2100  # SOURCES.md §5
    assert len({p["MaTTHC"] for p in procs}) == len(procs)
    assert all(re.match(r"^[12]\.00\d{4}$", p["MaTTHC"]) for p in procs)
    units = Counter(p["DonViThoiHan"] for p in procs)
    assert units["ngay_lam_viec"] > 40
    assert units["ngay"] >= 3
    assert units["gio"] >= 3
    assert all(1 <= p["ThoiHanGiaiQuyet"] <= 30 for p in procs
               if p["DonViThoiHan"] == "ngay_lam_viec")


def test_ten_thousand_dossiers_over_two_years(world, view):
    assert len(world.dossiers) == 10_000
    assert len(view) == 10_000  # all received before the default as-of
    assert len({r["MaHoSo"] for r in view}) == 10_000
    years = Counter(r["NgayTiepNhan"][:4] for r in view)
    assert set(years) == {"2016", "2017"}
    assert years["2017"] > years["2016"]
    unit_codes = {u["MaDonVi"] for u in world.units_as_of()}
    for r in view:
        unit, day, seq = r["MaHoSo"].rsplit("-", 2)
        assert unit == r["MaDonVi"] in unit_codes
        assert day == t(r["NgayTiepNhan"]).strftime("%y%m%d")
        assert re.match(r"^\d{4}$", seq)
        for f in ("NgayTiepNhan", "NgayHenTra", "NgayCapNhat"):
            assert TIME_RE.match(r[f]), (f, r[f])


def test_receipts_are_weekday_heavy_with_some_after_the_cutoff_and_some_on_saturdays(view):
    received = [t(r["NgayTiepNhan"]) for r in view]
    weekdays = sum(d.weekday() < 5 for d in received)
    assert weekdays / len(received) > 0.95
    assert 5 < sum(d.weekday() == 5 for d in received) < 500
    assert sum(d.hour >= 15 for d in received) > 500


def test_online_share_rises_from_2016_to_2017(view):
    def online_share(year: str) -> float:
        rows = [r for r in view if r["NgayTiepNhan"].startswith(year)]
        return sum(r["KenhThucHien"] == 2 for r in rows) / len(rows)

    assert 0 < online_share("2016") < online_share("2017")
    assert Counter(r["KenhThucHien"] for r in view).keys() == {1, 2, 3}


def test_personal_data_is_always_filled(view):
    for r in view:
        assert len(r["ChuHoSo"].split()) >= 3, r["ChuHoSo"]
        assert re.match(r"^\d{12}$", r["SoGiayTo"]), r["SoGiayTo"]
        assert re.match(r"^0\d{9}$", r["SoDienThoai"]), r["SoDienThoai"]
        assert r["DiaChi"].endswith("tỉnh Bình Định"), r["DiaChi"]


def test_due_dates_are_the_calendar_legal_due_date_at_17h(world, view):
    procs = {p["MaTTHC"]: p for p in world.procedures_as_of()}
    for r in view:
        p = procs[r["MaTTHC"]]
        due = legal_due_date(t(r["NgayTiepNhan"]), p["ThoiHanGiaiQuyet"], p["DonViThoiHan"])
        assert t(r["NgayHenTra"]) == dt.datetime.combine(due, dt.time(17), tzinfo=VN), r


def test_statuses_supplements_apologies_and_late_rates(view):
    statuses = Counter(r["TrangThaiHoSo"] for r in view)
    assert statuses[5] > 8000
    assert statuses[6] > 0
    assert statuses[7] > 0
    assert statuses[8] > 0
    supplemented = [r for r in view if any(e["TrangThai"] == 3 for e in r["QuaTrinhXuLy"])]
    assert len(supplemented) > 200
    finished = [r for r in view if r["NgayKetThucXuLy"] is not None]
    late = [r for r in finished if r["NgayKetThucXuLy"] > r["NgayHenTra"]]  # same offset: ok
    with_letter = [r for r in late if r["PhieuXinLoi"]]
    assert len(with_letter) > len(late) / 2
    assert any(r["SoLanHenLai"] > 1 for r in view)
    assert all(r["SoLanHenLai"] == len(r["PhieuXinLoi"]) for r in view)
    per_unit, late_per_unit = Counter(r["MaDonVi"] for r in finished), Counter(
        r["MaDonVi"] for r in late)
    rates = {unit: late_per_unit[unit] / n for unit, n in per_unit.items()}
    assert min(rates.values()) < 0.07
    assert max(rates.values()) > 0.25
    for r in view:  # end/return times and history are consistent with the state
        assert (r["TrangThaiHoSo"] in END_STATUSES) == (r["NgayKetThucXuLy"] is not None)
        assert (r["TrangThaiHoSo"] == 5) == (r["NgayTraKetQua"] is not None)
        for letter in r["PhieuXinLoi"]:
            assert t(letter["NgayHenMoi"]) > t(r["NgayHenTra"])
            assert r["NgayKetThucXuLy"] is None or letter["NgayLap"] < r["NgayKetThucXuLy"]
        history = r["QuaTrinhXuLy"]
        assert history[0]["TrangThai"] == 1
        assert history[0]["ThoiDiem"] == r["NgayTiepNhan"]
        assert history[-1]["TrangThai"] == r["TrangThaiHoSo"]
        assert history[-1]["ThoiDiem"] == r["NgayCapNhat"]
        times = [t(e["ThoiDiem"]) for e in history]
        assert times == sorted(times)
        assert len(set(times)) == len(times)


def test_some_dossiers_are_pending_at_year_end_and_after_the_default_as_of(world, view):
    year_end = dt.datetime(2017, 12, 31, 23, 59, 59, tzinfo=VN)
    pending = [r for r in world.dossiers_as_of(year_end) if r["NgayKetThucXuLy"] is None]
    within = [r for r in pending if t(r["NgayHenTra"]) >= year_end]
    overdue = [r for r in pending if t(r["NgayHenTra"]) < year_end]
    assert within
    assert overdue
    finished_in_january = [r for r in view if r["NgayKetThucXuLy"]
                           and r["NgayKetThucXuLy"].startswith("2018-01")]
    assert finished_in_january
    assert any(r["NgayKetThucXuLy"] is None for r in view)  # still pending at the as-of


def test_as_of_view_travels_in_time(world):
    dossier = next(d for d in world.dossiers if d.returned_at and len(d.events) >= 4)
    end = dossier.ended_at
    before = dossier.as_of(end - dt.timedelta(seconds=1))
    assert before["TrangThaiHoSo"] not in END_STATUSES
    assert before["NgayKetThucXuLy"] is None
    assert before["NgayTraKetQua"] is None
    assert t(before["NgayCapNhat"]) < end
    at_end = dossier.as_of(end)
    assert at_end["NgayKetThucXuLy"] == end.isoformat()
    assert at_end["NgayCapNhat"] == end.isoformat()
    assert dossier.as_of(dossier.received_at - dt.timedelta(seconds=1)) is None

    mid_year = dt.datetime(2017, 6, 30, 12, 0, tzinfo=VN)
    rows = world.dossiers_as_of(mid_year)
    assert len(rows) == sum(d.received_at <= mid_year for d in world.dossiers)
    assert all(t(r["NgayTiepNhan"]) <= mid_year and t(r["NgayCapNhat"]) <= mid_year
               for r in rows)
    assert all(r["NgayKetThucXuLy"] is None or t(r["NgayKetThucXuLy"]) <= mid_year
               for r in rows)
    assert any(r["NgayKetThucXuLy"] is None for r in rows)


def test_default_as_of_is_mid_january_after_the_last_year(world):
    assert world.default_as_of == DEFAULT_AS_OF
    assert generate_world(dossiers=10, years=(2019,)).default_as_of.year == 2020


def test_world_from_hand_written_records():
    hand = OneStopWorld(
        units=[{"MaDonVi": "000.00.05.H08", "TenDonVi": "Sở Tài chính", "CapDonVi": 2,
                "MaDonViCha": "000.00.00.H08"}],
        procedures=[{"MaTTHC": "1.000001", "TenTTHC": "Thủ tục thử", "LinhVuc": "Thử",
                     "CapThucHien": "tinh", "ThoiHanGiaiQuyet": 5}],
        dossiers=[
            {"MaHoSo": "000.00.05.H08-171229-0001", "MaTTHC": "1.000001",
             "MaDonVi": "000.00.05.H08", "NgayTiepNhan": "2017-12-29T09:00:00+07:00",
             "NgayHenTra": dt.datetime(2018, 1, 8, 17, 0), "TrangThaiHoSo": 2},
            {"MaHoSo": "000.00.05.H08-180110-0001", "MaTTHC": "1.000001",
             "MaDonVi": "000.00.05.H08", "NgayTiepNhan": "2018-01-10T09:00:00+07:00",
             "TrangThaiHoSo": 5, "NgayKetThucXuLy": "2018-01-11T10:00:00+07:00"},
        ],
    )
    everything = hand.dossiers_as_of()
    assert [r["MaHoSo"][-11:] for r in everything] == ["171229-0001", "180110-0001"]
    first = everything[0]
    assert first["NgayHenTra"] == "2018-01-08T17:00:00+07:00"  # naive = local time
    assert first["NgayCapNhat"] == "2018-01-08T17:00:00+07:00"  # latest time given
    assert first["PhieuXinLoi"] == []
    assert first["SoLanHenLai"] == 0
    assert len(hand.dossiers_as_of(dt.datetime(2018, 1, 1, tzinfo=VN))) == 1
    assert hand.units_as_of()[0]["HieuLucTu"] == "2015-01-01"
    with pytest.raises(ValueError, match="unknown fields"):
        OneStopWorld(dossiers=[{"MaHoSo": "x", "NgayTiepNhan": "2017-01-01T08:00:00+07:00",
                                "Typo": 1}])


# ------------------------------------------------------------------------------ over HTTP


def http(method: str, url: str, *, token: str | None = None, form: dict | None = None
         ) -> tuple[int, dict]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get_token(server: OneStopServer, secret: str = "govkpi-secret") -> tuple[int, dict]:
    return http("POST", server.url + "/oauth/token",
                form={"grant_type": "client_credentials", "client_id": "govkpi",
                      "client_secret": secret})


def api(server: OneStopServer, token: str, path: str, **params) -> tuple[int, dict]:
    query = urllib.parse.urlencode(params)  # encodes '+' as %2B
    return http("GET", f"{server.url}{path}?{query}", token=token)


@pytest.fixture(scope="module")
def small_world() -> OneStopWorld:
    return generate_world(seed=11, dossiers=400)


@pytest.fixture(scope="module")
def server(small_world):
    with OneStopServer(small_world) as running:
        yield running


@pytest.fixture(scope="module")
def token(server) -> str:
    return get_token(server)[1]["access_token"]


def test_health_needs_no_token(server):
    status, body = http("GET", server.url + "/health")
    assert status == 200
    assert body["status"] == "ok"
    assert re.match(r"^http://127\.0\.0\.1:\d+$", server.url)


def test_token_flow(server):
    status, body = get_token(server)
    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    status, body = get_token(server, secret="wrong")
    assert status == 401
    assert body["error"] == "invalid_client"
    status, body = http("POST", server.url + "/oauth/token",
                        form={"grant_type": "password", "client_id": "govkpi",
                              "client_secret": "govkpi-secret"})
    assert status == 400
    assert body["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("path", ["/api/v1/donvi", "/api/v1/thutuc", "/api/v1/hoso"])
def test_api_refuses_missing_or_unknown_tokens(server, path):
    status, body = http("GET", server.url + path)
    assert status == 401
    assert "oauth/token" in body["message"]
    status, _ = http("GET", server.url + path, token="not-a-token")
    assert status == 401


def test_expired_token_is_refused():
    with OneStopServer(OneStopWorld(), token_ttl=0.2) as short:
        token = get_token(short)[1]["access_token"]
        assert api(short, token, "/api/v1/hoso")[0] == 200
        time.sleep(0.3)
        status, body = api(short, token, "/api/v1/hoso")
        assert status == 401
        assert "expired" in body["message"]


def test_reference_endpoints(server, token, small_world):
    status, units = api(server, token, "/api/v1/donvi", size=1000)
    assert status == 200
    assert units["total"] == len(units["data"]) == 1 + 21 + 11 + 159
    assert units["data"] == sorted(units["data"], key=lambda u: (u["NgayCapNhat"], u["MaDonVi"]))
    status, procs = api(server, token, "/api/v1/thutuc")
    assert status == 200
    assert procs["size"] == 100
    assert procs["page"] == 1
    assert procs["total"] == len(small_world.procedures)


def test_paging_returns_every_dossier_exactly_once_in_order(server, token, small_world):
    expected = {r["MaHoSo"] for r in small_world.dossiers_as_of()}
    seen: list[dict] = []
    page = 1
    while True:
        status, body = api(server, token, "/api/v1/hoso", page=page, size=37)
        assert status == 200
        assert body["total"] == len(expected)
        assert body["size"] == 37
        if not body["data"]:
            break
        seen += body["data"]
        page += 1
    assert page == -(-len(expected) // 37) + 1
    keys = [r["MaHoSo"] for r in seen]
    assert len(keys) == len(set(keys))
    assert set(keys) == expected
    order = [(t(r["NgayCapNhat"]), r["MaHoSo"]) for r in seen]
    assert order == sorted(order)


def test_updated_filter_is_inclusive_from_and_exclusive_to(server, token, small_world):
    rows = small_world.dossiers_as_of()
    lo = dt.datetime(2017, 3, 1, tzinfo=VN)
    hi = dt.datetime(2017, 4, 1, tzinfo=VN)
    want = {r["MaHoSo"] for r in rows if lo <= t(r["NgayCapNhat"]) < hi}
    status, body = api(server, token, "/api/v1/hoso", size=1000,
                       updated_from=lo.isoformat(), updated_to=hi.isoformat())
    assert status == 200
    assert body["total"] == len(want) > 0
    assert {r["MaHoSo"] for r in body["data"]} == want
    # boundaries: a record stamped exactly at updated_from is in, at updated_to out
    stamp = body["data"][0]["NgayCapNhat"]
    at_stamp = {r["MaHoSo"] for r in rows if r["NgayCapNhat"] == stamp}
    _, from_stamp = api(server, token, "/api/v1/hoso", size=1000, updated_from=stamp,
                        updated_to=hi.isoformat())
    _, to_stamp = api(server, token, "/api/v1/hoso", size=1000, updated_from=lo.isoformat(),
                      updated_to=stamp)
    assert at_stamp <= {r["MaHoSo"] for r in from_stamp["data"]}
    assert not at_stamp & {r["MaHoSo"] for r in to_stamp["data"]}
    # the same instant in UTC selects the same records
    _, utc = api(server, token, "/api/v1/hoso", size=1000,
                 updated_from=lo.astimezone(dt.UTC).isoformat(), updated_to=hi.isoformat())
    assert utc["total"] == len(want)


@pytest.mark.parametrize(("params", "message"), [
    ({"size": 1001}, "size=1001"),
    ({"size": 0}, "size=0"),
    ({"page": 0}, "page=0"),
    ({"page": "x"}, "not an integer"),
    ({"updated_from": "yesterday"}, "not an ISO 8601 time"),
    ({"updated_from": "2017-03-01T00:00:00"}, "no UTC offset"),
])
def test_bad_parameters_are_400_with_a_message(server, token, params, message):
    status, body = api(server, token, "/api/v1/hoso", **params)
    assert status == 400
    assert message in body["message"]


def test_unencoded_plus_gets_a_hint(server, token):
    status, body = http("GET", server.url + "/api/v1/hoso?updated_from=2017-03-01T00:00:00+07:00",
                        token=token)
    assert status == 400
    assert "%2B" in body["message"]


def test_set_as_of_moves_the_served_clock(small_world, token):
    with OneStopServer(small_world) as moving:
        token = get_token(moving)[1]["access_token"]
        full = api(moving, token, "/api/v1/hoso", size=1)[1]["total"]
        moving.set_as_of(dt.datetime(2016, 12, 31, tzinfo=VN))
        half = api(moving, token, "/api/v1/hoso", size=1)[1]["total"]
        assert 0 < half < full
        assert half == len(small_world.dossiers_as_of(moving.as_of))


def test_server_start_fails_clearly_on_a_busy_port(server, small_world):
    busy = int(server.url.rsplit(":", 1)[1])
    with pytest.raises(OSError, match="cannot listen"):
        OneStopServer(small_world, port=busy).start()


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        onestop_main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--as-of" in out
    assert "--dossiers" in out
    assert "SIGTERM" in out
