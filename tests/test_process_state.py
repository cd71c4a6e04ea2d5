"""Everything a process keeps in memory, reviewed for several Rasa servers and action servers.

Each item is either shared correctly (the truth is in PostgreSQL or Redis, which every
process reads) or harmless (a copy that any process would compute alike, or state that
only means something inside its process). Each test below says which and shows it, across
real processes or the real shared services. docs/deploy.md lists the same review.
"""

import asyncio
import subprocess
import sys
import threading
import uuid

from bot.channels.widget_fanout import LocalFanout, RedisFanout
from bot.db import record_slack_event_once
from bot.knowledge.index_store import load_live_index, write_index
from tests.conftest import COOKWARE_KB, DEFAULT_KB, PROJECT_HOME

ENCODE = """
import sys
from bot.knowledge.embeddings import shared_encoder
sys.stdout.write(shared_encoder().encode([sys.argv[1]])[0].tobytes().hex())
"""


def test_embedding_caches_are_harmless_copies_every_process_computes_alike() -> None:
    """Harmless: the vectors computed ahead (sentence_featurizer._ready), the encoded-text
    cache (index_store._encoded) and the encoder's last query are functions of the text
    alone, so two processes agree on every entry byte for byte."""
    text = "our product pages load slowly on phones"
    vectors = [
        subprocess.run([sys.executable, "-c", ENCODE, text], cwd=PROJECT_HOME, capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert vectors[0] and vectors[0] == vectors[1]


def test_handled_message_ids_are_shared_through_redis(redis_url: str) -> None:
    """Shared: a widget message being handled on one server is claimed in Redis, so a tab
    resending it to another server waits instead of having it handled twice; once done, the
    tracker store (shared) says it was handled."""

    async def scenario() -> list[bool]:
        first, second = RedisFanout(redis_url), RedisFanout(redis_url)
        key = f"session-{uuid.uuid4().hex}:m-00000001"
        try:
            steps = [await first.claim(key), await second.claim(key), await second.is_claimed(key)]
            await first.release(key)
            steps += [await second.is_claimed(key), await second.claim(key)]
            await second.release(key)
            return steps
        finally:
            await first.stop()
            await second.stop()

    assert asyncio.run(scenario()) == [True, False, True, False, True]


def test_without_redis_handled_ids_are_one_processs_own() -> None:
    async def scenario() -> list[bool]:
        local = LocalFanout()
        return [await local.claim("s:m"), await local.claim("s:m"), await local.release("s:m") is None, await local.claim("s:m")]

    assert asyncio.run(scenario()) == [True, False, True, True]


def test_slack_event_receipts_are_shared_in_the_database(postgres_url: str) -> None:
    """Shared: the receipt is a row with the event id as primary key, so when several
    servers get the same Slack event (or its retries) at once, exactly one takes it in."""
    from bot.db import upgrade_schema

    upgrade_schema(postgres_url)
    results: list[bool] = []
    start = threading.Barrier(6)

    def receive() -> None:
        start.wait()
        results.append(record_slack_event_once(postgres_url, "Ev-same"))

    threads = [threading.Thread(target=receive) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_the_widget_connection_registry_is_per_process_and_fanned_out(redis_url: str) -> None:
    """Harmless: a server's registry holds the sockets connected to it, which only it can
    write to; a save on another server reaches them through Redis publish/subscribe, and a
    server never hears its own (its tabs are pushed to directly)."""

    async def scenario() -> tuple[list[str], list[str]]:
        saver, holder = RedisFanout(redis_url), RedisFanout(redis_url)
        heard_by_saver: list[str] = []
        heard_by_holder: list[str] = []
        done = asyncio.Event()

        async def hold(conversation: str) -> None:
            heard_by_holder.append(conversation)
            done.set()

        async def save(conversation: str) -> None:
            heard_by_saver.append(conversation)

        await saver.start(save)
        await holder.start(hold)
        await asyncio.wait_for(asyncio.gather(saver.subscribed.wait(), holder.subscribed.wait()), 10)
        conversation = f"conv-{uuid.uuid4().hex}"
        await saver.publish(conversation)
        await asyncio.wait_for(done.wait(), 10)
        await asyncio.sleep(0.2)  # time for the saver to (wrongly) hear itself
        await saver.stop()
        await holder.stop()
        return [c for c in heard_by_saver if c == conversation], [c for c in heard_by_holder if c == conversation]

    by_saver, by_holder = asyncio.run(scenario())
    assert by_saver == [] and len(by_holder) == 1


def test_the_live_index_follows_a_reindex_made_by_another_process(postgres_url: str) -> None:
    """Shared: the index is in the database; each process's in-memory copy is checked
    against the stored checksum on every search and rebuilt when another process
    (`lantern kb index`) wrote a new one."""
    from bot.db import upgrade_schema

    upgrade_schema(postgres_url)
    write_index(postgres_url, DEFAULT_KB)
    before = load_live_index(postgres_url)
    assert before.search("our newsletter ends up in spam")[0].id == "emails-going-to-spam"
    env = {"LANTERN_DB_URL": postgres_url, "PATH": "/usr/bin:/bin", "HOME": str(PROJECT_HOME)}
    subprocess.run([sys.executable, "-m", "bot.cli", "kb", "index", "--kb-dir", str(COOKWARE_KB)],
                   cwd=PROJECT_HOME, env=env, check=True, capture_output=True)
    after = load_live_index(postgres_url)
    assert after is not before
    assert after.search("my cast iron skillet is rusty")[0].id == "rusty-cast-iron-skillet"
    assert before.search("my cast iron skillet is rusty") == []
