"""Lantern's tracker store must store and load exactly what Rasa's SQLTrackerStore does."""

import asyncio
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.rasa_integration import tracker_store
from bot.rasa_integration.tracker_store import LanternTrackerStore

PROJECT_HOME = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(PROJECT_HOME / "domain.yml"))


def session_start() -> list:
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]


def turn(text_: str) -> list:
    return [
        UserUttered(text_, {"name": "describe_problem", "confidence": 0.9}),
        ActionExecuted("action_start_discovery"),
        SlotSet("problem", text_),
        BotUttered("What are you seeing exactly?", {"buttons": []}),
        ActionExecuted("action_listen"),
    ]


def conversation() -> list[list]:
    """Two turns, a new session (as after expiry), one more turn; each list is saved at once."""
    return [session_start(), turn("our emails go to spam"), turn("since march"), session_start(), turn("nobody visits")]


async def play(store, sender: str, steps: list[list]) -> None:
    """As Rasa's processor does each turn: load the tracker, add the turn's events, save."""
    for step in steps:
        tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
        for event in step:
            tracker.update(event)
        await store.save(tracker)
    await store.save(tracker)  # saving with nothing new adds nothing


def rasa_store(url: str) -> SQLTrackerStore:
    parsed = make_url(url)
    return SQLTrackerStore(
        DOMAIN, dialect=parsed.drivername, host=parsed.host, port=parsed.port,
        db=parsed.database or "", username=parsed.username, password=parsed.password,
    )


def stored_rows(store) -> list[tuple]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "select sender_id, type_name, timestamp, intent_name, action_name, data from events order by id"
        ))]


def check_same_as_rasa(lantern_url: str, rasa_url: str) -> None:
    lantern, rasa = LanternTrackerStore(DOMAIN, url=lantern_url), rasa_store(rasa_url)
    steps = conversation()
    asyncio.run(play(lantern, "visitor-1", steps))
    asyncio.run(play(rasa, "visitor-1", steps))
    assert stored_rows(lantern) == stored_rows(rasa)
    assert len(stored_rows(lantern)) == 3 + 5 + 5 + 3 + 5
    for read in ("retrieve", "retrieve_full_tracker"):
        ours = asyncio.run(getattr(lantern, read)("visitor-1"))
        theirs = asyncio.run(getattr(rasa, read)("visitor-1"))
        assert ours.events == theirs.events, read
        assert ours.current_slot_values() == theirs.current_slot_values()
    # The latest session starts at `session_started` (`action_session_start` comes just before).
    assert len(asyncio.run(lantern.retrieve("visitor-1")).events) == 2 + 5
    assert asyncio.run(lantern.retrieve("nobody")) is None
    lantern.engine.dispose()
    rasa.engine.dispose()


def test_sqlite_rows_and_trackers_match_rasas_store(tmp_path: Path) -> None:
    check_same_as_rasa(f"sqlite:///{tmp_path / 'lantern.db'}", f"sqlite:///{tmp_path / 'rasa.db'}")


def test_postgres_rows_and_trackers_match_rasas_store(postgres_url: str, tmp_path: Path) -> None:
    # Rasa's store on SQLite beside ours on PostgreSQL: the rows must still be the same.
    check_same_as_rasa(postgres_url, f"sqlite:///{tmp_path / 'rasa.db'}")


def test_listeners_hear_about_every_save_and_a_failing_one_loses_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tracker_store, "_save_listeners", [])
    heard: list[str] = []

    async def failing(sender_id: str) -> None:
        raise RuntimeError("listener bug")

    async def recording(sender_id: str) -> None:
        heard.append(sender_id)

    tracker_store.on_tracker_saved(failing)
    tracker_store.on_tracker_saved(recording)
    tracker_store.on_tracker_saved(recording)  # registering twice changes nothing
    store = LanternTrackerStore(DOMAIN, url=f"sqlite:///{tmp_path / 'lantern.db'}")
    tracker = DialogueStateTracker.from_events("visitor-2", session_start() + turn("hi"), DOMAIN.slots)
    asyncio.run(store.save(tracker))
    assert heard == ["visitor-2"]
    assert len(asyncio.run(store.retrieve_full_tracker("visitor-2")).events) == 8
    store.engine.dispose()


@pytest.fixture(autouse=True)
def _patched_rasa(project_settings):
    from bot.rasa_integration import apply

    apply(project_settings)  # the Rasa server runs with Lantern's patches applied


def test_a_database_that_stays_away_fails_the_turn_instead_of_falling_back_to_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa's FailSafeTrackerStore would answer from an empty conversation and keep the turn
    in memory; Lantern's wrapper raises, so the channel tells the visitor to try again."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore

    from bot.evaluation.stack import free_port

    monkeypatch.setattr(tracker_store, "RETRY_SECONDS", 0.01)
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"  # nothing listens there
    store = LanternTrackerStore.__new__(LanternTrackerStore)
    sqlite_store = LanternTrackerStore(domain=DOMAIN, url="sqlite://")
    store.__dict__.update(sqlite_store.__dict__)
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    store.engine = create_engine(nowhere, pool_pre_ping=True)
    store.sessionmaker = sessionmaker(bind=store.engine)
    assert asyncio.run(FailSafeTrackerStore(store).retrieve("someone")) is None  # Rasa: silently nothing
    monkeypatch.setattr(Agent, "_create_tracker_store", Agent._create_tracker_store)
    tracker_store.refuse_silent_fallback()
    strict = Agent._create_tracker_store(store, DOMAIN)
    assert isinstance(strict, tracker_store.StrictTrackerStore)
    with pytest.raises(tracker_store.TrackerStoreUnavailable):
        asyncio.run(strict.retrieve("someone"))
    with pytest.raises(tracker_store.TrackerStoreUnavailable):
        asyncio.run(strict.save(DialogueStateTracker.from_events("someone", session_start(), DOMAIN.slots)))
