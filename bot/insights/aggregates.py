"""The dashboard's numbers, each one SQL aggregation over indexed columns (SQLite and PostgreSQL).

Every function takes the application database as `db_url` and a `Period` (dates, inclusive),
and returns plain rows the dashboard draws and exports. Pages that count conversations or
article sections aggregate the summary rows `bot.insights.summaries` keeps (one per
conversation, one per section per day), so their cost follows the period's days and
conversations, not every signal. Only what SQL cannot do is done in Python: grouping texts by
meaning (`bot.insights.grouping`) works on the distinct texts the SQL already counted, never
on one row per event.

The education outcome and the funnel's steps are defined in docs/insights.md;
`OUTCOME_SCORES` is that definition's scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import Date, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from bot.db import get_engine, session_scope
from bot.handoff import live
from bot.insights import signals as kinds
from bot.models import (
    ArticleFeedback,
    ContentGap,
    InsightConversation,
    InsightPassageDay,
    InsightSignal,
    KbArticle,
    KbPassage,
    Lead,
    LiveHandoff,
    LiveHandoffTransition,
    OutboxNotification,
)

Row = dict[str, Any]

# An outcome per conversation that was taught something, best first (docs/insights.md).
HELPED, LEARNED, SHOWN_ONLY, NEEDED_PERSON, UNHELPED = "helped", "read on", "shown only", "needed a person", "not helped"
OUTCOMES = (HELPED, LEARNED, SHOWN_ONLY, NEEDED_PERSON, UNHELPED)
OUTCOME_SCORES = {HELPED: 100, LEARNED: 75, SHOWN_ONLY: 40, NEEDED_PERSON: 25, UNHELPED: 0}
# An article shown this often that never helped anyone is listed as never helping.
NEVER_HELPS_MIN_SHOWN = 3


@dataclass(frozen=True)
class Period:
    """A date range, both ends included, in UTC."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int, today: Optional[date] = None) -> "Period":
        today = today or datetime.now(timezone.utc).date()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.utc)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.utc)

    def halves(self) -> tuple["Period", "Period"]:
        middle = self.start + (self.end - self.start) // 2
        return Period(self.start, middle), Period(middle + timedelta(days=1), self.end)


def _dialect(db_url: str) -> str:
    return str(get_engine(db_url).dialect.name)


def _in(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.since, column < period.until)


def _days(column: Any, period: Period) -> ColumnElement[bool]:
    """A DATE column (UTC days) within the period."""
    return column.between(period.start, period.end)


def day_bucket(db_url: str, day: Any, unit: str) -> ColumnElement[Any]:
    """The day or the week (its Monday) of a DATE column, in SQL: grouped as a date, never as
    text made row by row (formatting 100,000 timestamps cost PostgreSQL more than the count)."""
    if unit not in ("day", "week"):
        raise ValueError(f"unit must be day or week, not {unit!r}")
    if unit == "day":
        return day
    if _dialect(db_url) == "postgresql":
        return cast(func.date_trunc("week", day), Date)
    return func.date(day, "weekday 0", "-6 days")


def _iso(day: Any) -> str:
    """'YYYY-MM-DD' of a bucket: PostgreSQL returns dates, SQLite the text itself."""
    return day.isoformat() if isinstance(day, date) else str(day)


def seconds_between(db_url: str, later: Any, earlier: Any) -> ColumnElement[float]:
    if _dialect(db_url) == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


# ---- problems ---------------------------------------------------------------------------

def problems_by_topic(db_url: str, period: Period, unit: str = "day") -> list[Row]:
    """Conversations that described a problem or asked a question, per day/week they started and
    the topic of their first answered problem."""
    conversation = InsightConversation
    when = day_bucket(db_url, conversation.started_day, unit)
    topic = func.coalesce(conversation.topic, literal("(no topic)"))
    query = (
        select(when.label("period"), topic.label("topic"), func.count().label("conversations"))
        .where(conversation.described_problem, _days(conversation.started_day, period))
        .group_by(when, topic)
        .order_by(when, topic)
    )
    with session_scope(db_url) as session:
        return [{"period": _iso(when_), "topic": topic_, "conversations": int(n)} for when_, topic_, n in session.execute(query)]


def problem_texts(db_url: str, period: Period, limit: int = 400) -> list[tuple[str, int]]:
    """Distinct problem statements and questions in the visitors' words, with how often, most first."""
    return [(text, total) for text, total, _, _ in problem_texts_by_half(db_url, period, limit)]


