"""Record validation reads ISO 8601 times with msgspec's RFC 3339 parser first and falls back
to the field-by-field path: both must give the same instants, every time aware with Vietnam's
wall clock, and a bad time the same worded reason as before."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from govkpi.sources import times
from govkpi.sources.onestop import ENDPOINTS
from govkpi.sources.records import _decoder, validate

HOSO = ENDPOINTS["hoso"]
VN = dt.timedelta(hours=7)


def dossier(received: str, updated: str | None = None, **extra) -> bytes:
    return msgspec.json.encode({
        "MaHoSo": "H-1", "MaTTHC": "1.0", "MaDonVi": "U", "KenhThucHien": 1,
        "NgayTiepNhan": received, "TrangThaiHoSo": 1,
        "NgayCapNhat": updated if updated is not None else received, **extra})


@pytest.mark.parametrize("text", [
    "2017-03-14T09:12:05+07:00",
    "2017-03-14T09:12:05.123456+07:00",
    "2017-03-14T02:12:05Z",
    "2017-03-14T02:12:05+00:00",
    "2017-03-13T21:12:05-05:00",
    "2017-03-14 09:12:05+07:00",   # a space for the T: RFC 3339 allows it
    "2017-03-14T09:12+07:00",      # no seconds: not RFC 3339, fromisoformat reads it
    "2017-03-14T09:12:05+0700",    # basic offset: fromisoformat only
])
def test_both_paths_give_the_same_aware_instant_on_the_vietnamese_clock(text):
    rec = validate(HOSO, dossier(text, NgayHenTra=text))
    assert rec.error is None, rec.error
    want = times.parse_iso(text)
    for value in (rec.updated_at, rec.item.NgayTiepNhan, rec.item.NgayHenTra):
        assert value == want
        assert value.utcoffset() == VN  # so .date(), .year, quarters are Vietnamese
        assert (value.year, value.month, value.day, value.hour) == (
            want.year, want.month, want.day, want.hour)
    assert rec.item.NgayKetThucXuLy is None


def test_the_fast_path_keeps_the_struct_type_and_fields():
    rec = validate(HOSO, dossier("2017-03-14T09:12:05+07:00", PhiLePhi=15000))
    slow = _decoder(HOSO.struct).decode(rec.raw)
    assert isinstance(rec.item, HOSO.struct)
    assert rec.item.__struct_fields__ == slow.__struct_fields__
    assert rec.item.PhiLePhi == 15000.0
    assert rec.key == "H-1"


@pytest.mark.parametrize(("text", "reason"), [
    ("2017-03-14T09:12:05", "NgayTiepNhan has no UTC offset (expected +07:00): got "
                            "'2017-03-14T09:12:05'"),
    ("2017-02-30T09:00:00+07:00", "NgayTiepNhan is not a valid date: got "
                                  "'2017-02-30T09:00:00+07:00'"),
    ("yesterday", "NgayTiepNhan is not a valid date: got 'yesterday'"),
])
def test_a_bad_time_is_worded_by_the_field_by_field_path(text, reason):
    rec = validate(HOSO, dossier(text, updated="2017-03-14T09:12:05+07:00"))
    assert rec.error == reason
    assert rec.key == "H-1"
    assert rec.item is None


def test_a_time_of_the_wrong_type_names_the_field():
    raw = dossier("2017-03-14T09:12:05+07:00").replace(
        b'"NgayTiepNhan":"2017-03-14T09:12:05+07:00"', b'"NgayTiepNhan":20170314')
    rec = validate(HOSO, raw)
    assert rec.error == "NgayTiepNhan is not an ISO 8601 time (string): got 20170314"
