"""Settings from the environment, with defaults that make a fresh clone work.

Everything a process needs to know about its surroundings is read here and nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from govkpi.errors import ConfigError

PROJECT_ROOT = Path(os.environ.get("GOVKPI_HOME", Path(__file__).resolve().parents[2]))
LOCAL_DIR = PROJECT_ROOT / ".local"  # git-ignored: embedded database, Airflow home, demo output
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
GX_PROJECT_DIR = PROJECT_ROOT / "expectations"
DAGS_DIR = PROJECT_ROOT / "dags"

WAREHOUSE_URL_ENV = "GOVKPI_WAREHOUSE_URL"
PII_KEY_ENV = "GOVKPI_PII_KEY"
AIRFLOW_WAREHOUSE_CONN_ID = "govkpi_warehouse"
DEFAULT_DATABASE = "govkpi"
MIN_PII_KEY_LENGTH = 32
DROP_DIR_ENV = "GOVKPI_DROP_DIR"


def drop_dir() -> Path:
    """The folder where units' self-assessment returns arrive (``<drop>/<year>/<unit>.xlsx``)."""
    return Path(os.environ.get(DROP_DIR_ENV) or LOCAL_DIR / "drop")


REPORTS_DIR_ENV = "GOVKPI_REPORTS_DIR"


def reports_dir() -> Path:
    """Where the ranking reports are written: ``GOVKPI_REPORTS_DIR``, else ``reports/`` in the
    project (git-ignored)."""
    return Path(os.environ.get(REPORTS_DIR_ENV) or PROJECT_ROOT / "reports")


PII_KEY_CONN_ID = "govkpi_pii_key"  # an Airflow connection whose password is the key


def _pii_key_from_airflow() -> str:
    """The key kept as an Airflow connection (a secrets backend, or AIRFLOW_CONN_GOVKPI_PII_KEY);
    looked up only inside an Airflow deployment, so the CLI never imports Airflow for it."""
    if not (os.environ.get("AIRFLOW_HOME") or os.environ.get("AIRFLOW_CONN_GOVKPI_PII_KEY")):
        return ""
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(PII_KEY_CONN_ID).password or ""
    except Exception:  # no such connection (AirflowNotFoundException) or no Airflow at all
        return ""


def pii_key() -> bytes:
    """The secret for keyed hashes of personal data; refusing to run without one.

    From ``GOVKPI_PII_KEY``, else the password of the Airflow connection ``govkpi_pii_key``.
    """
    key = os.environ.get(PII_KEY_ENV, "") or _pii_key_from_airflow()
    if not key:
        raise ConfigError(
            f"{PII_KEY_ENV} is not set (nor the Airflow connection {PII_KEY_CONN_ID}): personal "
            f"data cannot be hashed. Set it to a secret of at least {MIN_PII_KEY_LENGTH} "
            "characters, e.g. "
            "export GOVKPI_PII_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if len(key) < MIN_PII_KEY_LENGTH:
        raise ConfigError(
            f"{PII_KEY_ENV} is too short ({len(key)} characters): use at least "
            f"{MIN_PII_KEY_LENGTH} random characters"
        )
    return key.encode()


@dataclass(frozen=True)
class OneStopSettings:
    """Where the one-stop system answers and how to authenticate (SOURCES.md §1)."""

    base_url: str
    client_id: str
    client_secret: str
    page_size: int = 1000
    timeout_seconds: float = 30.0
    overlap_seconds: int = 3600  # re-read this much before the watermark: late writes

    @classmethod
    def from_env(cls) -> OneStopSettings:
        return cls(
            base_url=_source_url("GOVKPI_ONESTOP_URL", "one-stop system", 8801),
            client_id=os.environ.get("GOVKPI_ONESTOP_CLIENT_ID", "govkpi"),
            client_secret=os.environ.get("GOVKPI_ONESTOP_CLIENT_SECRET", "govkpi-secret"),
            page_size=int(os.environ.get("GOVKPI_ONESTOP_PAGE_SIZE", "1000")),
        )


@dataclass(frozen=True)
class EofficeSettings:
    """Where the e-office answers and its API key (SOURCES.md §2)."""

    base_url: str
    api_key: str
    page_size: int = 1000
    timeout_seconds: float = 30.0
    overlap_seconds: int = 3600

    @classmethod
    def from_env(cls) -> EofficeSettings:
        return cls(
            base_url=_source_url("GOVKPI_EOFFICE_URL", "e-office", 8802),
            api_key=os.environ.get("GOVKPI_EOFFICE_API_KEY", "govkpi-eoffice-key"),
            page_size=int(os.environ.get("GOVKPI_EOFFICE_PAGE_SIZE", "1000")),
        )


@dataclass(frozen=True)
class DvcSettings:
    """Where the online public-service portal answers and its Basic credentials (SOURCES.md §3)."""

    base_url: str
    username: str
    password: str
    page_size: int = 1000
    timeout_seconds: float = 30.0
    overlap_seconds: int = 3600

    @classmethod
    def from_env(cls) -> DvcSettings:
        return cls(
            base_url=_source_url("GOVKPI_DVC_URL", "online public-service portal", 8803),
            username=os.environ.get("GOVKPI_DVC_USERNAME", "govkpi"),
            password=os.environ.get("GOVKPI_DVC_PASSWORD", "govkpi-dvc-secret"),
            page_size=int(os.environ.get("GOVKPI_DVC_PAGE_SIZE", "1000")),
        )


def _source_url(env: str, what: str, simulator_port: int) -> str:
    url = os.environ.get(env)
    if not url:
        raise ConfigError(f"{env} is not set: point it at the {what} "
                          f"(e.g. http://127.0.0.1:{simulator_port} for the simulator)")
    return url.rstrip("/")