def problem_texts_by_half(db_url: str, period: Period, limit: int = 400) -> list[tuple[str, int, int, int]]:
    """(phrasing, times, times in the first half of the period, times in the second half), most first."""
    text = func.lower(func.trim(InsightSignal.text))
    _, second = period.halves()
    later = InsightSignal.created_at >= Period(second.start, second.end).since
    query = (
        select(text, func.count(), func.sum(case((later, 0), else_=1)), func.sum(case((later, 1), else_=0)))
        .where(InsightSignal.kind.in_((kinds.PROBLEM, kinds.QUESTION)), _in(InsightSignal.created_at, period))
        .group_by(text)
        .order_by(func.count().desc(), text)
        .limit(limit)
    )
    with session_scope(db_url) as session:
        return [(t, int(n), int(a), int(b)) for t, n, a, b in session.execute(query) if t]


# ---- teaching ---------------------------------------------------------------------------

def teaching_by_article(db_url: str, period: Period) -> list[Row]:
    """Per article: times shown, read on, followed as related, helped and not, best known first."""
    days = InsightPassageDay
    signal_counts = (
        select(
            days.article_id.label("article_id"),
            func.sum(days.shown).label("shown"),
            func.sum(days.read_on).label("read_on"),
            func.sum(days.related).label("related_followed"),
        )
        .where(_days(days.day, period))
        .group_by(days.article_id)
        .subquery()
    )
    feedback = (
        select(
            ArticleFeedback.article_id.label("article_id"),
            _count_if(ArticleFeedback.helpful.is_(True)).label("helped"),
            _count_if(ArticleFeedback.helpful.is_(False)).label("not_helped"),
        )
        .where(_in(ArticleFeedback.created_at, period))
        .group_by(ArticleFeedback.article_id)
        .subquery()
    )
    shown = func.coalesce(signal_counts.c.shown, 0)
    query = (
        select(
            KbArticle.id.label("article_id"),
            KbArticle.title.label("title"),
            shown.label("shown"),
            func.coalesce(signal_counts.c.read_on, 0).label("read_on"),
            func.coalesce(signal_counts.c.related_followed, 0).label("related_followed"),
            func.coalesce(feedback.c.helped, 0).label("helped"),
            func.coalesce(feedback.c.not_helped, 0).label("not_helped"),
        )
        .select_from(KbArticle)
        .outerjoin(signal_counts, signal_counts.c.article_id == KbArticle.id)
        .outerjoin(feedback, feedback.c.article_id == KbArticle.id)
        .where(KbArticle.kind != "service")
        .order_by(shown.desc(), KbArticle.id)
    )
    with session_scope(db_url) as session:
        return [dict(row._mapping) for row in session.execute(query)]


def never_helping(rows: list[Row], min_shown: int = NEVER_HELPS_MIN_SHOWN) -> list[Row]:
    """Articles shown at least `min_shown` times that nobody said helped."""
    return [row for row in rows if row["shown"] >= min_shown and row["helped"] == 0]


def teaching_by_passage(db_url: str, period: Period) -> list[Row]:
    """Per section of every article: shown as the answer, reached by reading on. Never reached ones included."""
    days = InsightPassageDay
    counts = (
        select(
            days.article_id.label("article_id"),
            days.heading.label("heading"),
            func.sum(days.shown).label("shown"),
            func.sum(days.read_on + days.related).label("read_on"),
        )
        .where(_days(days.day, period))
        .group_by(days.article_id, days.heading)
        .subquery()
    )
    query = (
        select(
            KbPassage.article_id.label("article_id"),
            KbPassage.position.label("position"),
            KbPassage.heading.label("heading"),
            func.coalesce(counts.c.shown, 0).label("shown"),
            func.coalesce(counts.c.read_on, 0).label("read_on"),
        )
        .select_from(KbPassage)
        .join(KbArticle, KbArticle.id == KbPassage.article_id)
        .outerjoin(counts, and_(counts.c.article_id == KbPassage.article_id, counts.c.heading == KbPassage.heading))
        .where(KbArticle.kind != "service")
        .order_by(KbPassage.article_id, KbPassage.position)
    )
    with session_scope(db_url) as session:
        return [dict(row._mapping) for row in session.execute(query)]


def never_reached(passages: list[Row]) -> list[Row]:
    """Sections of articles that were shown at all, which no visitor ever reached."""
    shown_articles = {row["article_id"] for row in passages if row["shown"] or row["read_on"]}
    return [row for row in passages if row["article_id"] in shown_articles and not row["shown"] and not row["read_on"]]


