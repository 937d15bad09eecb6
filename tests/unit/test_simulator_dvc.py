"""The online-portal simulator: a deterministic derivation from the one-stop world, its as-of
view, and the HTTP contract of SOURCES.md §3 exercised over a real socket."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest

from govkpi.simulator import OneStopWorld, generate_world
from govkpi.simulator.dvc import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    DvcServer,
    DvcWorld,
    build_dvc_world,
    catalogue_pairs,
    catalogue_share,
    epoch_ms,
)
from govkpi.simulator.serving import Faults
from govkpi.simulator.world import VN_OFFSET

FIELDS = {
    "/api/services": {"service_id", "procedure_code", "unit_code", "level", "online_from",
                      "online_to", "updated_at"},
    "/api/submissions": {"submission_id", "dossier_code", "service_id", "started_at",
                         "submitted_at", "status", "account_type", "updated_at"},
    "/api/payments": {"payment_id", "dossier_code", "amount", "method", "status", "paid_at",
                      "updated_at"},
    "/api/ratings": {"rating_id", "dossier_code", "score", "comment_flag", "rated_at",
                     "updated_at"},
}
ID_FIELD = {"/api/services": "service_id", "/api/submissions": "submission_id",
            "/api/payments": "payment_id", "/api/ratings": "rating_id"}
TIME_FIELDS = ("online_from", "online_to", "started_at", "submitted_at", "paid_at", "rated_at",
               "updated_at")


@pytest.fixture(scope="module")
def world() -> OneStopWorld:
    return generate_world(seed=5, dossiers=1500, years=(2016, 2017, 2018))


@pytest.fixture(scope="module")
def portal(world) -> DvcWorld:
    return build_dvc_world(world, seed=5)


# ------------------------------------------------------------------------------ derivation


def test_same_inputs_give_an_equal_portal_and_another_seed_does_not(world, portal):
    assert build_dvc_world(world, seed=5) == portal
    assert build_dvc_world(generate_world(seed=5, dossiers=1500, years=(2016, 2017, 2018)),
                           seed=5) == portal
    other = build_dvc_world(world, seed=6)
    assert other != portal
    assert other.submissions_as_of() != portal.submissions_as_of()


def test_records_carry_the_contract_fields_with_epoch_ms_times(portal):
    views = {"/api/services": portal.services_as_of(),
             "/api/submissions": portal.submissions_as_of(),
             "/api/payments": portal.payments_as_of(), "/api/ratings": portal.ratings_as_of()}
    for path, records in views.items():
        assert records, path
        ids = [r[ID_FIELD[path]] for r in records]
        assert len(set(ids)) == len(ids)
        for r in records:
            assert set(r) == FIELDS[path]
            for f in TIME_FIELDS:
                if f in r and r[f] is not None:
                    assert type(r[f]) is int
                    assert 1_400_000_000_000 < r[f] < 2_000_000_000_000
            assert r["updated_at"] <= epoch_ms(portal.default_as_of)


def test_every_online_dossier_has_exactly_one_accepted_submission(world, portal):
    online = {d.code for d in world.dossiers if d.channel == 2}
    by_code = {d.code: d for d in world.dossiers}
    subs = portal.submissions_as_of()
    accepted = Counter(s["dossier_code"] for s in subs if s["status"] == "accepted")
    assert set(accepted) == online
    assert set(accepted.values()) == {1}
    for s in subs:
        assert s["started_at"] < s["updated_at"] or s["status"] == "draft"
        if s["status"] == "accepted":
            received = epoch_ms(by_code[s["dossier_code"]].received_at)
            assert s["started_at"] < s["submitted_at"] <= received == s["updated_at"]
        else:
            assert s["dossier_code"] is None
        assert (s["submitted_at"] is None) == (s["status"] == "draft")
        assert s["account_type"] in ("portal", "guest")  # VNeID only from 2022-07
    status = Counter(s["status"] for s in subs)
    assert 0.18 < status["draft"] / len(subs) < 0.32  # DVC-5 completion rate ~75%
    assert status["rejected"] > 0
    assert status["withdrawn"] > 0


def test_services_cover_online_dossiers_before_they_arrive_and_some_never_used(world, portal):
    services = {s["service_id"]: s for s in portal.services_as_of()}
    by_pair = {(s["procedure_code"], s["unit_code"]): s for s in services.values()}
    for d in world.dossiers:
        if d.channel == 2:
            s = by_pair[d.procedure_code, d.unit_code]
            assert s["online_from"] < epoch_ms(d.received_at)
            assert s["level"] in (3, 4)
    used = {s["service_id"] for s in portal.submissions_as_of() if s["status"] == "accepted"}
    never = set(services) - used
    assert len(never) / len(services) > 0.15  # DVC-7 is not trivially 100%
    # beside the catalogue (offered whether used or not): services nobody uses, ~30 % of those
    # with an online dossier
    catalogue = catalogue_pairs(world)
    extra = {sid for sid, s in services.items()
             if (s["procedure_code"], s["unit_code"]) not in catalogue}
    assert 0.25 < len(never & extra) / len(used) < 0.35
    assert {s["level"] for s in services.values()} <= {2, 3, 4}


def test_the_catalogue_is_a_deterministic_share_of_each_units_procedures(world, portal):
    """Issue 6: every department and district offers at level 3–4, from before 2016, at least
    catalogue_share(level, maturity) of its procedures (DVC-1 ≥ that share at any volume): the
    departments' own procedures, the district-level ones for a district, the most used first."""
    catalogue = catalogue_pairs(world)
    assert catalogue == catalogue_pairs(generate_world(seed=6, dossiers=10))  # seed-independent
    by_pair = {(s["procedure_code"], s["unit_code"]): s for s in portal.services_as_of()}
    start_2016 = epoch_ms(dt.datetime(2016, 1, 1, tzinfo=VN_OFFSET))
    for pair in catalogue:
        s = by_pair[pair]
        assert s["online_from"] < start_2016
        assert s["online_to"] is None
        assert s["level"] in (3, 4)
    procedures = {p.code: p for p in world.procedures}
    district_level = sum(p.level == "huyen" for p in world.procedures)
    units = {u.code: u for u in world.units}
    offered = Counter(unit for _, unit in catalogue)
    assert {units[u].level for u in offered} == {2, 3}
    for code, n in offered.items():
        u = units[code]
        total = (district_level if u.level == 3 else
                 sum(p.level == "tinh" and p.owner_code == code for p in procedures.values()))
        assert n / total >= catalogue_share(u.level, u.maturity) > 0.05
    quy_nhon, an_lao = "000.00.31.H08", "000.00.34.H08"
    assert offered[quy_nhon] / district_level >= 0.3 > 0.2  # DOMAIN.md §2: DVC-1 ≥ 0.2
    assert 0.05 < offered[an_lao] / district_level < 0.2


