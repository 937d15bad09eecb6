import json

import pytest

from govkpi.config import pii_key
from govkpi.errors import ConfigError
from govkpi.privacy import PiiHasher


def test_hash_is_keyed_normalised_and_not_reversible():
    a = PiiHasher(b"k" * 32)
    b = PiiHasher(b"x" * 32)
    h = a.hash_value("Nguyễn Văn An")
    assert h.startswith("hmac-sha256:")
    assert len(h) == len("hmac-sha256:") + 64
    assert "Nguyễn" not in h
    assert a.hash_value("  nguyễn   VĂN an ") == h  # same person, typed differently
    assert b.hash_value("Nguyễn Văn An") != h  # another key, another hash
    assert a.hash_value(None) is None
    assert a.hash_value("  ") is None


def test_scrub_replaces_only_the_named_fields():
    rec = {"MaHoSo": "X-1", "ChuHoSo": "Trần Thị B", "SoDienThoai": "0905123456", "DiaChi": None}
    out = PiiHasher(b"k" * 32).scrub(rec, ("ChuHoSo", "SoDienThoai", "DiaChi", "SoGiayTo"))
    assert out["MaHoSo"] == "X-1"
    assert out["ChuHoSo"].startswith("hmac-sha256:")
    assert out["DiaChi"] is None
    assert "SoGiayTo" not in out
    assert rec["ChuHoSo"] == "Trần Thị B"  # the input is not mutated


def test_missing_or_short_key_is_a_clear_startup_error(monkeypatch):
    monkeypatch.delenv("GOVKPI_PII_KEY", raising=False)
    with pytest.raises(ConfigError, match="GOVKPI_PII_KEY is not set"):
        PiiHasher()
    monkeypatch.setenv("GOVKPI_PII_KEY", "short")
    with pytest.raises(ConfigError, match="too short"):
        pii_key()


def test_prepared_hmac_and_normalisation_match_the_reference():
    """The precomputed-pad HMAC and the NFC shortcut give byte-identical hashes to the plain
    ``hmac.new(key, NFC-normalised text)`` on random Vietnamese text (composed and decomposed),
    for short and long (> block size, hashed first) keys."""
    import hashlib
    import hmac
    import random
    import unicodedata

    def reference(key: bytes, value: str) -> str | None:
        text = " ".join(unicodedata.normalize("NFC", value).split()).casefold()
        if not text:
            return None
        return "hmac-sha256:" + hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    rng = random.Random(4)
    alphabet = ("aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợ"
                "ùúủũụừứửữựỳýỷỹỵ" "AĂÂĐÊÔƠƯÀÁẢÃẠỄỆỮ0123456789 ,./-\t\n\u00a0")
    for key in (b"k" * 32, b"bench-key-0123456789abcdef", bytes(range(256)) * 2):
        hasher = PiiHasher(key)
        for _ in range(500):
            value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
            if rng.random() < 0.3:
                value = unicodedata.normalize("NFD", value)
            assert hasher.hash_value(value) == reference(key, value), (key, value)
        assert hasher.hash_value(12345) == reference(key, "12345")


def test_key_can_come_from_an_airflow_connection(monkeypatch):
    monkeypatch.delenv("GOVKPI_PII_KEY", raising=False)
    key = "k-from-airflow-0123456789abcdef0123"
    monkeypatch.setenv("AIRFLOW_CONN_GOVKPI_PII_KEY",
                       json.dumps({"conn_type": "generic", "password": key}))
    assert pii_key() == key.encode()
    monkeypatch.setenv("GOVKPI_PII_KEY", "e" * 40)  # the environment variable wins
    assert pii_key() == b"e" * 40
