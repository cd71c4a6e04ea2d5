"""Two Rasa servers behind a real nginx, on the machine's PostgreSQL and Redis: the layout
`make run-cluster` starts (bot/cluster.py), spoken to through nginx and each server directly."""

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.evaluation.cluster_stack import Cluster, running_cluster
from bot.evaluation.stack import free_port
from bot.rasa_integration.training import train_if_changed
from tests.conftest import _postgres_or_skip
from tests.e2e.widget_client import WidgetClient, bot_text

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def cluster(project_settings, redis_url: str, nginx_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    train_if_changed(project_settings)
    admin_url = _postgres_or_skip(project_settings)
    name = f"lantern_cluster_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    tmp: Path = tmp_path_factory.mktemp("cluster")
    try:
        with running_cluster(tmp, db_url, redis_url, servers=2, extra_env={"LANTERN_DEMO_PORT": str(free_port())}) as running:
            yield running
    finally:
        from bot.db import dispose_engines

        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def user_and_listen_events(cluster: Cluster, sender: str) -> list[tuple[str, str]]:
    events = cluster.tracker(sender)["events"]
    return [
        (e["event"], e.get("text") or e.get("name") or "")
        for e in events
        if e["event"] == "user" or (e["event"] == "action" and e.get("name") == "action_listen")
    ]


def test_nginx_answers_and_spreads_conversations_over_both_servers(cluster: Cluster) -> None:
    assert requests.get(f"{cluster.settings.rasa_url}/nginx-health", timeout=5).text == "ok\n"
    for n in range(6):
        assert "What are you trying to fix" in cluster.texts(f"spread-{n}", "hi")
    # Each server logs the conversations it served; both got some (random keys spread them).
    served = [cluster.say_to(number, f"direct-{number}", "hi") for number in (1, 2)]
    assert all(served)


SCRIPT = ["hi", "our newsletter keeps ending up in people's spam folders", "what else", "did that help? yes", "thanks"]


def test_a_conversation_alternating_between_servers_keeps_its_state(cluster: Cluster) -> None:
    def replies(sender: str, server_of_turn) -> list[str]:  # type: ignore[no-untyped-def]
        return ["\n".join(m.get("text", "") for m in cluster.say_to(server_of_turn(n), sender, message))
                for n, message in enumerate(SCRIPT)]

    one_server = replies(f"one-{uuid.uuid4().hex[:8]}", lambda n: 1)
    alternating = replies(f"alt-{uuid.uuid4().hex[:8]}", lambda n: 1 + n % 2)
    assert alternating == one_server  # same conversation, whichever server takes each turn
    # ... and the turns depend on what came before: "what else" out of context differs.
    fresh = "\n".join(m.get("text", "") for m in cluster.say_to(2, f"fresh-{uuid.uuid4().hex[:8]}", "what else"))
    assert alternating[2] != fresh


def send_to_both_servers(
    cluster: Cluster, sender: str, messages: list[str], before: Callable[[int], object]
) -> list[str]:
    """Message n from its own thread to server 1 + n % 2, after `before(n)`; the errors raised."""
    errors: list[str] = []

    def send(n: int) -> None:
        before(n)
        try:
            cluster.say_to(1 + n % 2, sender, messages[n])
        except Exception as error:  # returned to the test
            errors.append(repr(error))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(messages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_messages_of_one_conversation_are_processed_one_at_a_time_in_order(cluster: Cluster) -> None:
    sender = f"conc-{uuid.uuid4().hex[:8]}"
    messages = [f"question number {n} about our site speed" for n in range(6)]
    # Arriving in this order, alternately at each server, while earlier turns run.
    assert send_to_both_servers(cluster, sender, messages, lambda n: time.sleep(0.25 * n)) == []
    turns = user_and_listen_events(cluster, sender)
    users = [t for kind, t in turns if kind == "user"]
    assert users == messages  # each once, in the order sent
    # One turn at a time: every user message is followed by its turn's end before the next.
    kinds = [kind for kind, _ in turns]
    first_user = kinds.index("user")
    assert kinds[first_user:] == ["user", "action"] * len(messages)


def test_a_burst_of_one_conversation_on_both_servers_is_handled_once_each_never_interleaved(cluster: Cluster) -> None:
    sender = f"burst-{uuid.uuid4().hex[:8]}"
    messages = [f"burst message {n} about slow pages" for n in range(8)]
    start = threading.Barrier(len(messages))
    assert send_to_both_servers(cluster, sender, messages, lambda n: start.wait()) == []
    turns = user_and_listen_events(cluster, sender)
    assert sorted(t for kind, t in turns if kind == "user") == sorted(messages)
    kinds = [kind for kind, _ in turns]
    assert kinds[kinds.index("user"):] == ["user", "action"] * len(messages)


def test_a_push_saved_by_one_server_reaches_a_tab_held_by_the_other(cluster: Cluster) -> None:
    origin = cluster.settings.demo_url

    async def scenario() -> tuple[str, list[dict]]:
        # The tab talks through nginx (a WebSocket upgrade), then holds a socket on server 2,
        # presenting the session and token the first server gave it.
        through_nginx = await WidgetClient.connect(
            cluster.settings.rasa_url.replace("http", "ws") + "/webhooks/widget/ws", origin
        )
        session = through_nginx.session
        assert session is not None
        await through_nginx.until("messages")
        said = await through_nginx.turn("hi")
        greeting, seen = bot_text(said), max(m["seq"] for m in said)
        await through_nginx.close()
        tab = await WidgetClient.connect(cluster.server_url(2).replace("http", "ws") + "/webhooks/widget/ws", origin, session, after=seen)
        await tab.until("messages")
        # A rep's reply, saved by server 1 through Rasa's HTTP API.
        response = requests.post(
            f"{cluster.server_url(1)}/conversations/{session[0]}/tracker/events",
            params={"token": cluster.settings.api_token, "output_channel": "latest", "execute_side_effects": "true"},
            json={"event": "bot", "text": "Hi, this is Sam from the sales team."},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        started = time.monotonic()
        frame = await tab.until("messages", timeout=10)
        assert time.monotonic() - started < 5
        await tab.close()
        return greeting, frame["messages"]

    greeting, pushed = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert "What are you trying to fix" in greeting
    assert [m["text"] for m in pushed] == ["Hi, this is Sam from the sales team."]
