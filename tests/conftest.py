"""Shared fixtures: a throw-away warehouse database per session, a project-local Airflow.

Tests create and drop their own databases (``govkpi_test_<pid>``) on whatever server the
warehouse resolution finds, and touch nothing else.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

TEST_PII_KEY = "test-key-0123456789abcdef0123456789abcdef"

# Airflow reads its settings at import time: point it at a private home before any test imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="govkpi-airflow-"))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ["GOVKPI_PII_KEY"] = TEST_PII_KEY
from govkpi.airflow_env import airflow_environment  # noqa: E402

os.environ.update(airflow_environment(_AIRFLOW_HOME))


@pytest.fixture(scope="session")
def server():
    """The PostgreSQL server the warehouse resolution finds (URL, local or embedded)."""
    from govkpi.warehouse import resolve_warehouse

    return resolve_warehouse(create=False)


@pytest.fixture(scope="session")
def warehouse(server):
    """A fresh database for the session, exported to every child process (dbt, GX, Airflow)."""
    from govkpi.warehouse import export_environment

    wh = server.with_database(f"govkpi_test_{os.getpid()}")
    wh.drop_database()
    wh.ensure_database()
    saved = dict(os.environ)
    export_environment(wh)
    yield wh
    os.environ.clear()
    os.environ.update(saved)
    wh.drop_database()


def _own_database(server):
    import uuid

    from govkpi.warehouse import export_environment

    wh = server.with_database(f"govkpi_test_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    wh.ensure_database()
    saved = dict(os.environ)
    export_environment(wh)
    yield wh
    os.environ.clear()
    os.environ.update(saved)
    wh.drop_database()


@pytest.fixture
def fresh_warehouse(server):
    """A database of its own for one test (for tests that must start empty)."""
    yield from _own_database(server)


@pytest.fixture(scope="module")
def fresh_warehouse_module(server):
    """A database of its own for one test module."""
    yield from _own_database(server)


@pytest.fixture(scope="session")
def airflow_db():
    """Migrate the private Airflow metadata DB once per session and create the pools the DAGs
    use (as ``prepare_airflow`` does for the demo)."""
    import subprocess
    import sys

    from govkpi.airflow_env import ensure_pools

    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy())
    ensure_pools()
    return _AIRFLOW_HOME
