"""From what visitors asked to what to write next: content gaps grouped by meaning, ranked
article suggestions, and an editorial calendar at the team's cadence (CSV and iCalendar).

The SQL in `bot.insights.aggregates` counts distinct phrasings; this module groups them with
the encoder, sets off-domain questions apart, names each group's nearest topic and article,
and keeps the team's decisions (written / dismissed) in `content_suggestions`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import select

from bot.db import session_scope
from bot.insights import aggregates
from bot.insights.aggregates import Period, Row
from bot.insights.grouping import OFF_DOMAIN_BELOW, Encoder, Group, group_by_meaning, vectors_of
from bot.knowledge.search import PassageIndex
from bot.models import ContentSuggestion

OPEN, WRITTEN, DISMISSED = "open", "written", "dismissed"
STATUSES = (OPEN, WRITTEN, DISMISSED)


@dataclass(frozen=True)
class GapGroup:
    key: str
    label: str
    count: int
    conversations: int
    examples: list[str]
    nearest_topic: Optional[str]
    nearest_article: Optional[str]
    similarity: float
    off_domain: bool

    def row(self) -> Row:
        return {
            "group": self.label, "count": self.count, "conversations": self.conversations,
            "examples": " | ".join(self.examples), "nearest_topic": self.nearest_topic or "",
            "nearest_article": self.nearest_article or "", "similarity": round(self.similarity, 3),
            "off_domain": self.off_domain,
        }


def _nearest_article(
    index: Optional[PassageIndex], group: Group, encoder: Encoder
) -> tuple[Optional[str], Optional[str], float]:
    """(topic title, article title, cosine) of the indexed text nearest to any of the group's
    phrasings, if the index has vectors: one phrasing in the field is enough to place a group."""
    if index is None or index.dense is None:
        return None, None, -1.0
    similarities = vectors_of(encoder, group.texts) @ index.dense.matrix.T  # (phrasings, indexed texts)
    phrasing, row = divmod(int(similarities.argmax()), similarities.shape[1])
    article = index.articles[int(index.embedded_owners[row])]
    topic = index.topic_title(article.topics[0]) if article.topics else None
    return topic, article.title, float(similarities[phrasing, row])


def gap_groups(
    db_url: str, period: Period, encoder: Encoder, index: Optional[PassageIndex], off_domain_below: float = OFF_DOMAIN_BELOW
) -> list[GapGroup]:
    """Unanswered questions grouped by meaning, most asked first; off-domain ones flagged."""
    rows = aggregates.gap_texts(db_url, period)
    conversations = {row["question"]: int(row["conversations"]) for row in rows}
    searched_topic = {row["question"]: row["closest_topic"] for row in rows}
    groups = group_by_meaning([(row["question"], int(row["count"])) for row in rows], encoder)
    out = []
    for group in groups:
        topic, article, similarity = _nearest_article(index, group, encoder)
        if topic is None:
            topic = searched_topic.get(group.label)
        off_domain = similarity < off_domain_below if index is not None and index.dense is not None else topic is None
        out.append(GapGroup(
            group.key, group.label, group.count, sum(conversations.get(t, 0) for t in group.texts),
            group.examples, topic, article, similarity, off_domain,
        ))
    return out


def problem_groups(db_url: str, period: Period, encoder: Encoder) -> list[Row]:
    """Top problems in the visitors' words, grouped, with the change from the first half of the period."""
    counted = aggregates.problem_texts_by_half(db_url, period)
    earlier = {t: a for t, _, a, _ in counted}
    later = {t: b for t, _, _, b in counted}
    groups = group_by_meaning([(t, n) for t, n, _, _ in counted], encoder)
    out = []
    for group in groups[:30]:
        before = sum(earlier.get(t, 0) for t in group.texts)
        after = sum(later.get(t, 0) for t in group.texts)
        trend = "new" if before == 0 and after > 0 else ("rising" if after >= 1.5 * before and after - before >= 2 else "")
        out.append({"problem": group.label, "count": group.count, "first_half": before, "second_half": after,
                    "trend": trend, "examples": " | ".join(group.examples)})
    return out


