"""`make drills`: what a cluster does when parts of it fail, measured (a harness, not tests).

1. kill -9 one Rasa server while 20 visitors talk through nginx over the widget's WebSocket.
2. Restart Redis, then PostgreSQL, under the same load (plus a REST probe).
3. The CRM webhook receiver down while the delivery worker is killed -9 every few seconds,
   with 1,000 leads in the outbox.
4. Soak: 50 visitors for 30 minutes; resident memory of every server before and after.

Drills 1, 2 and 4 run one cluster (bot/evaluation/cluster_stack.py: nginx, two Rasa servers,
one action server) on a private Redis and a private PostgreSQL started for the drills, so
restarting them disturbs nothing else on the machine. Drill 3 uses a throw-away database on
the machine's PostgreSQL. Visitors behave like the widget: each message has an id, a lost
connection is reopened (through nginx, so to any live server) and the unacknowledged message
resent with the same id; a "please try again" notice makes the visitor send it again, as a
person would. Afterwards every conversation is read back from the tracker store.

    python -m bot.evaluation.drills [--only 1,2,3,4] [--quick] [--soak-minutes 30] [--outage-minutes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import requests

from bot.evaluation.cluster_stack import Cluster, running_cluster
from bot.evaluation.stack import PROJECT_HOME, free_port

SCRIPT = [
    "hi",
    "our newsletter keeps ending up in people's spam folders",
    "open rates halved since march",
    "we lose repeat orders from regulars",
    "nothing yet",
    "how do we get customers to leave more reviews?",
    "thanks",
]
BAD_SIGNS = ("Traceback", "Internal Server Error", "Exception", "500")


# --- private services -------------------------------------------------------------------


@dataclass
class PrivateServices:
    """A Redis and a PostgreSQL of the drills' own, on free ports."""

    base: Path
    redis_port: int = 0
    pg_port: int = 0
    redis: Optional[subprocess.Popen] = None

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def db_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/lantern"

    def _as_postgres(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        _wait_port(self.redis_port)

    def stop_redis(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            self.redis.terminate()
            self.redis.wait()

    @property
    def pg_dir(self) -> Path:
        return self.base / "pg"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            self._as_postgres(["pg_ctl", "-D", str(self.pg_dir), "-w", "-l", str(self.base / "pg.log"), *args]),
            check=True, stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self.redis_port, self.pg_port = free_port(), free_port()
        self.base.mkdir(parents=True, exist_ok=True)
        self.pg_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.pg_dir, "postgres")
        subprocess.run(self._as_postgres(["initdb", "-D", str(self.pg_dir), "-U", "postgres", "--auth=trust"]),
                       check=True, stdout=subprocess.DEVNULL)
        options = f"-p {self.pg_port} -c listen_addresses=127.0.0.1 -k {self.pg_dir} -c max_connections=300"
        self.pg_ctl("-o", options, "start")
        subprocess.run(["createdb", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "lantern"], check=True)
        self.start_redis()

    def stop(self) -> None:
        self.stop_redis()
        try:
            self.pg_ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass


def _wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


@contextmanager
def private_services() -> Iterator[PrivateServices]:
    base = Path(tempfile.mkdtemp(prefix="lantern-drills-"))
    os.chmod(base, 0o755)
    services = PrivateServices(base)
    try:
        services.start()
        yield services
    finally:
        services.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- visitors ---------------------------------------------------------------------------


@dataclass
class Tally:
    sent: int = 0  # messages acknowledged as handled (no notice)
    notices: int = 0  # calm "please try again" replies
    notice_texts: set[str] = field(default_factory=set)
    drops: int = 0  # connections lost mid-conversation
    refused: int = 0  # connection attempts that failed (nginx had no live server, or a 5xx)
    duplicate_seqs: int = 0  # a message the tab already had, sent again
    bad_texts: list[str] = field(default_factory=list)  # anything like a stack trace
    latencies: list[float] = field(default_factory=list)
    acked: dict[str, list[str]] = field(default_factory=dict)  # session -> message ids handled
    acks_at: list[tuple[float, int]] = field(default_factory=list)  # (time, visitor) of each ack

    def errors_seen(self) -> int:
        return self.notices + self.drops + self.refused


async def visitor(number: int, ws_url: str, origin: str, stop_at: float, tally: Tally, think: tuple[float, float]) -> None:
    from websockets.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.typing import Origin

    loop = asyncio.get_running_loop()
    rng = random.Random(number)
    while loop.time() < stop_at:
        session = uuid.uuid4().hex
        tally.acked[session] = []
        last_seq, seen = -1, set()
        socket: Any = None

        async def frames_until_ack(message_id: str) -> bool:
            """Read until the ack of `message_id`; True when a notice came with it."""
            nonlocal last_seq
            noticed = False
            while True:
                frame = json.loads(await asyncio.wait_for(socket.recv(), 150))
                if frame["type"] == "messages":
                    for message in frame["messages"]:
                        if message["seq"] in seen:
                            tally.duplicate_seqs += 1
                        seen.add(message["seq"])
                        last_seq = max(last_seq, message["seq"])
                        if any(sign in (message.get("text") or "") for sign in BAD_SIGNS[:3]):
                            tally.bad_texts.append(message["text"][:200])
                elif frame["type"] == "notice" and frame.get("id") == message_id:
                    noticed = True
                    tally.notice_texts.add(frame.get("text", ""))
                elif frame["type"] == "error":
                    tally.bad_texts.append(str(frame))
                elif frame["type"] == "ack" and frame.get("id") == message_id:
                    return noticed

        for text in SCRIPT:
            if loop.time() >= stop_at:
                break
            message_id = uuid.uuid4().hex
            started = loop.time()
            while True:
                try:
                    if socket is None:
                        socket = await connect(ws_url, origin=Origin(origin), open_timeout=10, close_timeout=1)
                        await socket.send(json.dumps({"type": "hello", "session_id": session, "after": last_seq}))
                    await socket.send(json.dumps({"type": "message", "id": message_id, "text": text}))
                    noticed = await frames_until_ack(message_id)
                except (ConnectionClosed, asyncio.TimeoutError, OSError) as error:
                    tally.drops += not isinstance(error, OSError) or socket is not None
                    socket = None
                    await asyncio.sleep(0.5)
                    continue
                except InvalidHandshake:
                    tally.refused += 1
                    socket = None
                    await asyncio.sleep(0.5)
                    continue
                if noticed:  # "please try again": the visitor types it again
                    tally.notices += 1
                    message_id = uuid.uuid4().hex
                    await asyncio.sleep(1.0)
                    continue
                break
            tally.sent += 1
            tally.acked[session].append(message_id)
            tally.latencies.append(loop.time() - started)
            tally.acks_at.append((time.monotonic(), number))
            await asyncio.sleep(rng.uniform(*think))
        if socket is not None:
            await socket.close()


def run_visitors(cluster: Cluster, count: int, seconds: float, think: tuple[float, float] = (0.5, 2.0),
                 during: Optional[Any] = None) -> Tally:
    """`count` visitors for `seconds`; `during(tally)` runs in a thread meanwhile (the failure)."""
    tally = Tally()
    ws_url = cluster.settings.rasa_url.replace("http", "ws") + "/webhooks/widget/ws"

    async def main() -> None:
        stop_at = asyncio.get_running_loop().time() + seconds
        tasks = [asyncio.create_task(visitor(n, ws_url, cluster.settings.demo_url, stop_at, tally, think)) for n in range(count)]
        if during is not None:
            await asyncio.get_running_loop().run_in_executor(None, during, tally)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    return tally


@dataclass
class Verdict:
    lost: int  # acknowledged as handled, missing from the tracker
    duplicated: int  # one message id handled more than once
    conversations: int


def verify(cluster: Cluster, tally: Tally) -> Verdict:
    lost = duplicated = 0
    for session, ids in tally.acked.items():
        if not ids:
            continue
        response = requests.get(f"{cluster.settings.rasa_url}/conversations/{session}/tracker",
                                params={"token": cluster.settings.api_token}, timeout=30)
        response.raise_for_status()
        handled = [e.get("message_id") for e in response.json()["events"] if e["event"] == "user"]
        lost += sum(1 for i in ids if i not in handled)
        duplicated += sum(handled.count(i) - 1 for i in set(handled) if i and handled.count(i) > 1)
    return Verdict(lost, duplicated, sum(1 for ids in tally.acked.values() if ids))


def recovery_after(tally: Tally, moment: float, visitors: int) -> float:
    """Seconds from `moment` until every visitor had a message handled after it."""
    waits = recovery_waits(tally, moment)
    return max(waits) if len(waits) == visitors else float("inf")


def recovery_waits(tally: Tally, moment: float) -> list[float]:
    """Per visitor, seconds from `moment` to its first message handled after it."""
    firsts: dict[int, float] = {}
    for at, number in tally.acks_at:
        if at >= moment and number not in firsts:
            firsts[number] = at
    return sorted(at - moment for at in firsts.values())


def latency_summary(tally: Tally) -> str:
    if not tally.latencies:
        return "no messages"
    ordered = sorted(tally.latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {ordered[-1]:.1f} s"


# --- drills -----------------------------------------------------------------------------


def drill_kill_server(cluster: Cluster, seconds: float, report: list[str]) -> None:
    visitors = 20
    moments: dict[str, float] = {}

    def failure(_: Tally) -> None:
        time.sleep(seconds / 3)
        moments["kill"] = time.monotonic()
        cluster.kill("rasa1")

    tally = run_visitors(cluster, visitors, seconds, during=failure)
    verdict = verify(cluster, tally)
    recover = recovery_after(tally, moments["kill"], visitors)
    report += [
        "## Drill 1: kill -9 one of two Rasa servers while 20 visitors talk",
        f"- {tally.sent} visitor messages handled in {seconds:.0f} s over {verdict.conversations} conversations; "
        f"rasa1 killed at {seconds / 3:.0f} s",
        f"- lost: {verdict.lost}; handled twice: {verdict.duplicated}; replies sent twice to a tab: {tally.duplicate_seqs}",
        f"- errors seen by visitors: {tally.drops} dropped connections (reopened and resent), {tally.refused} refused "
        f"reconnects, {tally.notices} 'try again' notices; anything like a stack trace: {len(tally.bad_texts)}",
        f"- time to recover (kill until every visitor had a message handled again): {recover:.1f} s; "
        f"visitors back within 5 s: {sum(1 for w in recovery_waits(tally, moments['kill']) if w <= 5)} of {visitors} "
        "(a conversation whose turn died with the server waits for its lock ticket to expire, TICKET_LOCK_LIFETIME)",
        f"- latency: {latency_summary(tally)}",
        "",
    ]
    print("\n".join(report[-8:]), flush=True)
    cluster.start("rasa1")
    cluster.wait_server(1)


def rest_probe(cluster: Cluster, stop: threading.Event, codes: dict[str, int], bad: list[str]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        try:
            response = requests.post(f"{cluster.settings.rasa_url}/webhooks/rest/webhook",
                                     json={"sender": f"probe-{n % 5}", "message": "hi"}, timeout=70)
            key = str(response.status_code)
            if any(sign in response.text for sign in BAD_SIGNS[:3]):
                bad.append(response.text[:200])
        except requests.RequestException as error:
            key = error.__class__.__name__
        codes[key] = codes.get(key, 0) + 1
        stop.wait(0.2)


def drill_restart_services(cluster: Cluster, services: PrivateServices, seconds: float, report: list[str]) -> None:
    visitors = 20
    moments: dict[str, float] = {}
    codes: dict[str, int] = {}
    bad_rest: list[str] = []

    def failure(_: Tally) -> None:
        stop = threading.Event()
        probe = threading.Thread(target=rest_probe, args=(cluster, stop, codes, bad_rest))
        probe.start()
        time.sleep(seconds / 4)
        moments["redis"] = time.monotonic()
        services.stop_redis()
        time.sleep(1.0)
        services.start_redis()
        moments["redis up"] = time.monotonic()
        time.sleep(seconds / 4)
        moments["postgres"] = time.monotonic()
        services.pg_ctl("-m", "fast", "restart")
        moments["postgres up"] = time.monotonic()
        time.sleep(seconds / 4)
        stop.set()
        probe.join()

    tally = run_visitors(cluster, visitors, seconds, during=failure)
    verdict = verify(cluster, tally)
    report += [
        "## Drill 2: restart Redis, then PostgreSQL, under load (20 visitors + a REST probe)",
        f"- {tally.sent} visitor messages handled in {seconds:.0f} s; Redis down "
        f"{moments['redis up'] - moments['redis']:.1f} s, PostgreSQL restart took {moments['postgres up'] - moments['postgres']:.1f} s",
        f"- lost: {verdict.lost}; handled twice: {verdict.duplicated}; replies sent twice to a tab: {tally.duplicate_seqs}",
        f"- visitors saw: {tally.notices} calm notices ({' | '.join(sorted(tally.notice_texts)) or 'none'}), "
        f"{tally.drops} dropped connections, {tally.refused} refused reconnects; stack traces or 500s: {len(tally.bad_texts)}",
        f"- REST probe status codes: {dict(sorted(codes.items()))}; bodies like a stack trace: {len(bad_rest)}",
        f"- recovered after Redis: {recovery_after(tally, moments['redis up'], visitors):.1f} s, "
        f"after PostgreSQL: {recovery_after(tally, moments['postgres up'], visitors):.1f} s (every visitor handled again)",
        f"- latency: {latency_summary(tally)}",
        "",
    ]
    print("\n".join(report[-8:]), flush=True)


def rss_mb(pid: int) -> float:
    import psutil

    try:
        process = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20
    except psutil.Error:
        return 0.0


def drill_soak(cluster: Cluster, minutes: float, report: list[str]) -> None:
    visitors, seconds = 50, minutes * 60
    warm_up = max(60.0, seconds * 0.2)
    names = [n for n in cluster.by_name if n.startswith(("rasa", "actions"))]
    samples: dict[str, list[tuple[float, float]]] = {n: [] for n in names}

    def sample(_: Tally) -> None:
        start = time.monotonic()
        while time.monotonic() - start < seconds - 5:
            for name in names:
                samples[name].append((time.monotonic() - start, rss_mb(cluster.by_name[name].pid)))
            time.sleep(10)

    tally = run_visitors(cluster, visitors, seconds, think=(1.0, 3.0), during=sample)
    verdict = verify(cluster, tally)
    growth = []
    for name in names:
        after_warm = [mb for at, mb in samples[name] if at >= warm_up]
        if len(after_warm) >= 2:
            growth.append(f"{name} {after_warm[0]:.0f} -> {after_warm[-1]:.0f} MB "
                          f"({(after_warm[-1] - after_warm[0]) / after_warm[0] * 100:+.1f} %)")
    errors = tally.errors_seen() + verdict.lost + verdict.duplicated + len(tally.bad_texts)
    report += [
        f"## Drill 4: soak, 50 visitors for {minutes:g} minutes (think time 1-3 s)",
        f"- {tally.sent} visitor messages handled ({tally.sent / seconds:.1f}/s) over {verdict.conversations} conversations",
        f"- errors: {errors} (lost {verdict.lost}, handled twice {verdict.duplicated}, notices {tally.notices}, "
        f"drops {tally.drops}, refused {tally.refused}, bad texts {len(tally.bad_texts)})",
        f"- resident memory after the {warm_up:.0f} s warm-up to the end: {'; '.join(growth) or 'not enough samples'}",
        f"- latency: {latency_summary(tally)}",
        "",
    ]
    print("\n".join(report[-7:]), flush=True)


@dataclass
class Receiver:
    port: int
    requests: int = 0
    by_key: dict[str, int] = field(default_factory=dict)
    server: Optional[ThreadingHTTPServer] = None

    def up(self) -> None:
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key", "")
                state.requests += 1
                state.by_key[key] = state.by_key.get(key, 0) + 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def drill_outbox(outage_minutes: float, report: list[str], leads: int = 1000, kill_every: float = 3.0) -> None:
    from sqlalchemy import create_engine, func, select, text

    from bot.db import dispose_engines, session_scope, upgrade_schema
    from bot.handoff.brief import Contact, LeadBrief
    from bot.handoff.leads import Announcement, create_lead
    from bot.handoff.notifiers import IDEMPOTENCY_HEADER
    from bot.models import OutboxNotification
    from bot.settings import load_settings

    assert IDEMPOTENCY_HEADER == "Idempotency-Key", IDEMPOTENCY_HEADER
    admin_url = load_settings(home=PROJECT_HOME).test_postgres_url
    name = f"lantern_drill_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = admin.url.set(database=name).render_as_string(hide_password=False)
    receiver = Receiver(free_port())
    env = {**os.environ, "LANTERN_HOME": str(PROJECT_HOME), "LANTERN_DB_URL": db_url,
           "LANTERN_CRM_WEBHOOK_URL": f"http://127.0.0.1:{receiver.port}/hook", "LANTERN_CRM_WEBHOOK_SECRET": "drill",
           "LANTERN_OUTBOX_RETRY_CAP_SECONDS": "20", "LANTERN_OUTBOX_MAX_ATTEMPTS": "1000",
           "LANTERN_OUTBOX_MAX_AGE_SECONDS": "86400"}
    worker: Optional[subprocess.Popen] = None
    try:
        upgrade_schema(db_url)
        settings = load_settings(environ=env, home=PROJECT_HOME)
        announcement = Announcement.from_settings(settings)
        contact = Contact("Drill Visitor", "drill@example.test", "Drill Ltd", "email")
        brief = LeadBrief("a drill", None, None, None, [], "can i get a quote")
        for n in range(leads):
            create_lead(db_url, announcement, f"drill-{n}", "rest", contact, brief, "clear")
        kills = 0
        stop_at_outage = time.monotonic() + outage_minutes * 60

        def pending() -> int:
            with session_scope(db_url) as session:
                return int(session.scalar(select(func.count()).select_from(OutboxNotification)
                                          .where(OutboxNotification.status != "delivered")) or 0)

        def cycle_worker() -> None:
            nonlocal worker, kills
            if worker is not None:
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait()
                kills += 1
            worker = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", "--poll", "0.2"], cwd=PROJECT_HOME,
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        while time.monotonic() < stop_at_outage:  # receiver down, worker killed every few seconds
            cycle_worker()
            time.sleep(kill_every)
        receiver.up()
        recovered = time.monotonic()
        drain_deadline = recovered + 900
        while pending() and time.monotonic() < drain_deadline:
            cycle_worker()
            time.sleep(kill_every)
        drained = time.monotonic() - recovered
        left = pending()
        with session_scope(db_url) as session:
            keys = set(session.execute(select(OutboxNotification.idempotency_key)).scalars())
            failed = int(session.scalar(select(func.count()).select_from(OutboxNotification)
                                        .where(OutboxNotification.status == "failed")) or 0)
        delivered_keys = set(receiver.by_key)
        report += [
            f"## Drill 3: CRM receiver down {outage_minutes:g} min, worker killed -9 every {kill_every:g} s, {leads} leads",
            f"- worker killed {kills} times; retry cap 20 s (LANTERN_OUTBOX_RETRY_CAP_SECONDS), attempts unlimited for the drill",
            f"- after the receiver came back: every notification delivered in {drained:.1f} s; still pending: {left}; failed: {failed}",
            f"- idempotency keys: {len(keys)} in the outbox, {len(delivered_keys & keys)} reached the receiver, "
            f"{len(keys - delivered_keys)} never did; requests {receiver.requests}, "
            f"keys sent more than once {sum(1 for c in receiver.by_key.values() if c > 1)} "
            f"(a kill between sending and recording; the receiver dedupes by key)",
            "",
        ]
        print("\n".join(report[-5:]), flush=True)
    finally:
        if worker is not None and worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        receiver.down()
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="1,2,3,4", help="comma list of drill numbers")
    parser.add_argument("--quick", action="store_true", help="short drills: a smoke check, not the figures")
    parser.add_argument("--soak-minutes", type=float, default=None, help="drill 4's length (default 30; --quick 2)")
    parser.add_argument("--outage-minutes", type=float, default=None, help="drill 3's outage (default 10; --quick 1)")
    parser.add_argument("--out", type=Path, default=PROJECT_HOME / "bench" / "results" / "drills.md")
    args = parser.parse_args(argv)
    only = {int(n) for n in args.only.split(",") if n.strip()}
    drill_seconds = 45.0 if args.quick else 90.0
    soak = args.soak_minutes if args.soak_minutes is not None else (2.0 if args.quick else 30.0)
    outage = args.outage_minutes if args.outage_minutes is not None else (1.0 if args.quick else 10.0)
    from bot.rasa_integration.training import train_if_changed
    from bot.settings import load_settings

    train_if_changed(load_settings(home=PROJECT_HOME))
    report = [f"# Drills {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC ({os.cpu_count()} cores)", ""]
    if only & {1, 2, 4}:
        with private_services() as services, tempfile.TemporaryDirectory() as tmp, running_cluster(
            Path(tmp), services.db_url, services.redis_url, servers=2, extra_env={"LANTERN_DEMO_PORT": str(free_port())}
        ) as cluster:
            print(f"cluster up: nginx {cluster.settings.rasa_url}, Rasa servers {cluster.layout.rasa_ports if cluster.layout else ''}", flush=True)
            if 1 in only:
                drill_kill_server(cluster, drill_seconds, report)
            if 2 in only:
                drill_restart_services(cluster, services, drill_seconds, report)
            if 4 in only:
                drill_soak(cluster, soak, report)
    if 3 in only:
        drill_outbox(outage, report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
