"""`adaem view`: serve the reports of a directory of runs on localhost (127.0.0.1 only).

The index lists every run directory below the root; a run's report is built when first asked for and rebuilt
when the run's files change (so a run still in progress shows its latest state on reload).
"""

from __future__ import annotations

import html
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from ..errors import AdaemError, ConfigError
from ..store import read_sessions
from .collect import collect_run, is_run_dir
from .render import render_report

HOST = "127.0.0.1"


def find_runs(root: Path, depth: int = 3) -> list[Path]:
    """Run directories at or below root (a run's own subfolders are not searched)."""
    root = Path(root)
    if is_run_dir(root):
        return [root]
    found: list[Path] = []
    if depth <= 0:
        return found
    for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found += find_runs(child, depth - 1)
    return found


def _stamp(run: Path) -> float:
    files = [run / "state.sqlite", run / "state.sqlite-wal", *run.glob("*.json"), *run.glob("outputs/*.jsonl")]
    return max((f.stat().st_mtime for f in files if f.exists()), default=0.0)


class Viewer:
    def __init__(self, root: Path, similarity: bool = False):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ConfigError(f"{root} is not a directory")
        self.similarity = similarity
        self._cache: dict[Path, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def runs(self) -> list[Path]:
        return find_runs(self.root)

    def index(self) -> bytes:
        rows = []
        for run in self.runs():
            rel = run.relative_to(self.root).as_posix() or "."
            sessions = read_sessions(run)
            kind = sessions[0]["job"] if sessions else "?"
            status = "finished" if sessions and sessions[-1]["status"] == "finished" else "partial"
            rows.append(f'<li><a href="/run/{html.escape(rel, quote=True)}">{html.escape(rel)}</a> '
                        f'<small>{html.escape(kind)} · {status} · {len(sessions)} session(s)</small></li>')
        body = "".join(rows) or "<li>no runs here yet</li>"
        return (f"<!doctype html><meta charset=utf-8><title>adaem runs</title>"
                f"<style>body{{font:15px system-ui;margin:32px}}li{{margin:6px 0}}</style>"
                f"<h1>adaem runs in {html.escape(str(self.root))}</h1><ul>{body}</ul>").encode()

    def report(self, rel: str) -> bytes:
        run = (self.root / rel).resolve()
        if self.root not in (run, *run.parents) or not is_run_dir(run):
            raise ConfigError(f"no run at {rel}")
        stamp = _stamp(run)
        with self._lock:
            cached = self._cache.get(run)
            if cached and cached[0] == stamp:
                return cached[1]
            page = render_report([collect_run(run, similarity=self.similarity)], f"adaem report: {rel}").encode()
            self._cache[run] = (stamp, page)
            return page


def make_server(root: Path, port: int = 8765, similarity: bool = False) -> ThreadingHTTPServer:
    viewer = Viewer(root, similarity)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = unquote(self.path.split("?", 1)[0])
            try:
                if path in ("/", "/index.html"):
                    self._send(HTTPStatus.OK, viewer.index())
                elif path.startswith("/run/"):
                    self._send(HTTPStatus.OK, viewer.report(path[len("/run/"):].strip("/")))
                else:
                    self._send(HTTPStatus.NOT_FOUND, b"not found")
            except ConfigError as exc:
                self._send(HTTPStatus.NOT_FOUND, html.escape(str(exc)).encode())
            except AdaemError as exc:
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, html.escape(str(exc)).encode())

        def _send(self, status: HTTPStatus, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet: the CLI prints the address once
            return

    return ThreadingHTTPServer((HOST, port), Handler)