def test_levels_become_full_or_partial_from_2022(portal):
    later = portal.services_as_of(dt.datetime(2022, 6, 1, tzinfo=VN_OFFSET))
    live = [s for s in later if s["online_to"] is None]
    assert live
    assert {s["level"] for s in live} <= {"full", "partial"}
    assert all(s["updated_at"] >= epoch_ms(dt.datetime(2022, 1, 1, tzinfo=VN_OFFSET))
               for s in later if s["level"] == 2 or s["online_to"] is None)


def test_payments_only_for_fee_bearing_online_dossiers(world, portal):
    fee_online = {d.code: d.fee for d in world.dossiers if d.channel == 2 and d.fee > 0}
    payments = portal.payments_as_of(dt.datetime(2030, 1, 1, tzinfo=VN_OFFSET))
    assert payments
    for p in payments:
        assert p["amount"] == fee_online[p["dossier_code"]]
        assert p["status"] in ("success", "failed", "pending")
        assert (p["paid_at"] is not None) == (p["status"] == "success")
        assert p["method"] in ("vnpay", "payment_platform_dvcqg", "bank_transfer")
    assert Counter(p["status"] for p in payments)["success"] > 0.8 * len(payments)


def test_a_pending_payment_settles_later(portal):
    pending = next(rec for rec in portal.payments if rec.states[0]["status"] == "pending")
    t1 = pending.times[0]
    t2 = pending.times[-1]
    at_t1 = {p["payment_id"]: p for p in portal.payments_as_of(t1)}[pending.id]
    at_t2 = {p["payment_id"]: p for p in portal.payments_as_of(t2)}[pending.id]
    assert (at_t1["status"], at_t1["paid_at"], at_t1["updated_at"]) == ("pending", None, t1)
    assert (at_t2["status"], at_t2["paid_at"], at_t2["updated_at"]) == ("success", t2, t2)
    assert pending.id not in {p["payment_id"] for p in portal.payments_as_of(t1 - 1)}


