"""`lantern demo-traffic` against the real stack with tight rate limits: every demo conversation
reaches the tracker store complete, in order and once, although the server refuses messages with
429 (its budget for this address already spent by someone else, or lower limits than the demo's
settings say)."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import pytest
import requests

from bot.evaluation.stack import Stack, free_port, running_stack
from bot.insights.demo_traffic import DemoReport, demo_scripts, play_demo_traffic
from bot.rasa_integration.training import train_if_changed

pytestmark = pytest.mark.slow

PER_CLIENT, PER_CONVERSATION, WINDOW = 8, 4, 3
CONVERSATIONS = 8


@pytest.fixture(scope="module")
def stack(project_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    train_if_changed(project_settings)
    limits = {
        "LANTERN_DEMO_PORT": str(free_port()),
        "LANTERN_RATE_PER_CLIENT": str(PER_CLIENT),
        "LANTERN_RATE_PER_CONVERSATION": str(PER_CONVERSATION),
        "LANTERN_RATE_WINDOW_SECONDS": str(WINDOW),
    }
    with running_stack(tmp_path_factory.mktemp("demo-traffic"), extra_env=limits) as running:
        yield running


def spend_the_address_budget(stack: Stack) -> None:
    """Another client on this address uses up the window: bodies the channel refuses still count."""
    for _ in range(PER_CLIENT + 1):
        refused = requests.post(stack.webhook, json={}, timeout=30)
        if refused.status_code != 400:
            break
    assert refused.status_code == 429 and refused.json()["limit"] == "client"
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW


def user_messages(stack: Stack, sender: str) -> list[str]:
    return [e["text"] for e in stack.tracker(sender)["events"] if e["event"] == "user"]


def assert_complete(stack: Stack, report: DemoReport, seed: int) -> None:
    assert report.failed == [] and report.complete == CONVERSATIONS
    for sender, messages in demo_scripts(CONVERSATIONS, seed, report.run):
        assert user_messages(stack, sender) == messages, sender


def test_demo_traffic_paced_to_the_configured_limits_arrives_complete_after_429s(stack: Stack) -> None:
    assert stack.settings.rate_per_client == PER_CLIENT  # what the demo reads is what the server applies
    spend_the_address_budget(stack)
    lines: list[str] = []
    report = play_demo_traffic(stack.settings, CONVERSATIONS, seed=21, progress=lines.append, every=0)
    print("\n".join(lines))
    assert_complete(stack, report, seed=21)
    assert report.refused >= 1  # the spent budget: refused, waited out, sent again
    assert report.refused <= 8  # then paced: the limit is not hammered
    assert report.seconds >= (report.messages - 1) // PER_CLIENT * WINDOW
    assert f"{PER_CLIENT} messages every {WINDOW} s" in lines[1]


def test_demo_traffic_told_higher_limits_than_the_server_has_still_arrives_complete(stack: Stack) -> None:
    spend_the_address_budget(stack)
    believes = replace(stack.settings, rate_per_client=1000, rate_per_conversation=1000)
    lines: list[str] = []
    report = play_demo_traffic(believes, CONVERSATIONS, seed=22, workers=4, progress=lines.append)
    print("\n".join(lines))
    assert_complete(stack, report, seed=22)
    assert report.refused >= 1
