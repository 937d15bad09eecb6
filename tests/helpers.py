"""Test helpers: run dbt against the session database, query it."""

from __future__ import annotations

from govkpi import config


def dbt(*args: str) -> None:
    """Run dbt in-process (profiles.yml reads GOVKPI_DB_*); fail the test with dbt's errors."""
    from dbt.cli.main import dbtRunner

    res = dbtRunner().invoke([*args, "--project-dir", str(config.DBT_PROJECT_DIR),
                              "--profiles-dir", str(config.DBT_PROJECT_DIR), "--quiet"])
    if not res.success:
        details = []
        for r in getattr(res.result, "results", None) or []:
            if str(r.status) not in ("success", "pass"):
                details.append(f"{r.node.name}: {r.status} {r.message}")
        raise AssertionError(f"dbt {' '.join(args)} failed: {res.exception or ''} {details}")


def query(wh, sql: str, params=()) -> list[tuple]:
    with wh.connect() as conn:
        return conn.execute(sql, params).fetchall()
