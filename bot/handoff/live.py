"""Who has a conversation right now: the bot, nobody yet (a rep was asked), or a rep.

A visitor who chooses "Chat now" starts a live handoff. Its state lives in the application
database, not in a process, so it survives restarts and every Rasa replica sees the same:

    with_bot ──"Chat now"──► waiting_for_rep ──Take──► with_rep(rep) ──Hand back──► with_bot
                                   │  └──nobody within LANTERN_HANDOFF_WAIT──► with_bot (timed_out)
                                   └──────────Close / release──────────► closed / with_bot

Every change is one conditional UPDATE ("... WHERE state = <the state it leaves>") committed
with its row in `live_handoff_transitions` (when, who): two reps clicking "Take" at the same
moment both send the UPDATE, the database applies the first, and the second matches no row.
Nothing here knows Rasa or Slack; `bot/channels/handoff_relay.py` does the talking.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from sqlalchemy import select, update

from bot.db import session_scope
from bot.models import LiveHandoff, LiveHandoffTransition

WITH_BOT = "with_bot"
WAITING = "waiting_for_rep"
WITH_REP = "with_rep"
CLOSED = "closed"
ACTIVE = (WAITING, WITH_REP)

# Why a handoff ended (`end_reason`).
HANDED_BACK = "handed_back"
CLOSED_BY_REP = "closed"
TIMED_OUT = "timed_out"
RELEASED = "released"


@dataclass(frozen=True)
class Handoff:
    """A snapshot of one live handoff row."""

    id: int
    conversation_id: str
    visitor_channel: str
    lead_id: Optional[int]
    state: str
    rep_id: Optional[str]
    rep_name: Optional[str]
    slack_channel: Optional[str]
    slack_ts: Optional[str]
    requested_at: datetime
    taken_at: Optional[datetime]
    first_reply_at: Optional[datetime]
    ended_at: Optional[datetime]
    end_reason: Optional[str]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @classmethod
    def of(cls, row: LiveHandoff) -> "Handoff":
        return cls(
            id=row.id,
            conversation_id=row.conversation_id,
            visitor_channel=row.visitor_channel,
            lead_id=row.lead_id,
            state=row.state,
            rep_id=row.rep_id,
            rep_name=row.rep_name,
            slack_channel=row.slack_channel,
            slack_ts=row.slack_ts,
            requested_at=_aware(row.requested_at),
            taken_at=_utc(row.taken_at),
            first_reply_at=_utc(row.first_reply_at),
            ended_at=_utc(row.ended_at),
            end_reason=row.end_reason,
        )


@dataclass(frozen=True)
class Transition:
    from_state: str
    to_state: str
    at: datetime
    by: str


@dataclass(frozen=True)
class TakeResult:
    won: bool  # this click made the rep the owner
    handoff: Optional[Handoff]  # as it is after the attempt (None: no such handoff)


class HandoffNotFound(LookupError):
    pass


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _utc(moment: Optional[datetime]) -> Optional[datetime]:
    return None if moment is None else _aware(moment)


def _now(now: Optional[datetime]) -> datetime:
    return now or datetime.now(timezone.utc)


def request_live(
    db_url: str, conversation_id: str, visitor_channel: str, lead_id: Optional[int], by: str = "visitor",
    now: Optional[datetime] = None,
) -> Handoff:
    """Start waiting for a rep, or return the handoff this conversation already has going."""
    now = _now(now)
    with session_scope(db_url) as session:
        existing = session.execute(
            select(LiveHandoff).where(LiveHandoff.conversation_id == conversation_id, LiveHandoff.state.in_(ACTIVE))
        ).scalars().first()
        if existing is not None:
            return Handoff.of(existing)
        row = LiveHandoff(
            conversation_id=conversation_id, visitor_channel=visitor_channel, lead_id=lead_id, state=WAITING,
            requested_at=now,
        )
        session.add(row)
        session.flush()
        session.add(LiveHandoffTransition(handoff_id=row.id, from_state=WITH_BOT, to_state=WAITING, at=now, by=by))
        session.flush()
        return Handoff.of(row)


def attach_slack_message(db_url: str, handoff_id: int, channel: str, ts: str) -> None:
    """Remember the sales-channel message (and so the thread) of a handoff."""
    with session_scope(db_url) as session:
        session.execute(
            update(LiveHandoff).where(LiveHandoff.id == handoff_id).values(slack_channel=channel, slack_ts=ts)
        )


def take(db_url: str, handoff_id: int, rep_id: str, rep_name: str, now: Optional[datetime] = None) -> TakeResult:
    """The rep's click on "Take this conversation": the first click wins, atomically."""
    now = _now(now)
    with session_scope(db_url) as session:
        taken = session.execute(
            update(LiveHandoff)
            .where(LiveHandoff.id == handoff_id, LiveHandoff.state == WAITING)
            .values(state=WITH_REP, rep_id=rep_id, rep_name=rep_name, taken_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken == 1:
            session.add(
                LiveHandoffTransition(handoff_id=handoff_id, from_state=WAITING, to_state=WITH_REP, at=now,
                                      by=_rep(rep_id, rep_name))
            )
    return TakeResult(taken == 1, get_handoff(db_url, handoff_id))


def end(
    db_url: str,
    handoff_id: int,
    to_state: str,
    reason: str,
    by: str,
    from_states: Iterable[str] = ACTIVE,
    rep_id: Optional[str] = None,
    now: Optional[datetime] = None,
) -> Optional[Handoff]:
    """End a handoff (hand back, close, time out, release) if it is still in one of
    `from_states` (and, given `rep_id`, held by that rep). None when it was not: someone else
    ended it first, or it was never in that state."""
    now = _now(now)
    from_states = tuple(from_states)
    with session_scope(db_url) as session:
        row = session.get(LiveHandoff, handoff_id)
        if row is None or row.state not in from_states or (rep_id is not None and row.rep_id != rep_id):
            return None
        previous = row.state
        condition = [LiveHandoff.id == handoff_id, LiveHandoff.state == previous]
        if rep_id is not None:
            condition.append(LiveHandoff.rep_id == rep_id)
        changed = session.execute(
            update(LiveHandoff).where(*condition).values(state=to_state, ended_at=now, end_reason=reason)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            return None
        session.add(LiveHandoffTransition(handoff_id=handoff_id, from_state=previous, to_state=to_state, at=now, by=by))
    return get_handoff(db_url, handoff_id)


def hand_back(db_url: str, handoff_id: int, rep_id: str, rep_name: str, now: Optional[datetime] = None) -> Optional[Handoff]:
    return end(db_url, handoff_id, WITH_BOT, HANDED_BACK, _rep(rep_id, rep_name), (WITH_REP,), rep_id, now)


def close(db_url: str, handoff_id: int, rep_id: str, rep_name: str, now: Optional[datetime] = None) -> Optional[Handoff]:
    return end(db_url, handoff_id, CLOSED, CLOSED_BY_REP, _rep(rep_id, rep_name), (WITH_REP,), rep_id, now)


def release(db_url: str, handoff_id: int, by: str = "lantern handoff release", now: Optional[datetime] = None) -> Optional[Handoff]:
    """Give a stuck conversation back to the bot, whoever has it."""
    return end(db_url, handoff_id, WITH_BOT, RELEASED, by, ACTIVE, None, now)


def time_out_expired(db_url: str, wait_seconds: float, now: Optional[datetime] = None) -> list[Handoff]:
    """Every handoff nobody took within `wait_seconds`, moved back to the bot. Each is
    returned to exactly one caller, however many processes check at once."""
    now = _now(now)
    threshold = now - timedelta(seconds=wait_seconds)
    with session_scope(db_url) as session:
        due = session.execute(
            select(LiveHandoff.id).where(LiveHandoff.state == WAITING, LiveHandoff.requested_at <= threshold)
        ).scalars().all()
    expired = []
    for handoff_id in due:
        ended = end(db_url, handoff_id, WITH_BOT, TIMED_OUT, "lantern (nobody took it in time)", (WAITING,), None, now)
        if ended is not None:
            expired.append(ended)
    return expired


def record_first_reply(db_url: str, handoff_id: int, now: Optional[datetime] = None) -> None:
    with session_scope(db_url) as session:
        session.execute(
            update(LiveHandoff)
            .where(LiveHandoff.id == handoff_id, LiveHandoff.first_reply_at.is_(None))
            .values(first_reply_at=_now(now))
        )


def get_handoff(db_url: str, handoff_id: int) -> Optional[Handoff]:
    with session_scope(db_url) as session:
        row = session.get(LiveHandoff, handoff_id)
        return Handoff.of(row) if row is not None else None


def active_handoff(db_url: str, conversation_id: str) -> Optional[Handoff]:
    """The conversation's handoff while it is waiting for or with a rep; None: with the bot."""
    with session_scope(db_url) as session:
        row = session.execute(
            select(LiveHandoff)
            .where(LiveHandoff.conversation_id == conversation_id, LiveHandoff.state.in_(ACTIVE))
            .order_by(LiveHandoff.id.desc())
        ).scalars().first()
        return Handoff.of(row) if row is not None else None


def handoff_by_thread(db_url: str, channel: str, ts: str) -> Optional[Handoff]:
    """The handoff whose sales-channel message starts the thread `ts` in `channel`."""
    with session_scope(db_url) as session:
        row = session.execute(
            select(LiveHandoff).where(LiveHandoff.slack_channel == channel, LiveHandoff.slack_ts == ts)
        ).scalars().first()
        return Handoff.of(row) if row is not None else None


def list_handoffs(db_url: str, limit: int = 50) -> list[Handoff]:
    with session_scope(db_url) as session:
        rows = session.execute(select(LiveHandoff).order_by(LiveHandoff.id.desc()).limit(limit)).scalars().all()
        return [Handoff.of(row) for row in rows]


def transitions(db_url: str, handoff_id: int) -> list[Transition]:
    with session_scope(db_url) as session:
        rows = session.execute(
            select(LiveHandoffTransition).where(LiveHandoffTransition.handoff_id == handoff_id)
            .order_by(LiveHandoffTransition.id)
        ).scalars().all()
        return [Transition(r.from_state, r.to_state, _aware(r.at), r.by) for r in rows]


@dataclass(frozen=True)
class HandoffFigures:
    """What marketing and sales learn from live handoffs (`lantern handoff list` prints it)."""

    requested: int
    taken: int
    timed_out: int
    median_seconds_to_take: Optional[float]
    median_seconds_to_first_reply: Optional[float]


def figures(db_url: str) -> HandoffFigures:
    with session_scope(db_url) as session:
        rows = [Handoff.of(row) for row in session.execute(select(LiveHandoff)).scalars().all()]
    to_take = [(h.taken_at - h.requested_at).total_seconds() for h in rows if h.taken_at]
    to_reply = [(h.first_reply_at - h.requested_at).total_seconds() for h in rows if h.first_reply_at]
    return HandoffFigures(
        requested=len(rows),
        taken=len(to_take),
        timed_out=sum(1 for h in rows if h.end_reason == TIMED_OUT),
        median_seconds_to_take=statistics.median(to_take) if to_take else None,
        median_seconds_to_first_reply=statistics.median(to_reply) if to_reply else None,
    )


def _rep(rep_id: str, rep_name: str) -> str:
    return f"slack:{rep_id} ({rep_name})"
