"""A small week of conversations with known answers, written straight into the tables.

Period 2026-11-30 (a Monday) to 2026-12-06. c7 falls outside it. What each conversation
did, and so its outcome, is in the comments; tests/insights/test_aggregates.py checks the sums.
Live handoffs go through `bot.handoff.live`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.db import session_scope
from bot.handoff import live
from bot.insights import signals as k
from bot.models import (
    ArticleFeedback,
    ContentGap,
    InsightConversation,
    InsightSignal,
    KbArticle,
    KbPassage,
    Lead,
    OutboxNotification,
)

SEO, EMAIL = "seo", "email-marketing"


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour, minute, tzinfo=timezone.utc) + timedelta(days=day)


def _article(session, article_id: str, topic: str, headings: list[str], kind: str = "guide") -> None:
    session.add(KbArticle(id=article_id, title=article_id.upper(), url=f"https://x.example/{article_id}", kind=kind,
                          topics=[topic], summary="s", why_it_matters="w", related=[], asks=[], source_path="p"))
    session.flush()
    for position, heading in enumerate(headings):
        session.add(KbPassage(article_id=article_id, position=position, heading=heading, text="t"))


def load(db_url: str) -> None:
    with session_scope(db_url) as session:
        _article(session, "a1", SEO, ["Why", "Fix", "Extra"])
        _article(session, "a2", EMAIL, ["Intro", "More", "Unread"])
        _article(session, "svc", SEO, ["Offer"], kind="service")
        starts = {"c1": at(0, 10), "c2": at(0, 11), "c3": at(1, 9), "c4": at(2), "c5": at(3), "c6": at(3, 12),
                  "c7": at(10), "c8": at(4), "c9": at(4, 14)}
        for cid, started in starts.items():
            session.add(InsightConversation(conversation_id=cid, started_at=started, channel="rest", is_demo=False))

        def signal(cid: str, kind: str, minute: int = 1, **fields: object) -> None:
            session.add(InsightSignal(conversation_id=cid, kind=kind, created_at=starts[cid] + timedelta(minutes=minute), **fields))

        # c1: a problem in discovery, read on, said it helped -> helped
        signal("c1", k.PROBLEM, topic=SEO, text="We are not on Google")
        signal("c1", k.DISCOVERY, text="losing calls")
        signal("c1", k.SHOWN, topic=SEO, article_id="a1", heading="Why")
        signal("c1", k.READ_ON, 2, article_id="a1", heading="Fix")
        session.add(ArticleFeedback(conversation_id="c1", article_id="a1", helpful=True, created_at=at(0, 10, 5)))
        # c2: a question, said it didn't help -> not helped
        signal("c2", k.QUESTION, topic=SEO, text="we are not on google ")
        signal("c2", k.SHOWN, topic=SEO, article_id="a1", heading="Why")
        session.add(ArticleFeedback(conversation_id="c2", article_id="a1", helpful=False, created_at=at(0, 11, 5)))
        # c3: read on, then followed a related problem -> read on
        signal("c3", k.PROBLEM, topic=EMAIL, text="newsletter in spam")
        signal("c3", k.SHOWN, topic=EMAIL, article_id="a2", heading="Intro")
        signal("c3", k.READ_ON, 2, article_id="a2", heading="More")
        signal("c3", k.RELATED, 3, article_id="a1", heading="Why")
        # c4: shown, asked to buy, became a lead 10 minutes in, rep notified; chose "Chat now",
        # a rep took it and later handed it back -> needed a person; the funnel's "a rep took it"
        signal("c4", k.PROBLEM, topic=EMAIL, text="newsletter in spam")
        signal("c4", k.SHOWN, topic=EMAIL, article_id="a2", heading="Intro")
        signal("c4", k.ASKED_TO_BUY, 5, text="can i get a quote?")
        signal("c4", k.LEAD, 10, topic=EMAIL, article_id="a2")
        lead = Lead(created_at=starts["c4"] + timedelta(minutes=10), conversation_id="c4", channel="rest", name="Dana",
                    email="dana@harbourfoods.example", company=None, follow_up="email", consent_contact=True,
                    consent_storage=True, consent_at=at(2), intent_level="clear", intent_evidence="can i get a quote?",
                    brief={"problem": "newsletter in spam"})
        session.add(lead)
        session.flush()
        session.add(OutboxNotification(lead_id=lead.id, target="crm", idempotency_key="k1", payload={}, status="delivered",
                                       attempts=1, next_attempt_at=at(2)))
        # c5: only a question nobody answered -> not helped
        signal("c5", k.GAP, text="how do i get backlinks")
        session.add(ContentGap(conversation_id="c5", question="How do I get backlinks", closest_topic="Search engine optimisation",
                               created_at=at(3, 10, 1)))
        session.add(ContentGap(conversation_id="c6", question="how do i get backlinks ", created_at=at(3, 12, 1)))
        session.add(ContentGap(conversation_id="c6", question="banana bread recipe", created_at=at(3, 12, 2)))
        # c6: said hello only (a visitor, nothing else)
        # c7: outside the period
        signal("c7", k.PROBLEM, topic=SEO, text="not on google")
        signal("c7", k.SHOWN, topic=SEO, article_id="a1", heading="Why")
        # c8: shown, nothing more -> shown only
        signal("c8", k.QUESTION, topic=EMAIL, text="open rates are low")
        signal("c8", k.SHOWN, topic=EMAIL, article_id="a2", heading="Intro")
        # c9: asked to buy straight away, a lead 3 minutes in (notification pending), chose "Chat now"
        # and nobody took it in time -> not taught; the funnel stops at "lead"
        signal("c9", k.ASKED_TO_BUY, text="can i get a quote?")
        signal("c9", k.LEAD, 3, topic=SEO)
        late = Lead(created_at=starts["c9"] + timedelta(minutes=3), conversation_id="c9", channel="rest", name="Sam",
                    email="sam@northwind.example", company=None, follow_up="chat now", consent_contact=True,
                    consent_storage=True, consent_at=at(4, 14), intent_level="clear", intent_evidence="can i get a quote?",
                    brief={"problem": ""})
        session.add(late)
        session.flush()
        session.add(OutboxNotification(lead_id=late.id, target="crm", idempotency_key="k9", payload={}, status="pending",
                                       attempts=1, next_attempt_at=at(4, 14)))
        c4_lead, c9_lead = lead.id, late.id
    c4_handoff = live.request_live(db_url, "c4", "rest", c4_lead, now=at(2, 10, 10))
    live.take(db_url, c4_handoff.id, "U1", "Robin", now=at(2, 10, 11))
    live.hand_back(db_url, c4_handoff.id, "U1", "Robin", now=at(2, 10, 20))
    live.request_live(db_url, "c9", "rest", c9_lead, now=at(4, 14, 3))
    live.time_out_expired(db_url, wait_seconds=180, now=at(4, 14, 7))
