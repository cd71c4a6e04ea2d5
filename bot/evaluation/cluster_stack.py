"""Start the cluster layout (bot/cluster.py) on free ports: nginx, several Rasa servers, action
servers and optionally the delivery worker, on a PostgreSQL database and Redis. Used by the
cluster tests, `make drills` and `make bench ARGS=--cluster`; each process can be killed and
started again on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import requests

from bot.cluster import Layout, nginx_command, nginx_config
from bot.evaluation.stack import PROJECT_HOME, Stack, _start_command, _stop, free_port
from bot.settings import load_settings


@dataclass
class Cluster(Stack):
    layout: Optional[Layout] = None
    env: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)

    def server_url(self, number: int) -> str:
        """Rasa server `number` (1-based) directly, bypassing nginx."""
        assert self.layout is not None
        return f"http://127.0.0.1:{self.layout.rasa_ports[number - 1]}"

    def say_to(self, number: int, sender: str, message: str) -> list[dict]:
        response = requests.post(
            f"{self.server_url(number)}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=60
        )
        assert response.status_code == 200, response.text
        return response.json()

    def kill(self, name: str) -> None:
        """SIGKILL one process (`rasa1`, `actions1`, `worker`, `nginx`)."""
        process = self.by_name[name]
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()

    def start(self, name: str) -> None:
        argv, env = self.commands[name]
        self.by_name[name] = _start_command(name, argv, env, self.log_dir)
        self.pids[name] = self.by_name[name].pid

    def wait_server(self, number: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status = requests.get(f"{self.server_url(number)}/status", params={"token": self.settings.api_token}, timeout=2)
                if status.ok and status.json().get("model_file"):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"rasa{number} not healthy within {timeout} s:\n{self.logs()}")


@contextmanager
def running_cluster(
    tmp_dir: Path,
    db_url: str,
    redis_url: str,
    servers: int = 2,
    action_servers: int = 1,
    extra_env: Optional[dict[str, str]] = None,
    with_worker: bool = False,
) -> Iterator[Cluster]:
    """Index the knowledge base into `db_url` (also the tracker store), then run the layout."""
    from bot.db import upgrade_schema
    from bot.knowledge.index_store import write_index

    layout = Layout(
        rasa_port=free_port(),
        action_port=free_port(),
        rasa_ports=tuple(free_port() for _ in range(servers)),
        action_ports=tuple(free_port() for _ in range(action_servers)),
    )
    env = {
        **os.environ,
        "LANTERN_HOME": str(PROJECT_HOME),
        "LANTERN_DB_URL": db_url,
        "LANTERN_TRACKER_DB_URL": db_url,
        "LANTERN_REDIS_URL": redis_url,
        "LANTERN_RASA_PORT": str(layout.rasa_port),
        "LANTERN_ACTION_PORT": str(layout.action_port),
        "LANTERN_API_TOKEN": "test-token",
        **(extra_env or {}),
    }
    settings = load_settings(environ=env, home=PROJECT_HOME)
    upgrade_schema(db_url)
    write_index(db_url, settings.kb_dir)
    log_dir = tmp_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    nginx_dir = tmp_dir / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (nginx_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    config = nginx_dir / "nginx.conf"
    config.write_text(nginx_config(layout, nginx_dir), encoding="utf-8")
    cli = [sys.executable, "-m", "bot.cli"]
    commands: dict[str, tuple[list[str], dict[str, str]]] = {"nginx": (nginx_command(config), env)}
    for number, port in enumerate(layout.action_ports, start=1):
        commands[f"actions{number}"] = ([*cli, "serve", "actions"], {**env, "LANTERN_ACTION_PORT": str(port)})
    for number, port in enumerate(layout.rasa_ports, start=1):
        commands[f"rasa{number}"] = ([*cli, "serve", "rasa"], {**env, "LANTERN_RASA_PORT": str(port)})
    if with_worker:
        commands["worker"] = ([*cli, "worker", "--poll", "0.2"], env)
    cluster = Cluster(settings, log_dir, layout=layout, env=env, commands=commands)
    try:
        for name in commands:
            if name != "worker":
                cluster.start(name)
        for number in range(1, servers + 1):
            cluster.wait_server(number)
        _wait_through_nginx(cluster)
        if with_worker:
            cluster.start("worker")
        yield cluster
    finally:
        for process in cluster.by_name.values():
            _stop(process)


def _wait_through_nginx(cluster: Cluster, timeout: float = 120) -> None:
    from bot.rasa_integration.servers import servers_healthy

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [name for name, p in cluster.by_name.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited during start-up:\n{cluster.logs()}")
        if servers_healthy(cluster.settings):
            return
        time.sleep(0.5)
    raise TimeoutError(f"cluster not healthy through nginx within {timeout} s:\n{cluster.logs()}")