# ---- funnel and outcome -----------------------------------------------------------------

FUNNEL_STEPS = (
    "visitors", "described a problem", "answered discovery", "got passages",
    "helped or read on", "asked to buy", "lead", "a rep took it",
)


def _took_by_a_rep() -> Any:
    """Conversations a rep took in a live handoff: one of their handoffs reached with_rep
    (bot/handoff/live.py), whatever happened after."""
    return (
        select(LiveHandoff.conversation_id)
        .join(LiveHandoffTransition, LiveHandoffTransition.handoff_id == LiveHandoff.id)
        .where(LiveHandoffTransition.to_state == live.WITH_REP)
    )


def funnel(db_url: str, period: Period) -> list[Row]:
    """Conversations started in the period reaching each step, with conversion from the step before.

    Each conversation counts at the furthest step it reached and at every step before it: a
    visitor who asked a direct question skipped discovery but went past it, and a buyer who
    asked for a rep without reading on went past "helped or read on". So the counts never rise
    from one step to the next. The steps up to "asked to buy" are flags of the conversation's
    summary row; "lead" and "a rep took it" are read from the leads and live-handoff tables.
    """
    conversation = InsightConversation
    depth = case(
        (conversation.conversation_id.in_(_took_by_a_rep()), 7),
        (conversation.conversation_id.in_(select(Lead.conversation_id)), 6),
        (conversation.asked_to_buy, 5),
        (or_(conversation.read_on, conversation.said_helped), 4),
        (conversation.got_passages, 3),
        (conversation.answered_discovery, 2),
        (conversation.described_problem, 1),
        else_=0,
    )
    query = select(depth, func.count()).where(_days(conversation.started_day, period)).group_by(depth)
    with session_scope(db_url) as session:
        at_depth = {int(d): int(n) for d, n in session.execute(query)}
    counts = [sum(n for d, n in at_depth.items() if d >= step) for step in range(len(FUNNEL_STEPS))]
    out: list[Row] = []
    for position, (step, count) in enumerate(zip(FUNNEL_STEPS, counts)):
        before = counts[position - 1] if position else count
        out.append({
            "step": step,
            "conversations": count,
            "conversion_from_previous": round(count / before, 3) if before else 0.0,
            "of_visitors": round(count / counts[0], 3) if counts[0] else 0.0,
        })
    return out


def outcome_of_conversation() -> ColumnElement[str]:
    """The education outcome of a summary row (docs/insights.md), the first that applies."""
    conversation = InsightConversation
    return case(
        (conversation.said_helped, literal(HELPED)),
        (and_(conversation.read_on, ~conversation.said_not_helped), literal(LEARNED)),
        (conversation.asked_to_buy, literal(NEEDED_PERSON)),
        (or_(conversation.said_not_helped, and_(conversation.met_gap, ~conversation.got_passages)), literal(UNHELPED)),
        else_=literal(SHOWN_ONLY),
    )


def outcome_trend(db_url: str, period: Period, unit: str = "day") -> list[Row]:
    """Per day/week: taught conversations by outcome and the mean education score (0-100).

    A taught conversation was shown a passage, met a gap or gave feedback."""
    conversation = InsightConversation
    when = day_bucket(db_url, conversation.started_day, unit)
    outcome = outcome_of_conversation()
    score = case(*[(outcome == name, value) for name, value in OUTCOME_SCORES.items()], else_=0)
    taught = or_(conversation.got_passages, conversation.met_gap, conversation.said_helped, conversation.said_not_helped)
    query = (
        select(
            when.label("period"),
            func.count().label("conversations"),
            *[_count_if(outcome == name).label(name.replace(" ", "_")) for name in OUTCOMES],
            func.avg(score).label("score"),
        )
        .where(_days(conversation.started_day, period), taught)
        .group_by(when)
        .order_by(when)
    )
    with session_scope(db_url) as session:
        out = [dict(row._mapping) for row in session.execute(query)]
    for row in out:
        row["period"] = _iso(row["period"])
        row["score"] = round(float(row["score"] or 0), 1)
    return out


def outcome_totals(db_url: str, period: Period, trend: Optional[list[Row]] = None) -> list[Row]:
    """Taught conversations per outcome over the whole period (summed from `outcome_trend` when given)."""
    rows = trend if trend is not None else outcome_trend(db_url, period, "week")
    return [
        {"outcome": name, "conversations": sum(int(r[name.replace(" ", "_")] or 0) for r in rows), "score": OUTCOME_SCORES[name]}
        for name in OUTCOMES
    ]


