"""The widget in a real browser: Debian's Chromium driven by Playwright, against the real
Rasa and action servers and the demo site. The widget reaches the Rasa server through a
TCP relay the tests can cut, to drop the connection for real.

Screenshots land in results/screenshots/ (desktop and phone sizes)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Iterator

import pytest
import requests

from bot.channels.demo_site import make_demo_server
from bot.evaluation.stack import PROJECT_HOME, Stack, free_port, running_stack
from bot.rasa_integration.training import train_if_changed
from tests.e2e.tcp_proxy import TcpProxy
from tests.loopback import serving

pytestmark = pytest.mark.slow

SCREENSHOTS = PROJECT_HOME / "results" / "screenshots"
XSS = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def site(project_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, TcpProxy, str]]:
    """The stack, the relay in front of its Rasa server, and the demo site's URL."""
    train_if_changed(project_settings)
    demo_port = free_port()
    with running_stack(tmp_path_factory.mktemp("browser"), extra_env={"LANTERN_DEMO_PORT": str(demo_port)}) as stack:
        proxy = TcpProxy(stack.settings.rasa_port, free_port())
        proxy.start()
        try:
            with serving(make_demo_server(replace(stack.settings, rasa_port=proxy.port))) as demo_url:
                yield stack, proxy, demo_url
        finally:
            proxy.stop()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    # The articles live on the agency's real site, which this machine can't reach.
    context.route(
        re.compile(r"https://copperleaf\.example/.*"),
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Article</h1>"),
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def open_chat(page, url: str) -> None:
    page.goto(url)
    page.locator(".launcher").click()
    page.locator(".msg.bot").first.wait_for()


def say(page, text: str) -> None:
    page.locator("textarea").fill(text)
    page.keyboard.press("Enter")


def wait_for_bot_text(page, text: str) -> None:
    page.locator(".msg.bot", has_text=text).last.wait_for()


def log_texts(page) -> list[str]:
    return page.locator(".log .msg").all_inner_texts()


def test_nothing_is_stored_or_connected_before_the_chat_is_opened(page, site) -> None:
    _, _, url = site
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(url)
    page.locator(".teaser").wait_for()  # the greeting appears after data-greeting-delay
    assert page.context.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert sockets == []
    page.locator(".launcher").click()
    page.locator(".msg.bot").first.wait_for()
    assert len(sockets) == 1 and sockets[0].endswith("/webhooks/widget/ws")
    assert held_session(page).startswith("w-")  # issued by the server
    assert page.context.cookies() == []


def test_discovery_buttons_cards_and_history_across_reload_and_pages(page, site) -> None:
    stack, _, url = site
    open_chat(page, url)
    wait_for_bot_text(page, "What are you trying to fix or figure out?")
    say(page, "our newsletter keeps ending up in people's spam folders")
    wait_for_bot_text(page, "What are you seeing exactly")
    say(page, "open rates halved since march")
    wait_for_bot_text(page, "What does it cost you")
    say(page, "we lose repeat orders from regulars")
    wait_for_bot_text(page, "What have you already tried")
    say(page, "nothing yet")
    wait_for_bot_text(page, "it matters because you lose repeat orders from regulars")
    card = page.locator(".card").first
    card.wait_for()
    card.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-desktop-card.png"))
    link = card.locator("a")
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in link.get_attribute("rel")
    with page.context.expect_page() as opened:
        link.click()
    assert opened.value.url == "https://copperleaf.example/learn/emails-going-to-spam"
    opened.value.close()

    page.locator(".buttons button", has_text="Yes, it helped").last.click()
    wait_for_bot_text(page, "Thanks")
    assert page.locator(".msg.visitor", has_text="Yes, it helped").count() == 1  # the title, not "/feedback_helpful"
    assert page.locator(".buttons button:not([disabled])").count() == 0  # answered: old buttons are off
    page.screenshot(path=str(SCREENSHOTS / "widget-desktop.png"))
    before = log_texts(page)

    page.reload()
    page.locator(".card").first.wait_for()  # reopened by itself, history restored
    assert page.evaluate("document.activeElement.id") != "lantern-widget"  # without taking the page's focus
    page.wait_for_function("document.querySelector('#lantern-widget').shadowRoot.querySelectorAll('.log .msg').length >= %d" % len(before))
    assert log_texts(page) == before

    page.goto(url + "/services.html")
    page.locator(".card").first.wait_for()
    assert log_texts(page) == before
    sid = held_session(page)
    feedback = [e for e in stack.tracker(sid)["events"] if e["event"] == "user" and e["text"] == "/feedback_helpful"]
    assert len(feedback) == 1


def test_a_dropped_connection_is_restored_without_losing_or_repeating_messages(page, site) -> None:
    stack, proxy, url = site
    open_chat(page, url)
    wait_for_bot_text(page, "What are you trying to fix or figure out?")
    proxy.stop()
    page.locator(".status", has_text="Reconnecting").wait_for()
    say(page, "are you a bot?")
    page.locator(".msg.visitor.pending", has_text="are you a bot?").wait_for()
    proxy.start()
    wait_for_bot_text(page, "I'm a bot")
    page.locator(".status").wait_for(state="hidden")
    assert page.locator(".msg.visitor", has_text="are you a bot?").count() == 1
    assert page.locator(".msg.bot", has_text="I'm a bot").count() == 1
    sid = held_session(page)
    asked = [e for e in stack.tracker(sid)["events"] if e["event"] == "user" and e["text"] == "are you a bot?"]
    assert len(asked) == 1
    assert page.evaluate("localStorage.getItem('lantern.outbox')") is None


def test_markup_from_the_visitor_or_the_server_is_shown_as_text(page, site) -> None:
    stack, _, url = site
    open_chat(page, url)
    say(page, XSS)
    page.locator(".msg.visitor", has_text=XSS).wait_for()
    page.locator(".msg.bot").nth(1).wait_for()  # the bot answered something
    # A message with markup, as an article or a rep might send it, pushed into the conversation.
    sid = held_session(page)
    hostile = f"**{XSS}** see [this](javascript:alert(2)) or <script>alert(3)</script> https://copperleaf.example/learn/x"
    response = requests.post(
        f"{stack.settings.rasa_url}/conversations/{sid}/tracker/events",
        params={"token": "test-token"},
        json={"event": "bot", "text": hostile},
        timeout=30,
    )
    assert response.status_code == 200
    pushed = page.locator(".msg.bot", has_text="see this")
    pushed.wait_for()
    assert page.locator(".log img, .log script").count() == 0
    assert pushed.locator("strong").inner_text() == XSS
    assert pushed.locator("a").count() == 1  # only the https link; javascript: stays text
    assert pushed.locator("a").get_attribute("href") == "https://copperleaf.example/learn/x"
    assert "<script>alert(3)</script>" in pushed.inner_text()
    page.wait_for_timeout(500)  # give any injected handler the chance to fire
    assert page.dialogs == []


def test_keyboard_only_use_and_accessible_names(page, site) -> None:
    _, _, url = site
    page.goto(url)
    launcher = page.locator(".launcher")
    assert launcher.get_attribute("aria-label") == "Open chat"
    launcher.focus()
    page.keyboard.press("Enter")
    assert launcher.get_attribute("aria-expanded") == "true"
    page.locator(".msg.bot").first.wait_for()
    assert page.evaluate("document.querySelector('#lantern-widget').shadowRoot.activeElement.id") == "lantern-input"
    assert page.locator(".log").get_attribute("aria-live") == "polite"
    assert page.locator("label[for=lantern-input]").inner_text() == "Your message"
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    page.locator(".msg.visitor", has_text="hello").wait_for()
    page.keyboard.press("Escape")
    assert page.locator(".panel").is_hidden()
    assert page.evaluate("document.querySelector('#lantern-widget').shadowRoot.activeElement.className") == "launcher"


def _contrast(foreground: str, background: str) -> float:
    def luminance(rgb: str) -> float:
        channels = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_meets_wcag_aa_contrast(page, site) -> None:
    _, _, url = site
    open_chat(page, url)
    say(page, "hello")
    page.locator(".msg.visitor").first.wait_for()
    for selector in [".msg.bot", ".msg.visitor", "header", ".send", ".launcher"]:
        colours = page.locator(selector).first.evaluate(
            "e => { const s = getComputedStyle(e); return [s.color, s.backgroundColor]; }"
        )
        assert _contrast(*colours) >= 4.5, (selector, colours)


def test_phone_sized_screen(browser, site) -> None:
    _, _, url = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    open_chat(page, url)
    say(page, "we post on instagram every day but hardly anyone likes or comments")
    wait_for_bot_text(page, "What are you seeing exactly")
    box = page.locator(".panel").bounding_box()
    assert box["width"] == 390 and box["height"] == 844  # the chat takes the whole screen
    assert page.locator(".launcher").is_hidden()  # closing is the header's button
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sideways
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-phone.png"))
    page.locator(".close").click()
    assert page.locator(".launcher").is_visible()
    context.close()


def test_a_conversation_the_server_no_longer_has_starts_over_with_a_greeting(page, site) -> None:
    _, _, url = site
    page.goto(url)
    # Also what a tab holding someone else's id without its token looks like: a fresh conversation.
    forged = json.dumps({"id": "w-" + "f" * 32, "token": "A" * 43})
    page.evaluate(f"localStorage.setItem('lantern.conversation', {json.dumps(forged)}); sessionStorage.setItem('lantern.open', '1')")
    page.reload()
    wait_for_bot_text(page, "What are you trying to fix or figure out?")
    assert page.locator(".msg.visitor").count() == 0  # the greeting request is not shown


def held_session(page) -> str:
    """The conversation id the widget holds (with its token) in localStorage."""
    return json.loads(page.evaluate("localStorage.getItem('lantern.conversation')"))["id"]


def test_delete_this_conversation_asks_first_then_deletes_it(page, site) -> None:
    stack, _, url = site
    open_chat(page, url)
    say(page, "our newsletter keeps ending up in spam")
    page.locator(".msg.bot").nth(1).wait_for()
    sid = held_session(page)
    page.get_by_role("button", name="Delete chat").click()
    page.get_by_role("button", name="Keep it").click()  # changed their mind: nothing happens
    assert any(e["event"] == "user" for e in stack.tracker(sid)["events"])
    page.get_by_role("button", name="Delete chat").click()
    page.get_by_role("button", name="Delete it").click()
    page.locator(".msg.notice", has_text="This conversation has been deleted.").wait_for()
    assert page.locator(".msg.visitor").count() == 0
    assert not [e for e in stack.tracker(sid)["events"] if e["event"] in ("user", "bot")]
    # A fresh conversation, should the visitor go on: its session arrives from the server a moment later.
    page.wait_for_function("localStorage.getItem('lantern.conversation') !== null")
    assert held_session(page) != sid
