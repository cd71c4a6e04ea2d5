"""Start the real action server and Rasa server (and the delivery worker) on free ports,
with their own databases, and stop them: used by the end-to-end tests and `make eval-intent`."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import requests

from bot.settings import Settings, load_settings

PROJECT_HOME = Path(__file__).resolve().parents[2]


# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for port 0 can be taken,
# before the server binds it, as the local end of any outgoing connection (to PostgreSQL, Redis ...).
_PORTS = range(20000, 32000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, not handed out before by this process."""
    for _ in range(200):
        port = random.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {_PORTS.start}-{_PORTS.stop - 1}")


@dataclass
class Stack:
    settings: Settings
    log_dir: Path
    pids: dict[str, int] = field(default_factory=dict)  # server name -> process id
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def restart_rasa(self) -> None:
        """Stop the Rasa server (SIGTERM, as a deploy would) and start it again on the same port."""
        old = next(p for p in self.processes if p.pid == self.pids["rasa server"])
        _stop(old)
        self.processes.remove(old)
        new = _start("rasa", self.env, self.log_dir, append=True)
        self.processes.append(new)
        self.pids["rasa server"] = new.pid
        _wait_healthy(self, self.processes)

    @property
    def webhook(self) -> str:
        return f"{self.settings.rasa_url}/webhooks/rest/webhook"

    def say(self, sender: str, message: str) -> list[dict]:
        response = requests.post(self.webhook, json={"sender": sender, "message": message}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def texts(self, sender: str, message: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(sender, message))

    def tracker(self, sender: str) -> dict:
        response = requests.get(
            f"{self.settings.rasa_url}/conversations/{sender}/tracker",
            params={"token": self.settings.api_token},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.log_dir.glob("*.log")))


def _start(name: str, env: dict[str, str], log_dir: Path, append: bool = False) -> subprocess.Popen:
    return _start_command(name, [sys.executable, "-m", "bot.cli", "serve", name], env, log_dir, append)


def _start_command(name: str, argv: list[str], env: dict[str, str], log_dir: Path, append: bool = False) -> subprocess.Popen:
    log = (log_dir / f"{name}.log").open("a" if append else "w")
    return subprocess.Popen(
        argv,
        cwd=PROJECT_HOME,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def running_stack(
    tmp_dir: Path,
    db_url: Optional[str] = None,
    tracker_db_url: Optional[str] = None,
    extra_env: Optional[dict[str, str]] = None,
    with_worker: bool = False,
) -> Iterator[Stack]:
    """Index the default knowledge base into `db_url`, then run both servers against it."""
    from bot.db import upgrade_schema
    from bot.knowledge.index_store import write_index

    db_url = db_url or f"sqlite:///{tmp_dir / 'lantern.db'}"
    tracker_db_url = tracker_db_url or f"sqlite:///{tmp_dir / 'tracker.db'}"
    env = {
        **os.environ,
        "LANTERN_HOME": str(PROJECT_HOME),
        "LANTERN_DB_URL": db_url,
        "LANTERN_TRACKER_DB_URL": tracker_db_url,
        "LANTERN_RASA_PORT": str(free_port()),
        "LANTERN_ACTION_PORT": str(free_port()),
        "LANTERN_API_TOKEN": "test-token",
        "LANTERN_MAX_MESSAGE_CHARS": "2000",
        # Tests and benchmarks send far faster than a visitor; tests of the limits set their own.
        "LANTERN_RATE_PER_CLIENT": "1000000",
        "LANTERN_RATE_PER_CONVERSATION": "1000000",
        "LANTERN_MAX_TURNS_PER_SESSION": "1000000",
        "LANTERN_MAX_CONNECTIONS_PER_CLIENT": "10000",
        **(extra_env or {}),
    }
    settings = load_settings(environ=env, home=PROJECT_HOME)
    upgrade_schema(db_url)
    write_index(db_url, settings.kb_dir)
    log_dir = tmp_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = [_start("actions", env, log_dir), _start("rasa", env, log_dir)]
    stack = Stack(settings, log_dir, {"action server": processes[0].pid, "rasa server": processes[1].pid}, env, processes)
    try:
        _wait_healthy(stack, processes)
        if with_worker:
            processes.append(_start_command("worker", [sys.executable, "-m", "bot.cli", "worker", "--poll", "0.2"], env, log_dir))
            stack.pids["worker"] = processes[-1].pid
        yield stack
    finally:
        for process in processes:
            _stop(process)


def _wait_healthy(stack: Stack, processes: list[subprocess.Popen], timeout: float = 180) -> None:
    from bot.rasa_integration.servers import servers_healthy

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a server exited during start-up:\n{stack.logs()}")
        if servers_healthy(stack.settings):
            return
        time.sleep(1)
    raise TimeoutError(f"servers not healthy within {timeout} s:\n{stack.logs()}")
