"""The one-shot setup steps of the Compose deployment (govkpi.deploy): the Airflow admin's
password file, and Metabase's first setup against a stub of the few API calls it makes."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from govkpi import deploy
from govkpi.errors import ConfigError, GovkpiError

BI_ENV = {
    "GOVKPI_BI_HOST": "warehouse", "GOVKPI_BI_PORT": "5432", "GOVKPI_BI_DBNAME": "govkpi",
    "GOVKPI_BI_LOGIN": "metabase", "GOVKPI_BI_PASSWORD": "bi-secret",
    "METABASE_ADMIN_EMAIL": "admin@example.org", "METABASE_ADMIN_PASSWORD": "admin-secret-1",
}


class FakeMetabase:
    """Metabase's setup, session and database endpoints, in memory."""

    def __init__(self) -> None:
        self.admin: dict | None = None
        self.databases: list[dict] = []
        self.calls: list[tuple[str, str]] = []
        self.unhealthy_polls = 1  # answers 503 this many times first, as a starting Metabase
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _body(self) -> dict:
                return json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")

            def _authorised(self) -> bool:
                return self.headers.get("X-Metabase-Session") == "session-1"

            def do_GET(self) -> None:
                fake.calls.append(("GET", self.path))
                if self.path == "/api/health":
                    if fake.unhealthy_polls:
                        fake.unhealthy_polls -= 1
                        return self._send(503, {"status": "initializing"})
                    return self._send(200, {"status": "ok"})
                if self.path == "/api/session/properties":
                    return self._send(200, {"has-user-setup": fake.admin is not None,
                                            "setup-token": None if fake.admin else "token-1"})
                if self.path == "/api/database" and self._authorised():
                    return self._send(200, {"data": fake.databases,
                                            "total": len(fake.databases)})
                return self._send(401, "Unauthenticated")

            def do_POST(self) -> None:
                fake.calls.append(("POST", self.path))
                body = self._body()
                if self.path == "/api/setup":
                    if fake.admin or body.get("token") != "token-1":
                        return self._send(403, "setup already done")
                    fake.admin = body["user"]
                    return self._send(200, {"id": "session-1"})
                if self.path == "/api/session":
                    if fake.admin and (body["username"], body["password"]) == (
                            fake.admin["email"], fake.admin["password"]):
                        return self._send(200, {"id": "session-1"})
                    return self._send(401, {"errors": {"password": "did not match"}})
                if self.path == "/api/database" and self._authorised():
                    fake.databases.append({**body, "id": len(fake.databases) + 1})
                    return self._send(200, fake.databases[-1])
                return self._send(401, "Unauthenticated")

            def do_PUT(self) -> None:
                fake.calls.append(("PUT", self.path))
                body = self._body()
                for db in fake.databases:
                    if self.path == f"/api/database/{db['id']}" and self._authorised():
                        db.update(body)
                        return self._send(200, db)
                return self._send(404, "not found")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def metabase(monkeypatch):
    for key, value in BI_ENV.items():
        monkeypatch.setenv(key, value)
    fake = FakeMetabase()
    monkeypatch.setenv("METABASE_URL", fake.url)
    monkeypatch.setattr(deploy.time, "sleep", lambda s: None)
    yield fake
    fake.close()


def test_metabase_first_setup_creates_the_admin_and_the_bi_connection(metabase):
    summary = deploy.init_metabase()
    assert metabase.admin["email"] == "admin@example.org"
    assert metabase.admin["password"] == "admin-secret-1"
    (db,) = metabase.databases
    assert db["engine"] == "postgres"
    assert db["name"] == deploy.METABASE_DATABASE_NAME
    details = db["details"]
    assert (details["host"], details["port"], details["dbname"]) == ("warehouse", 5432, "govkpi")
    assert (details["user"], details["password"]) == ("metabase", "bi-secret")
    assert details["schema-filters-type"] == "inclusion"
    assert details["schema-filters-patterns"] == "marts,published"
    assert "created admin" in summary
    assert "added database" in summary
    assert "bi-secret" not in summary


def test_metabase_setup_runs_again_without_duplicating(metabase, monkeypatch):
    deploy.init_metabase()
    monkeypatch.setenv("GOVKPI_BI_PASSWORD", "rotated-secret")
    summary = deploy.init_metabase()
    (db,) = metabase.databases
    assert db["details"]["password"] == "rotated-secret"
    assert "logged in as admin@example.org" in summary
    assert "updated database" in summary
    assert ("POST", "/api/setup") in metabase.calls
    assert metabase.calls.count(("POST", "/api/setup")) == 1


def test_metabase_wrong_admin_password_is_one_clear_error(metabase, monkeypatch):
    deploy.init_metabase()
    monkeypatch.setenv("METABASE_ADMIN_PASSWORD", "wrong")
    with pytest.raises(GovkpiError, match="POST /api/session: HTTP 401"):
        deploy.init_metabase()


def test_metabase_not_healthy_in_time(monkeypatch):
    client = deploy.MetabaseClient("http://127.0.0.1:9", timeout=0.5)  # nothing listens
    monkeypatch.setattr(deploy.time, "sleep", lambda s: None)
    with pytest.raises(GovkpiError, match="not healthy"):
        client.wait_until_healthy(timeout_s=0)


def test_missing_setting_is_named(monkeypatch):
    for key in BI_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("METABASE_URL", "http://127.0.0.1:9")
    assert deploy.main(["metabase"]) == 2
    with pytest.raises(ConfigError, match="METABASE_ADMIN_EMAIL is not set"):
        deploy.init_metabase()


def test_airflow_admin_password_file(tmp_path, monkeypatch):
    path = tmp_path / "auth" / "passwords.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"viewer": "kept"}) + "\n")
    monkeypatch.setenv(deploy.PASSWORDS_FILE_ENV, str(path))
    monkeypatch.setenv("AIRFLOW_ADMIN_USER", "admin")
    monkeypatch.setenv("AIRFLOW_ADMIN_PASSWORD", 'p"w\\d')
    assert deploy.main(["airflow-admin"]) == 0
    assert json.loads(path.read_text()) == {"viewer": "kept", "admin": 'p"w\\d'}
    assert path.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("AIRFLOW_ADMIN_PASSWORD", "second")
    deploy.init_airflow_admin()
    assert json.loads(path.read_text())["admin"] == "second"


def test_airflow_admin_file_is_what_the_simple_auth_manager_reads(tmp_path, monkeypatch):
    """The file format is the one Airflow's simple auth manager parses (and keeps)."""
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    path = tmp_path / "passwords.json"
    monkeypatch.setenv(deploy.PASSWORDS_FILE_ENV, str(path))
    monkeypatch.setenv("AIRFLOW_ADMIN_USER", "admin")
    monkeypatch.setenv("AIRFLOW_ADMIN_PASSWORD", "s3cret")
    deploy.init_airflow_admin()
    with open(path) as stream:
        assert SimpleAuthManager._get_passwords(stream=stream) == {"admin": "s3cret"}
