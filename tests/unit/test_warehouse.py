"""Warehouse resolution: URL parsing, and one clear line when the URL does not answer."""

import os
import socket
import subprocess
import sys
import time

from govkpi.warehouse import Warehouse


def test_url_round_trip_tcp_and_socket():
    wh = Warehouse.from_url("postgresql://ana:p%40ss@db.example:6543/kpi")
    assert (wh.host, wh.port, wh.user, wh.password, wh.dbname) == (
        "db.example", 6543, "ana", "p@ss", "kpi")
    assert Warehouse.from_url(wh.url) == wh
    assert wh.sqlalchemy_url.startswith("postgresql+psycopg://ana:p%40ss@db.example:6543/")
    sock = Warehouse.from_url("postgresql://postgres:@/govkpi?host=/tmp/pg%20data", "embedded")
    assert sock.is_socket
    assert sock.host == "/tmp/pg data"
    assert sock.dbname == "govkpi"
    assert Warehouse.from_url(sock.url, "embedded") == sock
    env = sock.environment()
    assert env["GOVKPI_DB_HOST"] == "/tmp/pg data"
    assert env["GOVKPI_DB_NAME"] == "govkpi"
    assert '"host": "/tmp/pg data"' in env["AIRFLOW_CONN_GOVKPI_WAREHOUSE"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


def test_unreachable_url_fails_fast_with_one_line():
    port = _closed_port()
    env = {**os.environ, "GOVKPI_WAREHOUSE_URL": f"postgresql://root@127.0.0.1:{port}/govkpi"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "govkpi.cli", "warehouse"], env=env,
                          capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [lines[0]]
    assert lines[0].startswith(
        f"error: warehouse unreachable at 127.0.0.1:{port}")
    assert "GOVKPI_WAREHOUSE_URL" in lines[0]
    assert elapsed < 15