# ---- gaps -------------------------------------------------------------------------------

def gap_texts(db_url: str, period: Period, limit: int = 400) -> list[Row]:
    """Distinct unanswered questions: how often, in how many conversations, the topic search thought nearest."""
    text = func.lower(func.trim(ContentGap.question))
    query = (
        select(
            text.label("question"),
            func.count().label("count"),
            func.count(func.distinct(ContentGap.conversation_id)).label("conversations"),
            func.max(ContentGap.closest_topic).label("closest_topic"),
            func.max(ContentGap.created_at).label("last_asked"),
        )
        .where(_in(ContentGap.created_at, period))
        .group_by(text)
        .order_by(func.count().desc(), text)
        .limit(limit)
    )
    with session_scope(db_url) as session:
        return [dict(row._mapping) for row in session.execute(query)]


def impacts_of_gap_conversations(db_url: str, period: Period, limit: int = 2000) -> list[tuple[str, str]]:
    """(gap question, what the problem costs them) where the same conversation said both in the period."""
    query = (
        select(func.lower(func.trim(ContentGap.question)), InsightSignal.text)
        .join(InsightSignal, and_(InsightSignal.conversation_id == ContentGap.conversation_id, InsightSignal.kind == kinds.DISCOVERY))
        # Both in the period: the discovery answers are then an index range, not every one ever given.
        .where(_in(ContentGap.created_at, period), _in(InsightSignal.created_at, period))
        .limit(limit)
    )
    with session_scope(db_url) as session:
        return [(q, t) for q, t in session.execute(query) if t]


# ---- sales ------------------------------------------------------------------------------

def leads_by_topic(db_url: str, period: Period) -> list[Row]:
    topic = func.coalesce(InsightSignal.topic, literal("(no topic)"))
    query = (
        select(topic.label("topic"), func.count(func.distinct(InsightSignal.conversation_id)).label("leads"))
        .where(InsightSignal.kind == kinds.LEAD, _in(InsightSignal.created_at, period))
        .group_by(topic)
        .order_by(func.count(func.distinct(InsightSignal.conversation_id)).desc(), topic)
    )
    with session_scope(db_url) as session:
        return [dict(row._mapping) for row in session.execute(query)]


def mask_email(email: str) -> str:
    """a***@e***.com: enough to tell leads apart, not enough to write to them."""
    local, _, domain = email.partition("@")
    name, dot, tld = domain.rpartition(".")
    masked_domain = (name[:1] + "***" + dot + tld) if name else (domain[:1] + "***")
    return f"{local[:1]}***@{masked_domain}"


# How a lead's handoff went: its live handoff where the visitor chose "Chat now", else the rep
# notification's delivery ("notification delivered", ... or "no notification").
REP_TOOK_IT = "a rep took it (live)"
WAITING_FOR_REP = "waiting for a rep (live)"
NOBODY_TOOK_IT = "nobody took it in time (live)"
ENDED_UNTAKEN = "ended before a rep took it (live)"


def _seconds_to_handoff(db_url: str) -> ColumnElement[float]:
    """Seconds from the lead's conversation starting to the lead. The start is looked up per lead
    (a primary-key read): joined, PostgreSQL hashed every conversation for a page of leads."""
    started = select(InsightConversation.started_at).where(InsightConversation.conversation_id == Lead.conversation_id)
    return seconds_between(db_url, Lead.created_at, started.scalar_subquery())


def _reached_a_rep() -> ColumnElement[bool]:
    """Whether the live handoff of the enclosing query reached with_rep."""
    return exists().where(LiveHandoffTransition.handoff_id == LiveHandoff.id, LiveHandoffTransition.to_state == live.WITH_REP)


def _notification_status() -> Any:
    """A subquery: each lead's notification status, "delivered" when any target got it."""
    return (
        select(OutboxNotification.lead_id.label("lead_id"), func.min(OutboxNotification.status).label("status"))
        .group_by(OutboxNotification.lead_id)
        .subquery()
    )


