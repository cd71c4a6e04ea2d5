"""Rasa's SQL tracker store, configured from Lantern's settings instead of endpoints.yml,
with a leaner save and a hook that tells the widget channel when a conversation changed."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, create_engine, func, insert, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from bot.db import create_db_engine
from bot.settings import get_settings

logger = logging.getLogger(__name__)

SaveListener = Callable[[str], Awaitable[None]]
_save_listeners: list[SaveListener] = []


def on_tracker_saved(listener: SaveListener) -> None:
    """Call `listener(conversation_id)` after each save, in the Rasa server's process.

    The widget channel pushes new messages to open connections this way, whatever
    added them: a visitor's turn, or a message sent later through Rasa's HTTP API.
    """
    if listener not in _save_listeners:
        _save_listeners.append(listener)


class LanternTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` on `LANTERN_TRACKER_DB_URL` (SQLite by default, PostgreSQL in production)."""

    engine: Any  # set by SQLTrackerStore.__init__ (and replaced below for SQLite)

    def __init__(
        self,
        domain: Optional[Domain] = None,
        event_broker: Optional[EventBroker] = None,
        url: Optional[str] = None,
        **_: Any,
    ) -> None:
        parsed = make_url(url or get_settings().tracker_db_url)
        if parsed.get_backend_name() == "sqlite" and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            domain=domain,
            dialect=parsed.drivername,
            host=parsed.host,
            port=parsed.port,
            db=parsed.database or "",
            username=parsed.username,
            password=parsed.password,
            event_broker=event_broker,
            query=dict(parsed.query) or None,
        )
        if parsed.get_backend_name() == "sqlite":
            # Rasa saves the tracker on every turn; a pooled engine with the same pragmas
            # as Lantern's own SQLite database keeps that cheap (docs/performance.md).
            self.engine.dispose()
            self.engine = create_db_engine(parsed.render_as_string(hide_password=False))
            self.sessionmaker = sessionmaker(bind=self.engine)
        elif parsed.get_backend_name() == "postgresql":
            # Rasa's engine keeps pooled connections that die with a database restart; each
            # would fail one turn. Checked before use, a restart costs only the turns that
            # ran while the database was down (make drills).
            self.engine.dispose()
            self.engine = create_engine(
                parsed.render_as_string(hide_password=False), pool_pre_ping=True, pool_size=50, max_overflow=100
            )
            self.sessionmaker = sessionmaker(bind=self.engine)
        self._build_statements()

    def _build_statements(self) -> None:
        """Rasa's event queries as statements built once, instead of an ORM query per turn,
        so SQLAlchemy compiles each once. Same conditions as `SQLTrackerStore._event_query`:
        the latest session is the events at or after the latest `session_started`, or all
        of them if there is none; order by id."""
        events = self.SQLEvent.__table__
        sender = bindparam("sender_id")
        session_start = (
            select(func.max(events.c.timestamp))
            .where(events.c.sender_id == sender, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        in_latest_session = or_(events.c.timestamp >= session_start, session_start.is_(None))
        self._count_stored = select(func.count()).select_from(events).where(events.c.sender_id == sender, in_latest_session)
        self._all_sessions = select(events.c.data).where(events.c.sender_id == sender).order_by(events.c.id)
        self._latest_session = self._all_sessions.where(in_latest_session)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        statement = self._all_sessions if fetch_events_from_all_sessions else self._latest_session
        with self.session_scope() as session:
            rows = session.execute(statement, {"sender_id": sender_id}).scalars().all()
        if not self.domain or not rows:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(row) for row in rows], self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not stored yet, like Rasa's save, in one multi-row insert
        rather than one ORM object each (docs/performance.md), then tell the listeners."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = session.execute(self._count_stored, {"sender_id": tracker.sender_id}).scalar_one()
            rows = [self._event_row(tracker.sender_id, event) for event in itertools.islice(tracker.events, stored, None)]
            if rows:
                session.execute(insert(self.SQLEvent.__table__), rows)
            session.commit()
        for listener in list(_save_listeners):
            try:
                await listener(tracker.sender_id)
            except Exception:  # a listener must never lose a saved turn
                logger.exception("tracker save listener failed for %s", tracker.sender_id)

    @staticmethod
    def _event_row(sender_id: str, event: Event) -> dict[str, Any]:
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }
