"""Engines, sessions and schema migrations for Lantern's application database.

Every function takes the database as `db_url: str` (callers take it from their settings).

Engines are created lazily, one per URL per process; they hold connection pools, not
data, so several processes or replicas never need to agree on anything held here.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.models import SlackEventReceipt

if TYPE_CHECKING:
    from alembic.config import Config

_engines: dict[str, Engine] = {}
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def enable_sqlite_pragmas(dbapi_connection, _record=None) -> None:  # type: ignore[no-untyped-def]
    """WAL lets readers go on while a writer writes; with synchronous=NORMAL a commit
    doesn't wait for a disk flush (a power cut may lose the last commits, a crashed
    process loses nothing); busy_timeout makes a writer wait for a lock instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """A new engine for `url`; creates the folder of a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite_file(Path(parsed.database))
        # A pool keeps connections open: SQLAlchemy 1.4 would otherwise open and close a
        # connection (and rerun the pragmas) for every session (docs/performance.md).
        engine = create_engine(
            url, future=True, poolclass=QueuePool, pool_size=5, connect_args={"check_same_thread": False}
        )
        event.listen(engine, "connect", enable_sqlite_pragmas)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file (and its folder) readable by its owner only: it holds leads.

    SQLite gives its -wal and -shm files the database file's permissions.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)  # a file made before this rule, or under a lax umask
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            os.chmod(companion, 0o600)


def get_engine(db_url: str) -> Engine:
    """The process's engine for `db_url`."""
    if db_url not in _engines:
        _engines[db_url] = create_db_engine(db_url)
    return _engines[db_url]


@contextmanager
def session_scope(db_url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    factory = sessionmaker(bind=get_engine(db_url), future=True, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def upgrade_schema(db_url: str, revision: str = "head") -> None:
    """Bring the database at `db_url` to the latest migration (or to `revision`)."""
    from alembic import command

    with get_engine(db_url).begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def downgrade_schema(db_url: str, revision: str) -> None:
    """Take the database at `db_url` back to `revision` (tests and the dashboard benchmark)."""
    from alembic import command

    with get_engine(db_url).begin() as connection:
        command.downgrade(_alembic_config(connection), revision)


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def dispose_engines() -> None:
    """Close every pooled connection (tests, forked workers)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def record_slack_event_once(db_url: str, event_id: str, now: Optional[datetime] = None) -> bool:
    """Record that the Slack event `event_id` arrived; True only for the first receipt.

    The database's unique key decides, so this holds across retries, restarts and
    several server replicas at once.
    """
    try:
        with session_scope(db_url) as session:
            session.add(SlackEventReceipt(event_id=event_id, received_at=now or datetime.now(timezone.utc)))
    except IntegrityError:
        return False
    return True


def create_database_if_missing(db_url: str) -> bool:
    """Create the PostgreSQL database `db_url` names when the server lacks it (a fresh
    machine for `make run-cluster`); returns whether it was created. SQLite needs nothing."""
    from sqlalchemy import text

    url = make_url(db_url)
    if url.get_backend_name() != "postgresql" or not url.database:
        return False
    admin = create_engine(url.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("select 1 from pg_database where datname = :name"), {"name": url.database}
            ).first()
            if exists:
                return False
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
            return True
    finally:
        admin.dispose()
