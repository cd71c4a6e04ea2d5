import http.client
import socket
from dataclasses import replace
from typing import Iterator

import pytest
import requests

from bot.channels.demo_site import make_demo_server
from bot.evaluation.stack import free_port
from bot.settings import Settings
from tests.loopback import serving


@pytest.fixture
def demo(project_settings: Settings) -> Iterator[str]:
    settings = replace(project_settings, demo_port=free_port(), rasa_port=5999)
    with serving(make_demo_server(settings)) as url:
        yield url


def test_pages_embed_the_widget_from_the_configured_rasa_server(demo: str) -> None:
    page = requests.get(demo + "/", timeout=5)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="http://127.0.0.1:5999/webhooks/widget/lantern.js"' in page.text
    assert "{{RASA_URL}}" not in page.text
    assert requests.get(demo + "/style.css", timeout=5).headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("path", ["/../../bot/settings.py", "/../widget/lantern.js", "/%2e%2e/bot/settings.py", "/missing.html", "/../../etc/passwd"])
def test_nothing_outside_the_demo_folder_is_served(demo: str, path: str) -> None:
    # http.client sends the path as written (requests would tidy the dot segments away).
    connection = http.client.HTTPConnection(demo.removeprefix("http://"), timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 404
    assert b"dataclass" not in response.read()  # bot/settings.py
    connection.close()


def _get(demo: str, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(demo.removeprefix("http://"), timeout=5)
    connection.request("GET", path)
    return connection.getresponse()


def _raw_status(demo: str, path: bytes) -> int:
    host, port = demo.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = conn.recv(200)
    assert answer, "the connection was dropped without an answer"
    return int(answer.split()[1])


@pytest.mark.parametrize("path", ["/index.html", "/style.css", "/missing.html"])
def test_every_response_carries_the_security_headers(demo: str, path: str) -> None:
    response = _get(demo, path)
    policy = response.getheader("Content-Security-Policy") or ""
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self' http://127.0.0.1:5999" in policy  # the widget, and nothing else
    assert "connect-src 'self' http://127.0.0.1:5999 ws://127.0.0.1:5999" in policy
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Referrer-Policy") == "no-referrer"


@pytest.mark.parametrize("path, status", [(b"/a\x00b.html", 400), (b"/%00.html", 400), (b"/" + b"a" * 10_000, 414),
                                          (b"/" + b"a/" * 200 + b"b" * 300, 404)])
def test_nul_bytes_and_long_paths_get_an_answer_instead_of_a_dropped_connection(demo: str, path: bytes, status: int) -> None:
    assert _raw_status(demo, path) == status
    assert requests.get(demo + "/", timeout=5).status_code == 200