# ---- suggestions ------------------------------------------------------------------------

def working_title(phrase: str) -> str:
    """A working title from the visitors' leading phrasing: "how do i get backlinks" -> "How do I get backlinks?"."""
    text = re.sub(r"\s+", " ", phrase).strip().rstrip("?.!")
    text = re.sub(r"\bi\b", "I", text)
    return (text[:1].upper() + text[1:] + "?") if text else "Untitled"


def decisions(db_url: str) -> dict[str, str]:
    with session_scope(db_url) as session:
        return dict(session.execute(select(ContentSuggestion.key, ContentSuggestion.status)).all())


def mark_suggestion(db_url: str, key: str, title: str, status: str) -> None:
    """Record the team's decision on a suggestion (`open` puts it back on the calendar)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if not re.fullmatch(r"[0-9a-f]{16}", key):
        raise ValueError("not a suggestion key")
    with session_scope(db_url) as session:
        row = session.get(ContentSuggestion, key)
        now = datetime.now(timezone.utc)
        if row is None:
            session.add(ContentSuggestion(key=key, title=title[:500], status=status, updated_at=now))
        else:
            row.status, row.updated_at = status, now


def suggestions(db_url: str, period: Period, groups: Sequence[GapGroup]) -> list[Row]:
    """In-domain gap groups ranked by how many conversations hit them, with title, problem and why it matters."""
    impacts: dict[str, list[str]] = {}
    for question, impact in aggregates.impacts_of_gap_conversations(db_url, period):
        impacts.setdefault(question, []).append(impact)
    decided = decisions(db_url)
    ranked = sorted((g for g in groups if not g.off_domain), key=lambda g: (-g.conversations, -g.count, g.label))
    out = []
    for rank, group in enumerate(ranked, start=1):
        said = [i for t in group.examples for i in impacts.get(t, [])]
        why = "; ".join(dict.fromkeys(said[:3])) if said else f"{group.conversations} conversation(s) asked and no article answered"
        out.append({
            "rank": rank, "key": group.key, "working_title": working_title(group.label),
            "problem_in_their_words": " | ".join(group.examples), "why_it_matters": why,
            "topic": group.nearest_topic or "", "nearest_article": group.nearest_article or "",
            "conversations": group.conversations, "status": decided.get(group.key, OPEN),
        })
    return out


def calendar(rows: Iterable[Row], cadence_days: int, start: date) -> list[Row]:
    """Open suggestions, best first, one every `cadence_days` from `start`."""
    out = []
    for slot, row in enumerate(r for r in rows if r["status"] == OPEN):
        out.append({"date": (start + timedelta(days=slot * cadence_days)).isoformat(), **row})
    return out


def to_csv(rows: Sequence[Row]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()), lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: visitors wrote these texts.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """RFC 5545: lines of at most 75 octets, continued with a leading space."""
    out: list[str] = []
    current = ""
    for char in line:
        if len((current + char).encode()) > (75 if not out else 74):
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return [out[0]] + [" " + part for part in out[1:]]


def _description(entry: Row) -> str:
    return (f"Visitors asked: {entry['problem_in_their_words']}. Why it matters: {entry['why_it_matters']}. "
            f"Topic: {entry['topic'] or '-'}")


def to_ical(entries: Sequence[Row], company: str = "Lantern", now: Optional[datetime] = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:-//{_ics_text(company)}//Lantern editorial calendar//EN", "CALSCALE:GREGORIAN"]
    for entry in entries:
        day = date.fromisoformat(entry["date"])
        lines += [
            "BEGIN:VEVENT",
            f"UID:{entry['key']}@lantern",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_ics_text('Write: ' + entry['working_title'])}",
            f"DESCRIPTION:{_ics_text(_description(entry))}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(folded for line in lines for folded in _fold(line)) + "\r\n"
