"""With no URL and nothing on 127.0.0.1:5432, the warehouse is an embedded PostgreSQL."""

from __future__ import annotations

import pytest

from govkpi import config, warehouse


@pytest.fixture
def no_local_server(monkeypatch, tmp_path):
    import socket

    with socket.socket() as s:  # a port where nothing listens stands in for a bare machine
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setattr(warehouse, "LOCAL_PORT", closed)
    monkeypatch.setattr(config, "LOCAL_DIR", tmp_path / ".local")
    monkeypatch.delenv(config.WAREHOUSE_URL_ENV, raising=False)
    yield tmp_path / ".local" / "pgdata"
    warehouse.stop_embedded()


def test_embedded_server_is_started_reused_and_usable(no_local_server):
    wh = warehouse.resolve_warehouse()
    assert wh.origin == "embedded"
    assert wh.is_socket
    assert wh.dbname == "govkpi"
    assert (no_local_server / "PG_VERSION").exists()
    with wh.connect() as conn:
        conn.execute("create table t (x int)")
        conn.execute("insert into t values (42)")
        conn.commit()
    again = warehouse.resolve_warehouse()  # second call: same server, same data
    assert again == wh
    with again.connect() as conn:
        assert conn.execute("select x from t").fetchall() == [(42,)]
    assert warehouse.stop_embedded() is True
