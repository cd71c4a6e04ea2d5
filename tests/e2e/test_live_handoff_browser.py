"""The live handoff in a real browser: a buyer on the demo site's widget (Debian's Chromium,
Playwright) goes from the first message through the lead form to "Chat now"; a rep takes the
conversation from a fake Slack on loopback, talks, and hands back. Screenshots of the widget
during the handoff land in results/screenshots/ (docs/images/ has copies)."""

from __future__ import annotations

from typing import Iterator

import pytest

from bot.channels.demo_site import make_demo_server
from bot.evaluation.stack import PROJECT_HOME, Stack, free_port, running_stack
from bot.handoff import live, live_messages
from bot.rasa_integration.training import train_if_changed
from tests.e2e.fake_slack import FakeSlack, running_fake_slack
from tests.e2e.test_live_handoff import SALES, handoff_of, rep_clicks, rep_writes, thread_posts, wait_until
from tests.e2e.test_slack import SECRET, TOKEN
from tests.loopback import serving

pytestmark = pytest.mark.slow

SCREENSHOTS = PROJECT_HOME / "results" / "screenshots"


@pytest.fixture(scope="module")
def site(project_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, FakeSlack, str]]:
    train_if_changed(project_settings)
    with running_fake_slack() as fake:
        fake.users["UDANA"] = "Dana"
        env = {
            "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "LANTERN_SLACK_API_URL": fake.url,
            "LANTERN_SALES_CHANNEL": SALES, "LANTERN_BUSINESS_HOURS": "Mon-Sun 00:00-23:59",
            "LANTERN_DEMO_PORT": str(free_port()),
        }
        with running_stack(tmp_path_factory.mktemp("live-browser"), extra_env=env) as stack:
            with serving(make_demo_server(stack.settings)) as demo_url:
                yield stack, fake, demo_url


def say(page, text: str) -> None:
    page.locator("textarea").fill(text)
    page.keyboard.press("Enter")


def bot_says(page, text: str) -> None:
    page.locator(".log .msg", has_text=text).last.wait_for()


def test_a_buyer_gets_a_person_in_the_widget_and_lantern_back_afterwards(browser, site) -> None:
    stack, fake, url = site
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.locator(".launcher").click()
    page.locator(".msg.bot").first.wait_for()

    for text, expected in [
        ("our newsletter keeps landing in spam", "What are you seeing"),
        ("open rates halved since march", "What does it cost you"),
        ("we lose repeat orders", "What have you already tried"),
        ("we tried changing the subject lines", "Did that help?"),
        ("ok, can i get a quote for fixing this?", "put you in touch"),
    ]:
        say(page, text)
        bot_says(page, expected)
    page.locator(".buttons button", has_text="Yes, connect me").click()
    bot_says(page, "What's your name")
    for text, expected in [("Priya Shah", "Which work email"), ("priya@harbourfoods.example", "Which company"),
                           ("Harbour Foods", "How would you like them to follow up")]:
        say(page, text)
        bot_says(page, expected)
    page.locator(".buttons button", has_text="Chat now").click()
    bot_says(page, "may the team contact you")
    page.locator(".buttons button", has_text="Yes, that's fine").click()
    bot_says(page, "I've asked someone to join this chat")

    stored = page.evaluate("Object.keys(localStorage).map(k => localStorage.getItem(k) || '')")
    handoff = next(h for h in live.list_handoffs(stack.settings.db_url) if any(h.conversation_id in v for v in stored))
    handoff = handoff_of(stack, handoff.conversation_id)
    fake.wait_for_post(SALES, lambda p: p.get("blocks") and "Priya Shah" in p["text"])
    rep_clicks(stack, "UDANA", live_messages.TAKE, handoff.id)

    joined = page.locator(".msg.handoff", has_text="Dana from Copperleaf Digital joined")
    joined.wait_for()
    assert joined.get_attribute("role") == "status"
    mode = page.locator(".mode")
    assert mode.inner_text() == "You're chatting with Dana, a person"
    assert mode.get_attribute("aria-live") == "polite"

    say(page, "great, what would fixing it cost?")
    ts = handoff.slack_ts or ""
    wait_until(lambda: any("what would fixing it cost?" in p["text"] for p in thread_posts(fake, ts)), "the relay")
    assert page.locator(".typing").is_hidden()  # no bot typing while a person has it
    page.screenshot(path=str(SCREENSHOTS / "widget-live-joined.png"))

    rep_writes(stack, "UDANA", ts, "note: price-sensitive")
    rep_writes(stack, "UDANA", ts, "Hi Priya, a deliverability fix is usually a two-week job. Shall I send a plan?")
    reply = page.locator(".msg.rep", has_text="two-week job")
    reply.wait_for()
    assert reply.locator(".who").inner_text() == "Dana"
    assert "price-sensitive" not in page.locator(".log").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "widget-live-rep-reply.png"))
    page.set_viewport_size({"width": 390, "height": 780})
    page.screenshot(path=str(SCREENSHOTS / "widget-live-phone.png"))
    page.set_viewport_size({"width": 1280, "height": 800})

    rep_clicks(stack, "UDANA", live_messages.HAND_BACK, handoff.id)
    page.locator(".msg.handoff", has_text="Lantern is back").wait_for()
    assert mode.is_hidden()
    page.screenshot(path=str(SCREENSHOTS / "widget-live-back.png"))
    bots_before = page.locator(".msg.bot").count()
    say(page, "why do emails end up in spam anyway?")
    page.locator(".msg.bot").nth(bots_before).wait_for()  # the bot answers the next message
    assert "A couple of quick questions" not in page.locator(".msg.bot").nth(bots_before).inner_text()
    context.close()
