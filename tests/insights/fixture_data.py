"""A small week of conversations with known answers, written through the paths the bot uses.

Period 2026-11-30 (a Monday) to 2026-12-06. c7 falls outside it. What each conversation
did, and so its outcome, is in the comments; tests/insights/test_aggregates.py checks the sums.
Signals and feedback go through `record_signals` and `record_article_feedback` (which keep
the summary rows), live handoffs through `bot.handoff.live`; the rest is written straight
into its table.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.db import session_scope
from bot.handoff import live
from bot.insights import signals as k
from bot.insights.records import record_article_feedback
from bot.insights.signals import Signal, record_signals
from bot.models import ContentGap, KbArticle, KbPassage, Lead, OutboxNotification

SEO, EMAIL = "seo", "email-marketing"
STARTS = {
    "c1": (0, 10), "c2": (0, 11), "c3": (1, 9), "c4": (2, 10), "c5": (3, 10), "c6": (3, 12), "c7": (10, 10), "c8": (4, 10),
    "c9": (4, 14),
}


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour, minute, tzinfo=timezone.utc) + timedelta(days=day)


def started(cid: str) -> datetime:
    return at(*STARTS[cid])


def _article(session, article_id: str, topic: str, headings: list[str], kind: str = "guide") -> None:
    session.add(KbArticle(id=article_id, title=article_id.upper(), url=f"https://x.example/{article_id}", kind=kind,
                          topics=[topic], summary="s", why_it_matters="w", related=[], asks=[], source_path="p"))
    session.flush()
    for position, heading in enumerate(headings):
        session.add(KbPassage(article_id=article_id, position=position, heading=heading, text="t"))


def _lead(session, cid: str, minute: int, email: str, problem: str, status: str, key: str) -> int:
    lead = Lead(created_at=started(cid) + timedelta(minutes=minute), conversation_id=cid, channel="rest", name="Visitor",
                email=email, company=None, follow_up="chat now", consent_contact=True, consent_storage=True,
                consent_at=started(cid), intent_level="clear", intent_evidence="can i get a quote?", brief={"problem": problem})
    session.add(lead)
    session.flush()
    session.add(OutboxNotification(lead_id=lead.id, target="crm", idempotency_key=key, payload={}, status=status,
                                   attempts=1, next_attempt_at=lead.created_at))
    return int(lead.id)


def load(db_url: str) -> None:
    with session_scope(db_url) as session:
        _article(session, "a1", SEO, ["Why", "Fix", "Extra"])
        _article(session, "a2", EMAIL, ["Intro", "More", "Unread"])
        _article(session, "svc", SEO, ["Offer"], kind="service")

    def turn(cid: str, minute: int, *signals: Signal) -> None:
        record_signals(db_url, cid, "rest", signals, now=started(cid) + timedelta(minutes=minute))

    def feedback(cid: str, minute: int, article_id: str, helpful: bool) -> None:
        record_article_feedback(db_url, cid, article_id, helpful, now=started(cid) + timedelta(minutes=minute))

    for cid in STARTS:  # every conversation opens with a greeting: noted, no signals
        turn(cid, 0)
    # c1: a problem in discovery, read on, said it helped -> helped
    turn("c1", 1, Signal(k.PROBLEM, topic=SEO, text="We are not on Google"), Signal(k.DISCOVERY, text="losing calls"),
         Signal(k.SHOWN, topic=SEO, article_id="a1", heading="Why"))
    turn("c1", 2, Signal(k.READ_ON, article_id="a1", heading="Fix"))
    feedback("c1", 5, "a1", True)
    # c2: a question, said it didn't help -> not helped
    turn("c2", 1, Signal(k.QUESTION, topic=SEO, text="we are not on google "), Signal(k.SHOWN, topic=SEO, article_id="a1", heading="Why"))
    feedback("c2", 5, "a1", False)
    # c3: read on, then followed a related problem -> read on
    turn("c3", 1, Signal(k.PROBLEM, topic=EMAIL, text="newsletter in spam"), Signal(k.SHOWN, topic=EMAIL, article_id="a2", heading="Intro"))
    turn("c3", 2, Signal(k.READ_ON, article_id="a2", heading="More"))
    turn("c3", 3, Signal(k.RELATED, article_id="a1", heading="Why"))
    # c4: shown, asked to buy, became a lead 10 minutes in, rep notified; chose "Chat now",
    # a rep took it and later handed it back -> needed a person; the funnel's "a rep took it"
    turn("c4", 1, Signal(k.PROBLEM, topic=EMAIL, text="newsletter in spam"), Signal(k.SHOWN, topic=EMAIL, article_id="a2", heading="Intro"))
    turn("c4", 5, Signal(k.ASKED_TO_BUY, text="can i get a quote?"))
    turn("c4", 10, Signal(k.LEAD, topic=EMAIL, article_id="a2"))
    # c5: only a question nobody answered -> not helped
    turn("c5", 1, Signal(k.GAP, text="how do i get backlinks"))
    # c6: said hello only (a visitor, nothing else); two gaps recorded without signals
    # c7: outside the period
    turn("c7", 1, Signal(k.PROBLEM, topic=SEO, text="not on google"), Signal(k.SHOWN, topic=SEO, article_id="a1", heading="Why"))
    # c8: shown, nothing more -> shown only
    turn("c8", 1, Signal(k.QUESTION, topic=EMAIL, text="open rates are low"), Signal(k.SHOWN, topic=EMAIL, article_id="a2", heading="Intro"))
    # c9: asked to buy straight away, a lead 3 minutes in (notification pending), chose "Chat now"
    # and nobody took it in time -> not taught; the funnel stops at "lead"
    turn("c9", 1, Signal(k.ASKED_TO_BUY, text="can i get a quote?"))
    turn("c9", 3, Signal(k.LEAD, topic=SEO))
    with session_scope(db_url) as session:
        session.add(ContentGap(conversation_id="c5", question="How do I get backlinks", closest_topic="Search engine optimisation",
                               created_at=at(3, 10, 1)))
        session.add(ContentGap(conversation_id="c6", question="how do i get backlinks ", created_at=at(3, 12, 1)))
        session.add(ContentGap(conversation_id="c6", question="banana bread recipe", created_at=at(3, 12, 2)))
        c4_lead = _lead(session, "c4", 10, "dana@harbourfoods.example", "newsletter in spam", "delivered", "k1")
        c9_lead = _lead(session, "c9", 3, "sam@northwind.example", "", "pending", "k9")
    c4_handoff = live.request_live(db_url, "c4", "rest", c4_lead, now=started("c4") + timedelta(minutes=10))
    live.take(db_url, c4_handoff.id, "U1", "Robin", now=started("c4") + timedelta(minutes=11))
    live.hand_back(db_url, c4_handoff.id, "U1", "Robin", now=started("c4") + timedelta(minutes=20))
    live.request_live(db_url, "c9", "rest", c9_lead, now=started("c9") + timedelta(minutes=3))
    live.time_out_expired(db_url, wait_seconds=180, now=started("c9") + timedelta(minutes=7))
