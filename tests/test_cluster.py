"""The cluster's generated files: nginx.conf accepted by the real nginx, the Procfile's processes."""

import subprocess
from pathlib import Path

from bot.cluster import Layout, check_cluster_settings, nginx_command, nginx_config, procfile, write_cluster_files
from bot.settings import load_settings
from tests.conftest import PROJECT_HOME

CLUSTER_ENV = {
    "LANTERN_DB_URL": "postgresql://postgres@127.0.0.1:5432/lantern",
    "LANTERN_REDIS_URL": "redis://127.0.0.1:6379/0",
    "LANTERN_RASA_SERVERS": "3",
    "LANTERN_ACTION_SERVERS": "2",
}


def test_the_layout_puts_nginx_on_the_public_ports_and_the_servers_after_them() -> None:
    layout = Layout.from_settings(load_settings(environ=CLUSTER_ENV, home=PROJECT_HOME))
    assert layout == Layout(5005, 5055, (5006, 5007, 5008), (5056, 5057))


def test_the_procfile_starts_every_server_on_its_port() -> None:
    lines = procfile(Layout(5005, 5055, (5006, 5007), (5056,))).splitlines()
    assert lines == [
        "nginx: lantern serve nginx",
        "rasa1: env LANTERN_RASA_PORT=5006 lantern serve rasa",
        "rasa2: env LANTERN_RASA_PORT=5007 lantern serve rasa",
        "actions1: env LANTERN_ACTION_PORT=5056 lantern serve actions",
        "worker: lantern worker",
        "ready: lantern wait-ready",
        "demo: lantern serve demo",
    ]


def test_the_nginx_config_is_valid_for_the_real_nginx(nginx_binary: str, tmp_path: Path) -> None:
    settings = load_settings(environ={**CLUSTER_ENV, "LANTERN_HOME": str(tmp_path)}, home=tmp_path)
    config, written_procfile = write_cluster_files(settings)
    assert config.parent == tmp_path / "var" / "cluster" and written_procfile.exists()
    text = config.read_text()
    assert text.count("server 127.0.0.1:") == 5 and "hash $lantern_route consistent" in text
    assert "proxy_set_header Upgrade $http_upgrade" in text and "max_fails=1" in text
    result = subprocess.run([*nginx_command(config), "-t"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_a_config_nginx_refuses_would_be_caught(nginx_binary: str, tmp_path: Path) -> None:
    config = tmp_path / "nginx.conf"
    config.write_text(nginx_config(Layout(5005, 5055, (), ()), tmp_path))  # an upstream with no server
    result = subprocess.run([*nginx_command(config), "-t"], capture_output=True, text=True)
    assert result.returncode != 0 and "no servers are inside upstream" in result.stderr


def test_the_cluster_refuses_sqlite_and_a_missing_redis() -> None:
    problems = check_cluster_settings(load_settings(environ={}, home=PROJECT_HOME))
    assert any("LANTERN_REDIS_URL" in p for p in problems)
    assert any("PostgreSQL" in p for p in problems)
    assert not [p for p in check_cluster_settings(load_settings(environ=CLUSTER_ENV, home=PROJECT_HOME)) if "nginx" not in p]
