"""The live handoff's state in the database: transitions, who made them, and the first click
winning when two reps click "Take" at once (SQLite and PostgreSQL, real threads)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from bot.db import upgrade_schema
from bot.handoff import live, live_messages

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    url = str(request.getfixturevalue(f"{request.param}_url"))
    upgrade_schema(url)  # through the migrations, 0006 included
    return url


def test_the_whole_path_is_recorded_with_who_and_when(db_url: str) -> None:
    handoff = live.request_live(db_url, "visitor-1", "widget", 7, now=T0)
    assert handoff.state == live.WAITING and handoff.lead_id == 7
    live.attach_slack_message(db_url, handoff.id, "CSALES", "111.222")
    assert live.handoff_by_thread(db_url, "CSALES", "111.222").id == handoff.id  # type: ignore[union-attr]
    taken = live.take(db_url, handoff.id, "U1", "Dana", now=T0 + timedelta(seconds=40))
    assert taken.won and taken.handoff is not None and taken.handoff.rep_name == "Dana"
    live.record_first_reply(db_url, handoff.id, now=T0 + timedelta(seconds=55))
    live.record_first_reply(db_url, handoff.id, now=T0 + timedelta(seconds=90))  # only the first counts
    ended = live.hand_back(db_url, handoff.id, "U1", "Dana", now=T0 + timedelta(minutes=5))
    assert ended is not None and ended.state == live.WITH_BOT and ended.end_reason == live.HANDED_BACK
    assert live.active_handoff(db_url, "visitor-1") is None

    steps = [(t.from_state, t.to_state, t.by, t.at) for t in live.transitions(db_url, handoff.id)]
    assert steps == [
        ("with_bot", "waiting_for_rep", "visitor", T0),
        ("waiting_for_rep", "with_rep", "slack:U1 (Dana)", T0 + timedelta(seconds=40)),
        ("with_rep", "with_bot", "slack:U1 (Dana)", T0 + timedelta(minutes=5)),
    ]
    figures = live.figures(db_url)
    assert (figures.requested, figures.taken, figures.timed_out) == (1, 1, 0)
    assert figures.median_seconds_to_take == 40 and figures.median_seconds_to_first_reply == 55


def test_asking_again_while_waiting_keeps_the_one_handoff(db_url: str) -> None:
    first = live.request_live(db_url, "visitor-2", "rest", 1, now=T0)
    again = live.request_live(db_url, "visitor-2", "rest", 1, now=T0 + timedelta(seconds=5))
    assert again.id == first.id and len(live.list_handoffs(db_url)) == 1


def test_two_reps_clicking_take_at_the_same_moment_make_exactly_one_owner(db_url: str) -> None:
    for round_ in range(5):
        handoff = live.request_live(db_url, f"race-{round_}", "widget", None)
        start = threading.Barrier(4)
        results: dict[str, live.TakeResult] = {}

        def click(rep: str) -> None:
            start.wait()
            results[rep] = live.take(db_url, handoff.id, rep, f"Rep {rep}")

        threads = [threading.Thread(target=click, args=(rep,)) for rep in ("U1", "U2", "U3", "U4")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [rep for rep, result in results.items() if result.won]
        assert len(winners) == 1, results
        owner = live.get_handoff(db_url, handoff.id)
        assert owner is not None and owner.rep_id == winners[0] and owner.state == live.WITH_REP
        assert all(r.handoff is not None and r.handoff.rep_id == winners[0] for r in results.values())
        assert [t.to_state for t in live.transitions(db_url, handoff.id)] == ["waiting_for_rep", "with_rep"]


def test_only_the_owner_hands_back_or_closes_and_only_once(db_url: str) -> None:
    handoff = live.request_live(db_url, "visitor-3", "widget", None)
    live.take(db_url, handoff.id, "U1", "Dana")
    assert live.hand_back(db_url, handoff.id, "U2", "Sam") is None
    assert live.close(db_url, handoff.id, "U2", "Sam") is None
    closed = live.close(db_url, handoff.id, "U1", "Dana")
    assert closed is not None and closed.state == live.CLOSED
    assert live.hand_back(db_url, handoff.id, "U1", "Dana") is None
    assert not live.take(db_url, handoff.id, "U2", "Sam").won


def test_a_wait_nobody_answers_times_out_once(db_url: str) -> None:
    waiting = live.request_live(db_url, "visitor-4", "widget", None, now=T0)
    fresh = live.request_live(db_url, "visitor-5", "widget", None, now=T0 + timedelta(seconds=150))
    assert live.time_out_expired(db_url, 180, now=T0 + timedelta(seconds=179)) == []
    expired = live.time_out_expired(db_url, 180, now=T0 + timedelta(seconds=181))
    assert [h.id for h in expired] == [waiting.id]
    assert expired[0].state == live.WITH_BOT and expired[0].end_reason == live.TIMED_OUT
    assert live.time_out_expired(db_url, 180, now=T0 + timedelta(seconds=200)) == []
    assert live.get_handoff(db_url, fresh.id).state == live.WAITING  # type: ignore[union-attr]
    assert not live.take(db_url, waiting.id, "U1", "Dana").won  # too late: the visitor was told
    assert live.figures(db_url).timed_out == 1


def test_release_frees_a_stuck_conversation_whoever_has_it(db_url: str) -> None:
    handoff = live.request_live(db_url, "visitor-6", "widget", None)
    live.take(db_url, handoff.id, "U1", "Dana")
    released = live.release(db_url, handoff.id)
    assert released is not None and released.state == live.WITH_BOT and released.end_reason == live.RELEASED
    assert live.transitions(db_url, handoff.id)[-1].by == "lantern handoff release"
    assert live.release(db_url, handoff.id) is None


@pytest.mark.parametrize("text, note", [("note: she's price-sensitive", True), ("  NOTE: check CRM", True),
                                        ("Happy to help, Dana here", False), ("a note: not a prefix", False)])
def test_internal_notes_are_told_apart_by_their_prefix(text: str, note: bool) -> None:
    assert live_messages.is_note(text) is note


def test_the_slack_messages_carry_the_buttons_the_relay_reads() -> None:
    brief = {"text": "New lead #3", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "New lead #3"}}]}
    waiting = live_messages.waiting_for_rep(9, brief, "widget", "3 minutes")
    (take,) = waiting["blocks"][-1]["elements"]
    assert (take["action_id"], take["value"], take["text"]["text"]) == (live_messages.TAKE, "9", "Take this conversation")
    taken = live_messages.taken(waiting, "Dana")
    assert all(b["type"] != "actions" for b in taken["blocks"])  # nobody else can take it
    assert "Dana took this conversation" in taken["blocks"][-1]["text"]["text"]
    controls = live_messages.rep_controls(9, "Dana")["blocks"][-1]["elements"]
    assert [(b["action_id"], b["text"]["text"]) for b in controls] == [
        (live_messages.HAND_BACK, "Hand back to Lantern"), (live_messages.CLOSE, "Close")]
    assert "`note:`" in live_messages.THREAD_INTRO
    assert [live_messages.duration(s) for s in (180, 60, 10, 1)] == ["3 minutes", "60 seconds", "10 seconds", "1 second"]