def _live_outcome() -> Any:
    """A subquery: the outcome of each lead's latest live handoff, for leads that had one."""
    handoff = LiveHandoff
    latest = (
        select(handoff.lead_id.label("lead_id"), func.max(handoff.id).label("handoff_id"))
        .where(handoff.lead_id.is_not(None))
        .group_by(handoff.lead_id)
        .subquery()
    )
    outcome = case(
        (_reached_a_rep(), literal(REP_TOOK_IT)),
        (handoff.state == live.WAITING, literal(WAITING_FOR_REP)),
        (handoff.end_reason == live.TIMED_OUT, literal(NOBODY_TOOK_IT)),
        else_=literal(ENDED_UNTAKEN),
    )
    return select(latest.c.lead_id, outcome.label("outcome")).join(handoff, handoff.id == latest.c.handoff_id).subquery()


def _handoff_outcome(live_outcome: Any, notification: Any) -> ColumnElement[str]:
    return func.coalesce(live_outcome.c.outcome, literal("notification ") + notification.c.status, literal("no notification"))


def leads_table(db_url: str, period: Period, limit: int = 500) -> list[Row]:
    """Each lead: when, masked email, problem, intent evidence, seconds from first message to
    handoff, notification delivery and how the handoff went."""
    notification = _notification_status()
    live_outcome = _live_outcome()
    query = (
        select(
            Lead.id, Lead.created_at, Lead.email, Lead.brief, Lead.intent_level, Lead.intent_evidence,
            _seconds_to_handoff(db_url).label("seconds_to_handoff"), notification.c.status,
            _handoff_outcome(live_outcome, notification).label("outcome"),
        )
        .outerjoin(notification, notification.c.lead_id == Lead.id)
        .outerjoin(live_outcome, live_outcome.c.lead_id == Lead.id)
        .where(_in(Lead.created_at, period))
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(limit)
    )
    with session_scope(db_url) as session:
        rows = session.execute(query).all()
    return [
        {
            "lead": row.id,
            "created": row.created_at.strftime("%Y-%m-%d %H:%M"),
            "email": mask_email(row.email),
            "problem": (row.brief or {}).get("problem") or "",
            "intent": row.intent_level,
            "evidence": row.intent_evidence,
            "minutes_to_handoff": None if row.seconds_to_handoff is None else round(float(row.seconds_to_handoff) / 60, 1),
            "notification": row.status or "none",
            "handoff": row.outcome,
        }
        for row in rows
    ]


def handoff_outcomes(db_url: str, period: Period) -> list[Row]:
    """Leads of the period by how their handoff went, most first."""
    notification = _notification_status()
    live_outcome = _live_outcome()
    outcome = _handoff_outcome(live_outcome, notification)
    query = (
        select(outcome.label("outcome"), func.count().label("leads"))
        .select_from(Lead)
        .outerjoin(notification, notification.c.lead_id == Lead.id)
        .outerjoin(live_outcome, live_outcome.c.lead_id == Lead.id)
        .where(_in(Lead.created_at, period))
        .group_by(outcome)
        .order_by(func.count().desc(), outcome)
    )
    with session_scope(db_url) as session:
        return [dict(row._mapping) for row in session.execute(query)]


def handoff_summary(db_url: str, period: Period) -> list[Row]:
    """Leads, asked-to-buy conversations (started in the period), mean minutes to handoff, live
    handoffs taken, and notification outcomes."""
    with session_scope(db_url) as session:
        leads, mean_seconds = session.execute(
            select(func.count(Lead.id), func.avg(_seconds_to_handoff(db_url))).where(_in(Lead.created_at, period))
        ).one()
        # The summary rows, not the signals: retention deletes old signals and keeps these rows.
        asked = session.execute(
            select(func.count())
            .where(InsightConversation.asked_to_buy, _days(InsightConversation.started_day, period))
        ).scalar_one()
        requested, taken = session.execute(
            select(func.count(), _count_if(_reached_a_rep()))
            .where(_in(LiveHandoff.requested_at, period))
        ).one()
        statuses = session.execute(
            select(OutboxNotification.status, func.count())
            .join(Lead, Lead.id == OutboxNotification.lead_id)
            .where(_in(Lead.created_at, period))
            .group_by(OutboxNotification.status)
            .order_by(OutboxNotification.status)
        ).all()
    rows: list[Row] = [
        {"measure": "conversations that asked to buy", "value": int(asked)},
        {"measure": "leads", "value": int(leads)},
        {"measure": "mean minutes from first message to handoff",
         "value": None if mean_seconds is None else round(float(mean_seconds) / 60, 1)},
        {"measure": "live handoffs asked for", "value": int(requested)},
        {"measure": "live handoffs a rep took", "value": int(taken or 0)},
    ]
    rows += [{"measure": f"notifications {status}", "value": int(n)} for status, n in statuses]
    return rows
