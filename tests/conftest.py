"""Shared fixtures: project paths, databases (SQLite always, PostgreSQL when reachable)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db import dispose_engines, upgrade_schema
from bot.settings import Settings, load_settings

PROJECT_HOME = Path(__file__).resolve().parents[1]
DEFAULT_KB = PROJECT_HOME / "knowledge_base"
COOKWARE_KB = PROJECT_HOME / "tests" / "fixtures" / "kb_cookware"


@pytest.fixture(scope="session")
def project_settings() -> Settings:
    return load_settings(home=PROJECT_HOME)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'lantern.db'}"
    upgrade_schema(url)
    yield url
    dispose_engines()


def _postgres_or_skip(settings: Settings) -> str:
    try:
        engine = create_engine(settings.test_postgres_url, future=True)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure means "not reachable"
        reason = f"PostgreSQL not reachable at {settings.test_postgres_url}: {error.__class__.__name__}"
        if settings.require_services:
            pytest.fail(f"{reason} (LANTERN_REQUIRE_SERVICES=1 makes this a failure)")
        pytest.skip(reason)
    return settings.test_postgres_url


@pytest.fixture
def postgres_url(project_settings: Settings) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin_url = _postgres_or_skip(project_settings)
    name = f"lantern_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
