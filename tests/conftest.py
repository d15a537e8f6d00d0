"""Fixtures shared by the whole suite: databases (SQLite and PostgreSQL) and the emulators."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from syndicator.store import Database

POSTGRES_URL = os.environ.get(
    "SYNDICATOR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_or_skip() -> None:
    try:
        engine = sqlalchemy.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except sqlalchemy.exc.OperationalError as exc:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # CI promises a PostgreSQL server: its absence is a failure
        pytest.skip(message)


@pytest.fixture
def postgres_database() -> Iterator[Database]:
    """A PostgreSQL database in a schema of its own, dropped afterwards."""
    _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    database = Database(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        database.upgrade()
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'syndicator.db'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    """Every store test runs on both SQLite and PostgreSQL."""
    fixture = "sqlite_database" if request.param == "sqlite" else "postgres_database"
    db = request.getfixturevalue(fixture)
    assert isinstance(db, Database)
    return db
