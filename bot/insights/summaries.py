"""Summary rows the dashboard aggregates instead of counting every signal.

Counting signal rows for a page costs time in proportion to traffic: 100,000 conversations
leave about 320,000 of them. So two summaries are kept up to date in the same transaction as
the rows they summarise:

- one row per conversation (`insight_conversations`): the day it started, the topic of its
  first answered problem, and a flag per step it reached (funnel and education outcome);
- one row per article section per day (`insight_passage_days`): how often it was shown, read
  on to or reached as a related problem (the teaching page).

Both are written with INSERT ... ON CONFLICT DO UPDATE, which SQLite and PostgreSQL both have,
so the first writer creates the row and every later one, on any replica, updates it. A flag is
only ever set, the topic is the first one seen and counts add up, so a conversation's rows do
not depend on how its signals were split into turns. Migration 0010 builds the same rows from
the signals already stored; tests/insights/test_summaries.py checks that both agree.

Forgetting a conversation (`lantern privacy forget`) takes its contribution back out:
`uncount_passages` subtracts its signals' counts and drops a section's day row left at zero,
so the rows are those the conversation would have left had it never happened.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlalchemy import Table, and_, case, delete, func, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import InsightConversation, InsightPassageDay

# What a conversation can have reached; each is a boolean column of insight_conversations.
CONVERSATION_FLAGS = (
    "described_problem", "answered_discovery", "got_passages", "read_on", "met_gap", "asked_to_buy",
    "said_helped", "said_not_helped",
)
PASSAGE_COUNTS = ("shown", "read_on", "related")
PassageKey = tuple[str, str]  # (article id, heading)


def utc_day(moment: datetime) -> date:
    return moment.astimezone(timezone.utc).date() if moment.tzinfo else moment.date()


def _insert(session: Session, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"insight summaries need SQLite or PostgreSQL, not {dialect}")


def note_conversation(
    session: Session,
    conversation_id: str,
    now: datetime,
    is_demo: bool,
    channel: Optional[str] = None,
    topic: Optional[str] = None,
    flags: Collection[str] = (),
) -> None:
    """Create the conversation's row (started now) or update it: set `flags`, and the channel
    and topic where none was known yet."""
    unknown = set(flags) - set(CONVERSATION_FLAGS)
    if unknown:
        raise ValueError(f"not conversation flags: {sorted(unknown)}")
    table = InsightConversation.__table__
    insert = _insert(session, table).values(
        conversation_id=conversation_id, started_at=now, started_day=utc_day(now), channel=channel, is_demo=is_demo,
        topic=topic, **{flag: flag in flags for flag in CONVERSATION_FLAGS},
    )
    updates: dict[str, Any] = {flag: true() for flag in flags}
    if channel is not None:
        updates["channel"] = func.coalesce(table.c.channel, insert.excluded.channel)
    if topic is not None:
        updates["topic"] = func.coalesce(table.c.topic, insert.excluded.topic)
    if updates:
        session.execute(insert.on_conflict_do_update(index_elements=["conversation_id"], set_=updates))
    else:
        session.execute(insert.on_conflict_do_nothing(index_elements=["conversation_id"]))


def count_passages(session: Session, day: date, is_demo: bool, counts: Mapping[PassageKey, Mapping[str, int]]) -> None:
    """Add `counts` ({(article, heading): {"shown": n, ...}}) to the day's rows of those sections.

    Sections are taken in one order so two transactions never wait for each other's rows."""
    table = InsightPassageDay.__table__
    for (article_id, heading), added in sorted(counts.items()):
        unknown = set(added) - set(PASSAGE_COUNTS)
        if unknown:
            raise ValueError(f"not passage counts: {sorted(unknown)}")
        insert = _insert(session, table).values(
            day=day, article_id=article_id, heading=heading, is_demo=is_demo,
            **{name: int(added.get(name, 0)) for name in PASSAGE_COUNTS},
        )
        session.execute(insert.on_conflict_do_update(
            index_elements=["day", "article_id", "heading", "is_demo"],
            set_={name: table.c[name] + insert.excluded[name] for name in PASSAGE_COUNTS},
        ))


def uncount_passages(session: Session, day: date, is_demo: bool, counts: Mapping[PassageKey, Mapping[str, int]]) -> None:
    """Take `counts` back out of the day's rows of those sections (never below 0), and delete a
    row left with nothing counted. Sections in the order `count_passages` takes them."""
    table = InsightPassageDay.__table__
    for (article_id, heading), taken in sorted(counts.items()):
        unknown = set(taken) - set(PASSAGE_COUNTS)
        if unknown:
            raise ValueError(f"not passage counts: {sorted(unknown)}")
        row = and_(table.c.day == day, table.c.article_id == article_id, table.c.heading == heading,
                   table.c.is_demo == is_demo)
        values = {name: case((table.c[name] > int(n), table.c[name] - int(n)), else_=0) for name, n in taken.items() if n}
        if not values:
            continue
        session.execute(update(table).where(row).values(values))
        session.execute(delete(table).where(row, *[table.c[name] == 0 for name in PASSAGE_COUNTS]))
