"""`adaem annotate serve`: the rating pages of a study (aiohttp), for several raters at once.

    /r/TOKEN                  the rating page of the rater with that token (403 for any other)
    /api/r/TOKEN              that rater's items in their order and their own ratings (never a set, a pair, a
                              check's expected answer, or another rater's rating), the instructions, the metrics with
                              their examples, the practice items, and a version of the rater's ratings
    /api/r/TOKEN/rating       POST {"item", "metric", "value", "expected"?}: stored and committed before the
                              answer; with "expected" (what the page shows as stored) a rating changed meanwhile by
                              another page of the same rater is a 409 carrying the stored value, which wins
    /api/r/TOKEN/version      the version alone: a page polls it to pick up what its rater's other pages did
    /api/r/TOKEN/time         POST {"item", "seconds"}: time the page showed an item, added to the rater's total
    /admin/TOKEN              progress per rater and the raters' links (the study's admin token only)
    /api/admin/TOKEN          the same as JSON; /admin/TOKEN/ratings.csv: the export

Pages are static files (assets/) whose scripts put every text into the page with textContent; a strict
Content-Security-Policy allows no inline script and no other origin. Listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from .markdown import markdown_tree
from .ratings_csv import export_csv
from .study import Rater, RatingConflict, RatingError, Study

HOST = "127.0.0.1"
ASSETS = {"rate.js": "text/javascript", "rate.css": "text/css", "admin.js": "text/javascript"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token in the path never leaves in a Referer header
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
STUDY: web.AppKey[Study] = web.AppKey("study", Study)


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("assets", name).read_bytes()


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def _headers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # 404 / 405 / 413 from aiohttp itself: a short text, the same headers
        response = web.Response(status=exc.status, text=f"{exc.status} {exc.reason}\n")
    response.headers.update(HEADERS)
    return response


def _rater(request: web.Request) -> Rater | None:
    return request.app[STUDY].rater_by_token(request.match_info["token"])


def _forbidden(api: bool) -> web.Response:
    message = "this link is not valid: ask the study's owner for yours"
    if api:
        return _error(403, message)
    return web.Response(status=403, text=f"403 Forbidden: {message}\n")


def _page(name: str) -> web.Response:
    return web.Response(body=_asset(name), content_type="text/html", charset="utf-8")


async def index(request: web.Request) -> web.Response:
    return _page("index.html")


async def favicon(request: web.Request) -> web.Response:
    return web.Response(status=204)  # browsers ask on every page; no icon, and no 404 in their console


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        return web.Response(status=404, text="404 Not Found\n")
    return web.Response(body=_asset(name), content_type=ASSETS[name], charset="utf-8")


async def rate_page(request: web.Request) -> web.Response:
    return _page("rate.html") if _rater(request) else _forbidden(api=False)


def _page_metrics(study: Study) -> list[dict[str, Any]]:
    labels = study.metrics.scale.labels
    return [{"key": m.key, "name": m.name, "definition": m.definition,
             "examples": [{"point": k, "label": labels.get(k, ""), "text": markdown_tree(v, 3)}
                          for k, v in m.examples.items()]} for m in study.metrics.metrics]


async def rater_state(request: web.Request) -> web.Response:
    rater = _rater(request)
    if rater is None:
        return _forbidden(api=True)
    study = request.app[STUDY]
    done, total = study.rated(rater.id)
    scale = study.metrics.as_data()["scale"]
    return web.json_response({"rater": rater.name, "scale": scale, "metrics": _page_metrics(study),
                              "instructions": markdown_tree(study.design.instructions),
                              "practice": study.practice_items(rater.id), "items": study.rater_items(rater.id),
                              "done": done, "total": total, "version": study.version(rater.id)})


async def rater_version(request: web.Request) -> web.Response:
    rater = _rater(request)
    if rater is None:
        return _forbidden(api=True)
    return web.json_response({"version": request.app[STUDY].version(rater.id)})


def _same_origin(request: web.Request) -> bool:
    """A browser's POST from another site carries its Origin: refused, whatever the token."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


