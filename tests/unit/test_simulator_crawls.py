"""Whole-API properties of the simulated province, through real HTTP on 127.0.0.1:

- determinism: two provinces with the same (seed, size, as-of) serve byte-identical crawls;
- incremental consistency: a crawl as of T1, merged with what changed since it as of T2,
  equals a full crawl as of T2 — for every endpoint of the three systems.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
import urllib.request
from base64 import b64encode

import pytest

from govkpi.calendar import VN_TZ
from govkpi.simulator import SimulatedProvince

T1 = dt.datetime(2017, 8, 31, 12, 0, tzinfo=VN_TZ)
T2 = dt.datetime(2018, 1, 15, 8, 0, tzinfo=VN_TZ)


def _get(url, headers, data=None):
    req = urllib.request.Request(url, headers=headers, data=data)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read(), resp.headers


def crawl_onestop(env, path, since=None):
    form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "client_id": env["GOVKPI_ONESTOP_CLIENT_ID"],
                                   "client_secret": env["GOVKPI_ONESTOP_CLIENT_SECRET"]})
    body, _ = _get(env["GOVKPI_ONESTOP_URL"] + "/oauth/token", {}, form.encode())
    auth = {"Authorization": "Bearer " + json.loads(body)["access_token"]}
    query = {"size": 1000} | ({"updated_from": since} if since else {})
    records, raw, page = [], b"", 1
    while True:
        body, _ = _get(f"{env['GOVKPI_ONESTOP_URL']}{path}?"
                       + urllib.parse.urlencode(query | {"page": page}), auth)
        raw += body
        data = json.loads(body)
        records += data["data"]
        if page * 1000 >= data["total"]:
            return records, raw
        page += 1


def crawl_eoffice(env, path, since=None):
    auth = {"X-API-Key": env["GOVKPI_EOFFICE_API_KEY"]}
    query = {"limit": 1000} | ({"modified_since": since} if since else {})
    records, raw = [], b""
    while True:
        body, _ = _get(f"{env['GOVKPI_EOFFICE_URL']}{path}?" + urllib.parse.urlencode(query),
                       auth)
        raw += body
        data = json.loads(body)
        records += data["items"]
        if not data["next_cursor"]:
            return records, raw
        query = {"limit": 1000, "cursor": data["next_cursor"]}


def crawl_dvc(env, path, since=None):
    token = b64encode(f"{env['GOVKPI_DVC_USERNAME']}:{env['GOVKPI_DVC_PASSWORD']}".encode())
    auth = {"Authorization": "Basic " + token.decode()}
    url = f"{env['GOVKPI_DVC_URL']}{path}?" + urllib.parse.urlencode(
        {"limit": 1000} | ({"since": since} if since is not None else {}))
    records, raw = [], b""
    while url:
        body, headers = _get(url, auth)
        raw += body
        records += json.loads(body)
        link = headers.get("Link", "")
        url = link[link.index("<") + 1:link.index(">")] if 'rel="next"' in link else None
    return records, raw


def _vn(text):  # dd/MM/yyyy HH:mm:ss, naive local time: sortable form
    return dt.datetime.strptime(text, "%d/%m/%Y %H:%M:%S")


# (crawler, path, key, modification field, value → sortable, sortable → filter parameter)
ENDPOINTS = [
    (crawl_onestop, "/api/v1/donvi", "MaDonVi", "NgayCapNhat", dt.datetime.fromisoformat,
     lambda t: t.isoformat()),
    (crawl_onestop, "/api/v1/thutuc", "MaTTHC", "NgayCapNhat", dt.datetime.fromisoformat,
     lambda t: t.isoformat()),
    (crawl_onestop, "/api/v1/hoso", "MaHoSo", "NgayCapNhat", dt.datetime.fromisoformat,
     lambda t: t.isoformat()),
    (crawl_eoffice, "/api/v2/documents", "id", "ngay_sua", _vn,
     lambda t: t.strftime("%d/%m/%Y %H:%M:%S")),
    (crawl_dvc, "/api/services", "service_id", "updated_at", int, str),
    (crawl_dvc, "/api/submissions", "submission_id", "updated_at", int, str),
    (crawl_dvc, "/api/payments", "payment_id", "updated_at", int, str),
    (crawl_dvc, "/api/ratings", "rating_id", "updated_at", int, str),
]
IDS = [e[1] for e in ENDPOINTS]


@pytest.fixture(scope="module")
def provinces():
    a = SimulatedProvince(seed=13, dossiers=1200, as_of=T2).start()
    b = SimulatedProvince(seed=13, dossiers=1200, as_of=T2).start()
    yield a, b
    a.stop()
    b.stop()


@pytest.mark.parametrize(("crawl", "path", "key", "mod", "parse", "param"), ENDPOINTS, ids=IDS)
def test_same_inputs_serve_byte_identical_crawls(provinces, crawl, path, key, mod, parse, param):
    a, b = provinces
    records_a, raw_a = crawl(a.environment(), path)
    _, raw_b = crawl(b.environment(), path)
    assert records_a, path
    assert hashlib.sha256(raw_a).hexdigest() == hashlib.sha256(raw_b).hexdigest()
    assert len({r[key] for r in records_a}) == len(records_a)  # every record exactly once
    stamps = [(parse(r[mod]), r[key]) for r in records_a]
    assert stamps == sorted(stamps)  # ordered by (modification time, id)


@pytest.mark.parametrize(("crawl", "path", "key", "mod", "parse", "param"), ENDPOINTS, ids=IDS)
def test_incremental_crawl_equals_full_crawl(crawl, path, key, mod, parse, param):
    with SimulatedProvince(seed=14, dossiers=1200, as_of=T1) as province:
        env = province.environment()
        first, _ = crawl(env, path)
        merged = {r[key]: r for r in first}
        mark = max((parse(r[mod]) for r in first), default=None)
        province.set_as_of(T2)
        changes, _ = crawl(env, path, since=param(mark) if mark is not None else None)
        merged.update({r[key]: r for r in changes})
        full, _ = crawl(env, path)
    assert merged == {r[key]: r for r in full}
    if path in ("/api/v1/hoso", "/api/v2/documents", "/api/submissions"):
        assert 0 < len(changes) < len(full)  # the clock moved some records, not all
