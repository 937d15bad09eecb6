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
    ]
    for raw in records:
        scrubber = _Scrubber(hasher, FIELDS)
        got = msgspec.json.decode(scrubber.payload(raw))
        want = reference(hasher, raw)
        for f in FIELDS:  # the record's own personal fields: exactly the reference hashes
            assert got.get(f, "absent") == want.get(f, "absent"), (raw, f)
        assert "Outer" not in str(got)
        assert "Second" not in str(got)