async def _body(request: web.Request, required: set[str], optional: set[str]) -> dict[str, Any] | web.Response:
    """The JSON body of a rater's POST, or the error response to send instead."""
    if not _same_origin(request):
        return _error(403, "a rating can only be sent from the rating page itself")
    if request.content_type != "application/json":
        return _error(415, "send the rating as application/json")
    try:
        body: Any = json.loads(await request.text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "the body is not JSON")
    if not isinstance(body, dict) or not required <= set(body) <= required | optional:
        names = ", ".join(f'"{k}"' for k in sorted(required)) + "".join(f', "{k}"?' for k in sorted(optional))
        return _error(400, f"send exactly {{{names}}}")
    if not isinstance(body["item"], str) or len(body["item"]) > 64:
        return _error(400, "item and metric must be short texts")
    return body


async def save_rating(request: web.Request) -> web.Response:
    rater = _rater(request)
    if rater is None:
        return _forbidden(api=True)
    body = await _body(request, {"item", "metric", "value"}, {"expected"})
    if isinstance(body, web.Response):
        return body
    item, metric, value = body["item"], body["metric"], body["value"]
    if not isinstance(metric, str) or len(metric) > 64:
        return _error(400, "item and metric must be short texts")
    study = request.app[STUDY]
    try:
        if "expected" in body:
            prior, version = study.set_rating(rater.id, item, metric, value, expected=body["expected"])
        else:
            prior, version = study.set_rating(rater.id, item, metric, value)
    except RatingConflict as exc:
        return web.json_response({"error": str(exc), "conflict": True, "current": exc.current,
                                  "version": study.version(rater.id)}, status=409)
    except RatingError as exc:
        return _error(400, str(exc))
    done, total = study.rated(rater.id)
    return web.json_response({"saved": True, "done": done, "total": total, "prior": prior, "version": version})


async def save_time(request: web.Request) -> web.Response:
    rater = _rater(request)
    if rater is None:
        return _forbidden(api=True)
    body = await _body(request, {"item", "seconds"}, set())
    if isinstance(body, web.Response):
        return body
    try:
        request.app[STUDY].add_time(rater.id, body["item"], body["seconds"])
    except RatingError as exc:
        return _error(400, str(exc))
    return web.json_response({"saved": True})


def _admin(request: web.Request) -> bool:
    return request.app[STUDY].is_admin(request.match_info["token"])


async def admin_page(request: web.Request) -> web.Response:
    return _page("admin.html") if _admin(request) else _forbidden(api=False)


async def admin_state(request: web.Request) -> web.Response:
    if not _admin(request):
        return _forbidden(api=True)
    study = request.app[STUDY]
    links = {r.name: f"/r/{r.token}" for r in study.raters()}
    rows = [{**p, "link": links[p["rater"]] if p["source"] == "study" else None} for p in study.progress()]
    return web.json_response({"raters": rows, "metrics": study.metrics.keys(),
                              "items": len(study.items()), "generated": study.meta("generated_name"),
                              "baseline": study.meta("baseline_name"), "checks": len(study.design.checks),
                              "practice": len(study.design.practice), "plan_sha256": study.meta("plan_sha256")})


async def admin_export(request: web.Request) -> web.Response:
    if not _admin(request):
        return _forbidden(api=False)
    return web.Response(text=export_csv(request.app[STUDY]), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="ratings.csv"'})


def make_app(study: Study | Path | str) -> web.Application:
    """The aiohttp application of a study (an open Study, or its directory, opened here and closed on cleanup)."""
    app = web.Application(middlewares=[_headers], client_max_size=16 * 1024)
    own = not isinstance(study, Study)
    app[STUDY] = Study.open(study) if not isinstance(study, Study) else study
    if own:
        async def close(app: web.Application) -> None:
            app[STUDY].close()

        app.on_cleanup.append(close)
    app.add_routes([
        web.get("/", index),
        web.get("/favicon.ico", favicon),
        web.get("/assets/{name}", asset),
        web.get("/r/{token}", rate_page),
        web.get("/api/r/{token}", rater_state),
        web.post("/api/r/{token}/rating", save_rating),
        web.get("/api/r/{token}/version", rater_version),
        web.post("/api/r/{token}/time", save_time),
        web.get("/admin/{token}", admin_page),
        web.get("/api/admin/{token}", admin_state),
        web.get("/admin/{token}/ratings.csv", admin_export),
    ])
    return app


async def serve(study: Path | str, host: str = HOST, port: int = 8766,
                on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until cancelled; `on_ready(base_url)` once listening (port 0 picks a free one)."""
    app = make_app(study)
    runner = web.AppRunner(app, access_log=None)  # an access log would write every rater's token to the terminal
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        shown = f"[{host}]" if ":" in host else host
        if on_ready:
            on_ready(f"http://{shown}:{bound}")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
