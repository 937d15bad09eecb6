"""The PostgreSQL warehouse: which server, which database, and how each tool connects to it.

Resolution order (ARCHITECTURE.md, "PostgreSQL is the warehouse"):

1. ``GOVKPI_WAREHOUSE_URL`` when set; if it does not answer, fail at once with one line.
2. A server answering on 127.0.0.1:5432 (this project's machines and CI).
3. An embedded PostgreSQL (``pgserver``) in ``.local/pgdata``, started once and reused.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from dataclasses import dataclass, replace
from urllib.parse import quote

from govkpi import config
from govkpi.errors import WarehouseUnreachable

PG_DEFAULT_PORT = 5432  # libpq's default, also the socket file name .s.PGSQL.5432
LOCAL_HOST, LOCAL_PORT = "127.0.0.1", PG_DEFAULT_PORT  # where a machine's own server answers
CONNECT_TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class Warehouse:
    """Connection facts for one database; ``origin`` says how it was found."""

    host: str  # a host name or, for a Unix socket, its directory
    port: int
    user: str
    password: str
    dbname: str
    origin: str = "env"  # env | local | embedded

    @classmethod
    def from_url(cls, url: str, origin: str = "env") -> Warehouse:
        from psycopg.conninfo import conninfo_to_dict

        try:
            parts = conninfo_to_dict(url)
        except Exception as exc:  # psycopg.ProgrammingError: a malformed URL
            raise WarehouseUnreachable(
                f"{config.WAREHOUSE_URL_ENV} is not a valid PostgreSQL URL ({exc}); expected "
                "postgresql://user:password@host:5432/database"
            ) from exc
        return cls(
            host=str(parts.get("host") or LOCAL_HOST),
            port=int(parts.get("port") or PG_DEFAULT_PORT),
            user=str(parts.get("user") or getpass.getuser()),
            password=str(parts.get("password") or ""),
            dbname=str(parts.get("dbname") or config.DEFAULT_DATABASE),
            origin=origin,
        )

    @property
    def is_socket(self) -> bool:
        return self.host.startswith("/")

    @property
    def where(self) -> str:
        return self.host if self.is_socket else f"{self.host}:{self.port}"

    def with_database(self, dbname: str) -> Warehouse:
        return replace(self, dbname=dbname)

    @property
    def url(self) -> str:
        """libpq URL (also accepted by psycopg and SQLAlchemy after the scheme change)."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        if self.is_socket:
            return f"postgresql://{auth}@/{self.dbname}?host={quote(self.host)}&port={self.port}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.dbname}"

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+psycopg://" + self.url.removeprefix("postgresql://")

    def connect(self, *, autocommit: bool = False, **kwargs):
        import psycopg

        try:
            return psycopg.connect(
                self.url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_SECONDS, **kwargs
            )
        except psycopg.OperationalError as exc:
            raise WarehouseUnreachable(self._unreachable_message(exc)) from exc

    async def connect_async(self, *, autocommit: bool = False):
        import psycopg

        try:
            return await psycopg.AsyncConnection.connect(
                self.url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_SECONDS
            )
        except psycopg.OperationalError as exc:
            raise WarehouseUnreachable(self._unreachable_message(exc)) from exc

    def _unreachable_message(self, exc: Exception) -> str:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        hint = (
            f"check {config.WAREHOUSE_URL_ENV} or unset it to use the local/embedded server"
            if self.origin == "env"
            else "start PostgreSQL or set GOVKPI_WAREHOUSE_URL"
        )
        return f"warehouse unreachable at {self.where} (database {self.dbname}): {reason}; {hint}"

    def ensure_database(self) -> Warehouse:
        """Create the database if the server answers but it does not exist yet, the server's
        roles (``bi_reader``, :mod:`govkpi.roles`) if they are missing, and the methodology
        tables the ranking models read (``ranking_config``, :mod:`govkpi.ranking.methodology`)."""
        import psycopg
        from psycopg import sql

        from govkpi.ranking.methodology import ensure_schema
        from govkpi.roles import ensure_bi_reader_role

        try:
            with self.connect(autocommit=True) as conn:
                ensure_bi_reader_role(conn)
            with self.connect() as conn:
                ensure_schema(conn)
            return self
        except WarehouseUnreachable as exc:
            cause = exc.__cause__
            if not (isinstance(cause, psycopg.OperationalError) and "does not exist" in str(cause)):
                raise
        with self.with_database("postgres").connect(autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.dbname)))
            ensure_bi_reader_role(conn)
        with self.connect() as conn:
            ensure_schema(conn)
        return self

    def drop_database(self) -> None:
        from psycopg import sql

        with self.with_database("postgres").connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(self.dbname)
                )
            )

    # --- what other tools need -------------------------------------------------------------
    def airflow_connection_json(self) -> str:
        """``AIRFLOW_CONN_GOVKPI_WAREHOUSE`` value; Cosmos maps it to the dbt profile.

        The Cosmos Postgres mapping insists on a password; trust-auth servers ignore it.
        """
        return json.dumps(
            {
                "conn_type": "postgres",
                "host": self.host,
                "port": self.port,
                "login": self.user,
                "password": self.password or "trust-auth",
                "schema": self.dbname,
            }
        )

    def environment(self) -> dict[str, str]:
        """Variables that point every child process (Airflow, dbt, GX) at this database."""
        return {
            config.WAREHOUSE_URL_ENV: self.url,
            "AIRFLOW_CONN_" + config.AIRFLOW_WAREHOUSE_CONN_ID.upper():
                self.airflow_connection_json(),
            "GOVKPI_WAREHOUSE_SQLALCHEMY_URL": self.sqlalchemy_url,
            # dbt_project/profiles.yml (plain `dbt` runs outside Airflow)
            "GOVKPI_DB_HOST": self.host,
            "GOVKPI_DB_PORT": str(self.port),
            "GOVKPI_DB_USER": self.user,
            "GOVKPI_DB_PASSWORD": self.password or "trust-auth",
            "GOVKPI_DB_NAME": self.dbname,
        }


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def embedded_pgdata():
    return config.LOCAL_DIR / "pgdata"


