"""The one-shot setup steps of the Docker Compose deployment (docker-compose.yml,
docs/operations.md), each safe to run again:

    python -m govkpi.deploy warehouse       # database, bi_reader, the BI tool's login role
    python -m govkpi.deploy airflow-admin   # the Airflow admin's password (simple auth manager)
    python -m govkpi.deploy metabase        # Metabase's first admin and its warehouse connection

Settings come from the environment (the compose file passes them; names below). A missing one
stops the step with one line naming it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from govkpi.errors import ConfigError, GovkpiError

# the BI tool's LOGIN role, a member of bi_reader (govkpi.roles), and where it finds the warehouse
BI_LOGIN_ENV = "GOVKPI_BI_LOGIN"
BI_PASSWORD_ENV = "GOVKPI_BI_PASSWORD"
BI_HOST_ENV = "GOVKPI_BI_HOST"
BI_PORT_ENV = "GOVKPI_BI_PORT"
BI_DBNAME_ENV = "GOVKPI_BI_DBNAME"
# Airflow's simple auth manager: users in [core] simple_auth_manager_users, passwords in a file
PASSWORDS_FILE_ENV = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
ADMIN_USER_ENV = "AIRFLOW_ADMIN_USER"
ADMIN_PASSWORD_ENV = "AIRFLOW_ADMIN_PASSWORD"
# Metabase
METABASE_URL_ENV = "METABASE_URL"
METABASE_EMAIL_ENV = "METABASE_ADMIN_EMAIL"
METABASE_PASSWORD_ENV = "METABASE_ADMIN_PASSWORD"
METABASE_DATABASE_NAME = "govkpi warehouse"
BI_SCHEMAS = "marts,published"  # what bi_reader may read; Metabase shows only these


def _env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set (see .env.example)")
    return value


# --- warehouse --------------------------------------------------------------------------------

def init_warehouse() -> str:
    """Create the warehouse database if missing, the ``bi_reader`` group role and the BI tool's
    LOGIN role (``GOVKPI_BI_LOGIN`` / ``GOVKPI_BI_PASSWORD``) as its member; the grants on
    ``marts`` and ``published`` are dbt's (README.md, BI access)."""
    from govkpi.roles import BI_READER_ROLE, create_bi_login
    from govkpi.warehouse import resolve_warehouse

    login, password = _env(BI_LOGIN_ENV), _env(BI_PASSWORD_ENV)
    wh = resolve_warehouse()  # GOVKPI_WAREHOUSE_URL; creates the database and bi_reader
    with wh.connect(autocommit=True) as conn:
        create_bi_login(conn, login, password)
    return (f"warehouse {wh.where}/{wh.dbname} ready; {login} logs in as a member of "
            f"{BI_READER_ROLE}")


# --- Airflow pools ----------------------------------------------------------------------------

def init_airflow_pools() -> str:
    """Create or update the source-system pools the extract tasks run in
    (:data:`govkpi.dag_defaults.SOURCE_POOLS`): a task whose pool is missing is never queued."""
    from govkpi.airflow_env import ensure_pools

    return "Airflow pools: " + ", ".join(ensure_pools())


# --- Airflow admin ----------------------------------------------------------------------------

def init_airflow_admin() -> str:
    """Write the admin's password into the simple auth manager's passwords file (other users'
    entries are kept), so the api-server uses it instead of generating one."""
    path = Path(_env(PASSWORDS_FILE_ENV))
    user, password = _env(ADMIN_USER_ENV), _env(ADMIN_PASSWORD_ENV)
    passwords: dict[str, str] = {}
    if path.exists() and path.read_text().strip():
        passwords = json.loads(path.read_text())
    passwords[user] = password
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(passwords) + "\n")
    path.chmod(0o600)
    return f"Airflow user {user}: password set in {path}"


# --- Metabase ---------------------------------------------------------------------------------

class MetabaseClient:
    """The few calls of Metabase's REST API that a first setup needs."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session: str | None = None

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.session:
            headers["X-Metabase-Session"] = self.session
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise GovkpiError(f"Metabase {method} {path}: HTTP {exc.code} {detail}") from exc
        return json.loads(raw) if raw.strip() else None

    def wait_until_healthy(self, timeout_s: float = 600, every_s: float = 5) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if (self.call("GET", "/api/health") or {}).get("status") == "ok":
                    return
            except (GovkpiError, OSError, ValueError):
                pass  # starting: 503, or nothing listening yet
            if time.monotonic() > deadline:
                raise GovkpiError(f"Metabase at {self.base_url} is not healthy after "
                                  f"{timeout_s:.0f} s")
            time.sleep(every_s)


def warehouse_details() -> dict[str, Any]:
    """The connection Metabase keeps: the BI login, never the pipeline's own role."""
    return {
        "host": _env(BI_HOST_ENV),
        "port": int(os.environ.get(BI_PORT_ENV) or 5432),
        "dbname": _env(BI_DBNAME_ENV),
        "user": _env(BI_LOGIN_ENV),
        "password": _env(BI_PASSWORD_ENV),
        "ssl": False,
        "schema-filters-type": "inclusion",
        "schema-filters-patterns": BI_SCHEMAS,
    }


def init_metabase(client: MetabaseClient | None = None, *, wait_s: float = 600) -> str:
    """Create Metabase's first admin (``METABASE_ADMIN_EMAIL`` / ``_PASSWORD``) on a new
    instance, or log in as it, then add the warehouse as a database (or update its connection:
    a rotated BI password is picked up)."""
    client = client or MetabaseClient(_env(METABASE_URL_ENV))
    email, password = _env(METABASE_EMAIL_ENV), _env(METABASE_PASSWORD_ENV)
    details = warehouse_details()
    client.wait_until_healthy(timeout_s=wait_s)
    properties = client.call("GET", "/api/session/properties") or {}
    if properties.get("has-user-setup"):
        client.session = client.call("POST", "/api/session",
                                     {"username": email, "password": password})["id"]
        admin = f"logged in as {email}"
    else:
        client.session = client.call("POST", "/api/setup", {
            "token": properties.get("setup-token"),
            "user": {"email": email, "password": password, "first_name": "govkpi",
                     "last_name": "admin", "site_name": "govkpi"},
            "prefs": {"site_name": "govkpi", "allow_tracking": False},
        })["id"]
        admin = f"created admin {email}"
    listed = client.call("GET", "/api/database") or []
    databases = listed.get("data", []) if isinstance(listed, dict) else listed
    existing = next((d for d in databases if d.get("name") == METABASE_DATABASE_NAME), None)
    if existing is None:
        client.call("POST", "/api/database", {"engine": "postgres",
                                              "name": METABASE_DATABASE_NAME,
                                              "details": details, "is_full_sync": True})
        action = "added"
    else:
        client.call("PUT", f"/api/database/{existing['id']}", {"details": details})
        action = "updated"
    return (f"Metabase: {admin}; {action} database {METABASE_DATABASE_NAME!r} "
            f"({details['user']}@{details['host']}:{details['port']}/{details['dbname']}, "
            f"schemas {BI_SCHEMAS})")


STEPS = {"warehouse": init_warehouse, "airflow-admin": init_airflow_admin,
         "airflow-pools": init_airflow_pools, "metabase": init_metabase}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m govkpi.deploy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=list(STEPS))
    args = parser.parse_args(argv)
    try:
        print(STEPS[args.step](), flush=True)
    except GovkpiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
