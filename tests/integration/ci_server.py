"""A local HTTP server replaying CI API answers, for the GitHub and GitLab client tests.

Routes map a path to a list of answers served in turn (the last one repeats), so a test can say
"429 first, then the page". Every request is recorded with its query and headers, so a test can
check what was sent (a token where it belongs, none where it does not). Bound to 127.0.0.1 only.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass
class Answer:
    """One HTTP answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def as_json(document, status: int = 200, **headers: str) -> Answer:
    """A JSON answer."""
    return Answer(status, json.dumps(document).encode(), {"Content-Type": "application/json", **headers})


def fixture(vendor: str, name: str):
    """A vendor's published example body (tests/fixtures/<vendor>/<name>, see PROVENANCE.md there)."""
    return json.loads((FIXTURES / vendor / name).read_text())


def zip_of(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A zip holding `files`, plus symlink entries name -> target (as zip -y stores them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
    return buffer.getvalue()


@dataclass
class Seen:
    """A request the server received."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class CIServer:
    """A threaded HTTP server on 127.0.0.1 serving scripted answers."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Answer | Callable[[Seen], Answer]]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                seen = Seen(parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()})
                answer = server._answer(seen)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", answer.headers.get("Content-Length", str(len(answer.body))))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def route(self, path: str, *answers: Answer | Callable[[Seen], Answer]) -> None:
        """Serve `answers` in turn at `path` (the last one repeats)."""
        self.routes[path] = list(answers)

    def _answer(self, seen: Seen) -> Answer:
        with self._lock:
            self.seen.append(seen)
            queue = self.routes.get(seen.path)
            if not queue:
                return as_json({"message": "Not Found"}, 404)
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(seen) if callable(answer) else answer

    def requests_to(self, path: str) -> list[Seen]:
        """The requests received at `path`."""
        return [s for s in self.seen if s.path == path]

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()