def test_ratings_arrive_after_the_end_and_late_dossiers_score_lower(world, portal):
    by_code = {d.code: d for d in world.dossiers}
    ratings = portal.ratings_as_of(dt.datetime(2030, 1, 1, tzinfo=VN_OFFSET))
    assert 0.05 < len(ratings) / len(world.dossiers) < 0.2
    late, on_time = [], []
    for r in ratings:
        assert r["score"] in (1, 2, 3, 4, 5)
        d = by_code[r["dossier_code"]]
        assert d.ended_at is not None
        assert epoch_ms(d.ended_at) < r["rated_at"] == r["updated_at"]
        assert not r["comment_flag"] or r["score"] <= 3
        (late if d.ended_at > d.due_at else on_time).append(r["score"])
    assert late
    assert sum(late) / len(late) < sum(on_time) / len(on_time) - 0.8
    cut = sorted(r["rated_at"] for r in ratings)[len(ratings) // 2]
    seen = {r["rating_id"] for r in portal.ratings_as_of(cut)}
    assert seen == {r["rating_id"] for r in ratings if r["rated_at"] <= cut}


def test_submission_status_moves_with_the_clock(portal):
    rec = next(r for r in portal.submissions if len(r.times) == 3
               and r.states[-1]["status"] == "accepted")
    states = [portal_state(portal, rec.id, t) for t in rec.times]
    assert [s["status"] for s in states] == ["draft", "submitted", "accepted"]
    assert [s["dossier_code"] is None for s in states] == [True, True, False]
    assert [s["updated_at"] for s in states] == list(rec.times)
    assert portal_state(portal, rec.id, rec.times[0] - 1) is None


def portal_state(portal: DvcWorld, record_id: str, at: int) -> dict | None:
    return {s["submission_id"]: s for s in portal.submissions_as_of(at)}.get(record_id)


def test_hand_written_dict_dossiers_are_derived_too():
    world = OneStopWorld(dossiers=[{
        "MaHoSo": "000.00.01.H08-170314-0001", "MaTTHC": "1.000001", "MaDonVi": "000.00.01.H08",
        "KenhThucHien": 2, "NgayTiepNhan": "2017-03-14T09:12:00+07:00", "PhiLePhi": 50_000,
        "NgayHenTra": "2017-03-20T17:00:00+07:00", "NgayKetThucXuLy": "2017-03-16T10:00:00+07:00",
    }])
    portal = build_dvc_world(world, seed=1)
    subs = portal.submissions_as_of()
    assert [s["dossier_code"] for s in subs if s["status"] == "accepted"] == [
        "000.00.01.H08-170314-0001"]
    assert len(portal.services_as_of()) == 1


# ------------------------------------------------------------------------------ HTTP


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def http_get(url: str, auth: str | None = None) -> tuple[int, object, dict[str, str]]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


AUTH = basic(DEFAULT_USERNAME, DEFAULT_PASSWORD)
NEXT_RE = re.compile(r'^<([^>]+)>; rel="next"$')


def crawl(url: str) -> tuple[list[dict], int]:
    """Follow Link headers to the last page; returns the records and the number of pages."""
    records, pages = [], 0
    while url:
        status, body, headers = http_get(url, AUTH)
        assert status == 200, body
        assert isinstance(body, list)
        records += body
        pages += 1
        link = headers.get("Link")
        url = NEXT_RE.match(link).group(1) if link else None
    return records, pages


@pytest.fixture(scope="module")
def server(portal):
    with DvcServer(portal) as running:
        yield running


def test_health_needs_no_auth(server):
    status, body, _ = http_get(server.url + "/health")
    assert status == 200
    assert body["status"] == "ok"
    assert server.username == "govkpi"
    assert server.password == "govkpi-dvc-secret"


@pytest.mark.parametrize("auth", [None, basic("govkpi", "wrong"), basic("nobody", DEFAULT_PASSWORD),
                                  "Basic !!!", "Bearer abc"])
def test_bad_or_missing_credentials_are_401(server, auth):
    status, body, headers = http_get(server.url + "/api/submissions", auth)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic")
    assert body["message"]


@pytest.mark.parametrize("path", list(FIELDS))
def test_link_paging_returns_every_record_once_in_order(server, portal, path):
    records, pages = crawl(f"{server.url}{path}?limit=37")
    expected = getattr(portal, ID_FIELD[path].split("_")[0] + "s_as_of")()
    key = ID_FIELD[path]
    assert len(records) == len(expected)
    assert sorted(r[key] for r in records) == sorted(r[key] for r in expected)
    assert [(r["updated_at"], r[key]) for r in records] == sorted(
        (r["updated_at"], r[key]) for r in records)
    assert pages == -(-len(expected) // 37)
    for r in records:
        assert set(r) == FIELDS[path]
        assert all(type(r[f]) is int for f in TIME_FIELDS if r.get(f) is not None)


def test_default_page_and_last_page_has_no_link(server, portal):
    status, body, headers = http_get(server.url + "/api/submissions", AUTH)
    assert status == 200
    assert len(body) == 100
    assert NEXT_RE.match(headers["Link"]).group(1).startswith(server.url + "/api/submissions?")
    total = len(portal.submissions_as_of())
    status, body, headers = http_get(f"{server.url}/api/submissions?offset={total - 5}", AUTH)
    assert len(body) == 5
    assert "Link" not in headers


def test_since_filter_is_inclusive_and_kept_in_the_link(server, portal):
    subs = sorted(portal.submissions_as_of(), key=lambda r: (r["updated_at"], r["submission_id"]))
    since = subs[len(subs) // 2]["updated_at"]
    expected = [r["submission_id"] for r in subs if r["updated_at"] >= since]
    status, first, headers = http_get(
        f"{server.url}/api/submissions?since={since}&limit=10", AUTH)
    assert status == 200
    assert first[0]["updated_at"] == since
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(
        NEXT_RE.match(headers["Link"]).group(1)).query)
    assert query == {"since": [str(since)], "limit": ["10"], "offset": ["10"]}
    records, _ = crawl(f"{server.url}/api/submissions?since={since}&limit=10")
    assert [r["submission_id"] for r in records] == expected


@pytest.mark.parametrize(("query", "message"), [
    ("limit=1001", "limit=1001"), ("limit=0", "between 1 and 1000"),
    ("since=yesterday", "epoch milliseconds"), ("offset=-1", "offset=-1"),
    ("offset=x", "not an integer"),
])
def test_bad_parameters_are_400_with_a_message(server, query, message):
    status, body, _ = http_get(f"{server.url}/api/payments?{query}", AUTH)
    assert status == 400
    assert message in body["message"]


def test_limit_1000_is_allowed(server, portal):
    status, body, _ = http_get(f"{server.url}/api/submissions?limit=1000", AUTH)
    assert status == 200
    assert len(body) == min(1000, len(portal.submissions_as_of()))


def test_set_as_of_moves_the_clock(portal):
    early = dt.datetime(2016, 6, 1, tzinfo=VN_OFFSET)
    with DvcServer(portal, as_of=early) as server:
        before, _ = crawl(f"{server.url}/api/ratings?limit=1000")
        assert len(before) == len(portal.ratings_as_of(early))
        assert all(r["rated_at"] <= epoch_ms(early) for r in before)
        server.set_as_of(portal.default_as_of)
        after, _ = crawl(f"{server.url}/api/ratings?limit=1000")
        assert len(after) == len(portal.ratings_as_of()) > len(before)


def test_a_one_stop_world_is_derived_with_its_seed(world, portal):
    with DvcServer(world) as server:
        assert server.dvc_world == portal  # world.seed == 5


def test_faults_answer_503_but_never_on_health(portal):
    with DvcServer(portal, faults=Faults(error_5xx=0.5, seed=3)) as server:
        codes = Counter(http_get(f"{server.url}/api/services?offset={i}", AUTH)[0]
                        for i in range(40))
        assert codes[503] > 5
        assert codes[200] > 5
        assert all(http_get(server.url + "/health")[0] == 200 for _ in range(10))
