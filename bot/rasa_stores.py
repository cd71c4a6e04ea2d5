"""Rasa's SQL tracker store, configured from Lantern's settings instead of endpoints.yml."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.domain import Domain
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

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(tracker)
        for listener in list(_save_listeners):
            try:
                await listener(tracker.sender_id)
            except Exception:  # noqa: BLE001 - a listener must never lose a saved turn
                logger.exception("tracker save listener failed for %s", tracker.sender_id)
