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

from bot.security.headers import security_headers
from bot.settings import Settings

logger = logging.getLogger(__name__)

DEMO_DIR = "web/demo"
MAX_PATH_CHARS = 1024


class DemoPageHandler(BaseHTTPRequestHandler):
    """Serves files from one folder, never outside it; pages get the Rasa URL filled in."""

    server_version = "LanternDemo"

    def __init__(self, *args: object, root: Path, rasa_url: str, **kwargs: object) -> None:
        self.root = root
        self.rasa_url = rasa_url
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def end_headers(self) -> None:
        # On every response, error pages included.
        for name, value in security_headers(connect_to=self.rasa_url).items():
            self.send_header(name, value)
        super().end_headers()

    def do_GET(self) -> None:  # the name http.server dispatches to
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if len(path) > MAX_PATH_CHARS:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG, "path too long")
            return
        if "\x00" in path or "%00" in path:
            self.send_error(HTTPStatus.BAD_REQUEST, "bad path")
            return
        if path.endswith("/"):
            path += "index.html"
        try:
            file = (self.root / path.lstrip("/")).resolve()
            found = self.root in file.parents and file.is_file()
        except (OSError, ValueError):  # a name the file system refuses
            found = False
        if not found:
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
