"""The loader's byte-level scrubber gives the same payload as the reference path
(decode → ``PiiHasher.scrub`` → encode) on ordinary and awkward records."""

import random

import msgspec

from govkpi.load.raw import _Scrubber
from govkpi.privacy import PiiHasher

FIELDS = ("ChuHoSo", "SoGiayTo", "SoDienThoai", "DiaChi")


def reference(hasher: PiiHasher, raw: bytes):
    return hasher.scrub(msgspec.json.decode(raw), FIELDS)


def test_scrubbed_payload_equals_the_reference_path():
    hasher = PiiHasher(b"k" * 32)
    rng = random.Random(7)
    names = ["Lê Minh Cường", "Nguyễn  Văn An", 'Trần Thị "B"', "x\\", "Đỗ\u0300", "", " ",
             "0905123456", "052087040046"]
    records = []
    for _ in range(300):
        rec = {"MaHoSo": f"H-{rng.randint(0, 99)}", "GhiChu": rng.choice(["ChuHoSo", "a"]),
               "QuaTrinhXuLy": [{"TrangThai": 1}]}
        for f in FIELDS:
            roll = rng.random()
            if roll < 0.6:
                rec[f] = rng.choice(names)
            elif roll < 0.7:
                rec[f] = None
            elif roll < 0.8:
                rec[f] = rng.randint(0, 10**11)
            elif roll < 0.85:
                rec[f] = {"nested": "x"}
        records.append(msgspec.json.encode(rec))
    # awkward shapes: the same name nested first, sent twice, spaces around the colon
    records += [
        b'{"Q":[{"ChuHoSo":"inner"}],"ChuHoSo":"Outer","DiaChi":null}',
        b'{"ChuHoSo":"First","ChuHoSo":"Second"}',
        b'{"ChuHoSo" : "Spaced", "SoGiayTo":"052087040046"}',
        b'{"ChuHoSo":"A\\\\","SoDienThoai":"0905\\"1"}',
        b'{"SoGiayTo":true,"SoDienThoai":-1.5e3}',
        b'{"MaHoSo":"no personal data"}',
        b'{"Chu\\u0048oSo":"Escaped","SoGiayTo":"052087040046"}',  # a key spelt with escapes
        b'{"ChuHoSo":"Top","Q":[{"ChuHoSo":"Top"}]}',  # nested after the top-level field
        b'{"ChuHoSo":"Unterminated',
    ]
    for raw in records:
        scrubber = _Scrubber(hasher, FIELDS)
        try:
            want = reference(hasher, raw)
        except msgspec.DecodeError:  # not JSON: the client never passes it (not validated)
            continue
        got = msgspec.json.decode(scrubber.payload(raw))
        for f in FIELDS:  # the record's own personal fields: exactly the reference hashes
            assert got.get(f, "absent") == want.get(f, "absent"), (raw, f)
        assert "Outer" not in str(got)
        assert "Second" not in str(got)
        assert "Escaped" not in str(got)
        # a key sent twice: the last one wins when msgspec decodes and when PostgreSQL reads
        # jsonb (so "First" may stay in the bytes sent but never in the stored value)
        assert "First" not in str(got)


def test_common_records_take_the_fast_path():
    """Ordinary dossiers never take the reference path (a regression here costs ~10 µs each)."""
    hasher = PiiHasher(b"k" * 32)
    scrubber = _Scrubber(hasher, FIELDS)
    for raw in (b'{"MaHoSo":"H1","ChuHoSo":"L\\u00ea Minh","SoGiayTo":"052087040046",'
                b'"SoDienThoai":"0905123456","DiaChi":"Th\\u00f4n 1","NgayCapNhat":"x"}',
                '{"MaHoSo":"H2","ChuHoSo":"Lê Minh","SoGiayTo":null,"DiaChi":"Thôn 1"}'.encode()):
        assert msgspec.json.decode(scrubber.payload(raw)) == reference(hasher, raw)
    assert scrubber.fallbacks == 0