def start_embedded(dbname: str = config.DEFAULT_DATABASE) -> Warehouse:
    """Start (or reuse) the project-local embedded PostgreSQL and return its database."""
    import warnings

    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    pgdata = embedded_pgdata()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)  # keep running: reused next time
    return Warehouse.from_url(server.get_uri(dbname), origin="embedded")


def stop_embedded() -> bool:
    """Stop the embedded server if it runs (its data stays in .local/pgdata)."""
    import pgserver

    pgdata = embedded_pgdata()
    if not (pgdata / "postmaster.pid").exists():
        return False
    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs it as this user under root
    pgserver.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True


def resolve_warehouse(dbname: str | None = None, *, create: bool = True) -> Warehouse:
    """Find the warehouse per the module docstring; raise one clear error if it cannot."""
    url = os.environ.get(config.WAREHOUSE_URL_ENV)
    if url:
        wh = Warehouse.from_url(url, origin="env")
        if dbname:
            wh = wh.with_database(dbname)
    elif _port_open(LOCAL_HOST, LOCAL_PORT):
        user = os.environ.get("PGUSER") or getpass.getuser()
        wh = Warehouse(LOCAL_HOST, LOCAL_PORT, user, os.environ.get("PGPASSWORD", ""),
                       dbname or config.DEFAULT_DATABASE, origin="local")
    else:
        wh = start_embedded(dbname or config.DEFAULT_DATABASE)
    if wh.origin == "env" and not wh.is_socket and not _port_open(wh.host, wh.port, timeout=2):
        raise WarehouseUnreachable(
            f"warehouse unreachable at {wh.where} (nothing answers there): start PostgreSQL "
            f"there, fix {config.WAREHOUSE_URL_ENV}, or unset it to use the local/embedded server"
        )
    return wh.ensure_database() if create else wh


def export_environment(wh: Warehouse) -> None:
    """Point this process and its children at ``wh``."""
    os.environ.update(wh.environment())
