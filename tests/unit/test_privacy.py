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
