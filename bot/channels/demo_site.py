"""A small static server for the demo site of the fictional agency, with the widget on it.

The pages live in web/demo/. `{{RASA_URL}}` in a page becomes the Rasa server's URL,
so the page embeds the widget exactly as a customer's site would: one <script> tag
pointing at the Rasa server, from another origin.
"""

from __future__ import annotations

import logging
import mimetypes
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bot.settings import Settings

logger = logging.getLogger(__name__)

DEMO_DIR = "web/demo"


class DemoPageHandler(BaseHTTPRequestHandler):
    """Serves files from one folder, never outside it; pages get the Rasa URL filled in."""

    server_version = "LanternDemo"

    def __init__(self, *args: object, root: Path, rasa_url: str, **kwargs: object) -> None:
        self.root = root
        self.rasa_url = rasa_url
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:  # the name http.server dispatches to
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path.endswith("/"):
            path += "index.html"
        file = (self.root / path.lstrip("/")).resolve()
        if self.root not in file.parents or not file.is_file():
            self.send_error(HTTPStatus.NOT_FOUND, "no such page")
            return
        body = file.read_bytes()
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type == "text/html":
            body = body.replace(b"{{RASA_URL}}", self.rasa_url.encode())
            content_type += "; charset=utf-8"
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # http.server's name
        logger.debug("demo site: " + format, *args)


def make_demo_server(settings: Settings) -> ThreadingHTTPServer:
    root = (settings.home / DEMO_DIR).resolve()
    handler = partial(DemoPageHandler, root=root, rasa_url=settings.rasa_url)
    return ThreadingHTTPServer((settings.demo_host, settings.demo_port), handler)
