"""A local HTTP server with the model hub's URL layout (``/{repo}/resolve/{revision}/{file}``):
HEAD answers with the headers huggingface_hub reads (X-Repo-Commit, ETag, Content-Length), GET
honours Range (206) so a resumed download can be seen, and ``cut`` GETs can be cut short to
simulate an interrupted download; ``announce`` makes HEAD lie about the size and ``redirect`` sends
every GET elsewhere (a hostile mirror). Tests point ``HF_ENDPOINT`` at it; the real hub is never used."""
from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HubServer:
    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)          # "repo/resolve/main/file" -> bytes
        self.requests: list[tuple[str, str, str | None]] = []
        self.cut = 0                      # how many full GETs to cut short
        self.cut_at = 0
        self.announce: int | None = None  # a Content-Length for HEAD that is not the body's (a lying hub)
        self.redirect: str | None = None  # GET answers 302 to this Location (e.g. file:///etc/passwd)
        self.etag: str | None = None      # an ETag that is not the body's sha256 (e.g. 64 zeros)
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def _lookup(self):
                return srv.files.get(self.path.split("?")[0].lstrip("/"))

            def _head(self, body: bytes, length: int, status: int = 200, extra: dict | None = None):
                self.send_response(status)
                self.send_header("X-Repo-Commit", hashlib.sha1(body).hexdigest())
                self.send_header("ETag", '"' + (srv.etag or hashlib.sha256(body).hexdigest()) + '"')
                self.send_header("Content-Length", str(length))
                self.send_header("Accept-Ranges", "bytes")
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()

            def do_HEAD(self):
                srv.requests.append(("HEAD", self.path, None))
                body = self._lookup()
                if body is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._head(body, srv.announce if srv.announce is not None else len(body))

            def do_GET(self):
                rng = self.headers.get("Range")
                srv.requests.append(("GET", self.path, rng))
                body = self._lookup()
                if body is None:
                    self.send_error(404)
                    return
                if srv.redirect:
                    self.send_response(302)
                    self.send_header("Location", srv.redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
                if m:
                    start = int(m.group(1))
                    part = body[start:]
                    self._head(body, len(part), 206, {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"})
                    self.wfile.write(part)
                    return
                if srv.cut > 0:
                    srv.cut -= 1
                    self._head(body, len(body))
                    self.wfile.write(body[:srv.cut_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._head(body, len(body))
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "HubServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
