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


def _service_or_skip(settings: Settings, reason: str) -> None:
    if settings.require_services:
        pytest.fail(f"{reason} (LANTERN_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session")
def redis_url(project_settings: Settings) -> str:
    """The machine's Redis (database 15, emptied by the tests that need it empty)."""
    import redis

    url = project_settings.redis_url or TEST_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as error:
        _service_or_skip(project_settings, f"Redis not reachable at {url}: {error.__class__.__name__}")
    return url


@pytest.fixture(scope="session")
def nginx_binary(project_settings: Settings) -> str:
    from bot.cluster import NGINX

    if not Path(NGINX).exists():
        _service_or_skip(project_settings, f"nginx not installed at {NGINX}: run `make nginx`")
    return NGINX
