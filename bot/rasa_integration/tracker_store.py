"""Rasa's SQL tracker store, configured from Lantern's settings instead of endpoints.yml,
with a leaner save and a hook that tells the widget channel when a conversation changed.

When the database is briefly away (a restart), a read or a save is retried for a few
seconds. When it stays away, the turn fails loudly: Rasa 3.6 would otherwise answer from
an empty conversation and keep the turn in its process's memory (`FailSafeTrackerStore`),
so the visitor's message would be lost and the reply wrong. `refuse_silent_fallback()`
(applied by the Rasa entry point) makes Rasa's agent use `StrictTrackerStore` instead.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, create_engine, func, insert, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from bot.db import create_db_engine
from bot.settings import get_settings

logger = logging.getLogger(__name__)

SaveListener = Callable[[str], Awaitable[None]]
_save_listeners: list[SaveListener] = []
# (conversation id, the events this save stored, the tracker as saved)
EventsListener = Callable[[str, list[Event], DialogueStateTracker], Awaitable[None]]
_events_listeners: list[EventsListener] = []
RETRIES = 8
RETRY_SECONDS = 0.5  # a database restart here takes about a second (make drills)


class TrackerStoreUnavailable(RuntimeError):
    """The conversation could not be read or saved: the turn must fail, not go on without it."""


class StrictTrackerStore(FailSafeTrackerStore):
    """Rasa's wrapper around the tracker store, without the silent fallback to memory."""

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return await self._strictly("read", self._tracker_store.retrieve(sender_id), sender_id)

    async def retrieve_full_tracker(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return await self._strictly("read", self._tracker_store.retrieve_full_tracker(sender_id), sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self._strictly("save", self._tracker_store.save(tracker), tracker.sender_id)

    async def _strictly(self, what: str, work: Awaitable[Any], sender_id: str) -> Any:
        try:
            return await work
        except Exception as error:
            logger.error("could not %s conversation %s: %s", what, sender_id, error)
            raise TrackerStoreUnavailable(f"could not {what} the conversation") from error


def refuse_silent_fallback() -> None:
    """Make Rasa's agent wrap its tracker store in `StrictTrackerStore` (Rasa 3.6.21's
    `Agent._create_tracker_store`, a static method called when the agent is built)."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import InMemoryTrackerStore

    def create(store: Optional[TrackerStore], domain: Domain) -> TrackerStore:
        if store is not None:
            store.domain = domain
        return StrictTrackerStore(store if store is not None else InMemoryTrackerStore(domain))

    Agent._create_tracker_store = staticmethod(create)


async def _retrying(work: Callable[[], Any]) -> Any:
    """`work()` (a blocking database call), again after a pause while the database is away."""
    for attempt in range(RETRIES):
        try:
            return work()
        except DBAPIError as error:
            if attempt == RETRIES - 1 or not (error.connection_invalidated or _is_connection_error(error)):
                raise
            logger.warning("tracker database unavailable (%s); retrying", error.__class__.__name__)
            await asyncio.sleep(RETRY_SECONDS)


def _is_connection_error(error: DBAPIError) -> bool:
    from sqlalchemy.exc import OperationalError

    return isinstance(error, OperationalError)


def on_tracker_saved(listener: SaveListener) -> None:
    """Call `listener(conversation_id)` after each save, in the Rasa server's process.

    The widget channel pushes new messages to open connections this way, whatever
    added them: a visitor's turn, or a message sent later through Rasa's HTTP API.
    """
    if listener not in _save_listeners:
        _save_listeners.append(listener)


def on_events_saved(listener: EventsListener) -> None:
    """Call `listener(conversation_id, new_events, tracker)` after each save that stored events.

    The live handoff relays a visitor's messages to the rep's Slack thread this way.
    """
    if listener not in _events_listeners:
        _events_listeners.append(listener)


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

        def read() -> list[Any]:
            with self.session_scope() as session:
                return list(session.execute(statement, {"sender_id": sender_id}).scalars().all())

        rows = await _retrying(read)
        if not self.domain or not rows:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(row) for row in rows], self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not stored yet, like Rasa's save, in one multi-row insert
        rather than one ORM object each (docs/performance.md), then tell the listeners."""
        await self.stream_events(tracker)

        def write() -> list[Event]:
            with self.session_scope() as session:
                stored = session.execute(self._count_stored, {"sender_id": tracker.sender_id}).scalar_one()
                new_events = list(itertools.islice(tracker.events, stored, None))
                rows = [self._event_row(tracker.sender_id, event) for event in new_events]
                if rows:
                    session.execute(insert(self.SQLEvent.__table__), rows)
                session.commit()
                return new_events

        new_events: list[Event] = await _retrying(write)
        for listener in list(_save_listeners):
            try:
                await listener(tracker.sender_id)
            except Exception:  # a listener must never lose a saved turn
                logger.exception("tracker save listener failed for %s", tracker.sender_id)
        for events_listener in list(_events_listeners) if new_events else []:
            try:
                await events_listener(tracker.sender_id, new_events, tracker)
            except Exception:
                logger.exception("tracker events listener failed for %s", tracker.sender_id)

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
