import http.client
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
