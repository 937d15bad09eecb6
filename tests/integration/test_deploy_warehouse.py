"""``python -m govkpi.deploy warehouse`` (the compose file's warehouse-init): the database, the
``bi_reader`` group role and the BI tool's LOGIN role as its member; safe to run again."""

from __future__ import annotations

import os
import uuid

from govkpi import deploy
from govkpi.roles import BI_READER_ROLE


def test_warehouse_init_creates_the_bi_login(fresh_warehouse, monkeypatch):
    from psycopg import sql

    wh = fresh_warehouse
    login = f"govkpi_test_bi_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("GOVKPI_WAREHOUSE_URL", wh.url)
    monkeypatch.setenv("GOVKPI_BI_LOGIN", login)
    monkeypatch.setenv("GOVKPI_BI_PASSWORD", "first-password")
    try:
        assert deploy.main(["warehouse"]) == 0
        monkeypatch.setenv("GOVKPI_BI_PASSWORD", "second-password")
        assert login in deploy.init_warehouse()  # again: the password is reset, nothing fails
        with wh.connect() as conn:
            can_login, member = conn.execute(
                "select r.rolcanlogin, pg_has_role(r.oid, %s, 'member') from pg_roles r"
                " where r.rolname = %s", (BI_READER_ROLE, login)).fetchone()
        assert can_login
        assert member
    finally:
        with wh.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(login)))
