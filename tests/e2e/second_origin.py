"""A website on another origin than leadflow's: a real HTTP server on 127.0.0.1, its own port.

The live server answers on `localhost`, so pages served here are cross-origin and cross-site for
the browser: the snippet and Segment's library run as they would on a customer's website.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

THANKS = "<!doctype html><title>Thanks</title><h1>Thanks, the site got your form</h1>"


class OtherSite:
    def __init__(self, url: str) -> None:
        self.url = url
        self.pages: dict[str, str] = {}
        # The forms this site received itself: (path, fields), proof the form still submits.
        self.posts: list[tuple[str, dict[str, list[str]]]] = []


def _handler(site: OtherSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            html = site.pages.get(urlsplit(self.path).path)
            self._answer(200 if html else 404, html or "<!doctype html><h1>Not found</h1>")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            fields = parse_qs(self.rfile.read(length).decode())
            path = urlsplit(self.path).path
            site.posts.append((path, fields))
            self._answer(200, site.pages.get(path, THANKS))

        def _answer(self, status: int, html: str) -> None:
            body = html.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def other_site() -> Iterator[OtherSite]:
    site = OtherSite("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
