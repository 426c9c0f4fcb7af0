"""What the HTTP providers share: a connection pool per event loop, one request with connection faults sorted
into TransientError, and keys scrubbed from anything shown or stored."""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from typing import Any

import aiohttp

from ..types import TransientError
from .base import Provider

_KEY_PATTERN = re.compile(r"\b(sk|key|api)[-_][A-Za-z0-9_\-*]{6,}")


def redact(text: str, secret: str | None) -> str:
    """Remove a key (and anything shaped like one) from text shown to a user or stored."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("***", text)


def error_detail(payload: Any) -> str:
    """The human message of an error body in any vendor's shape: OpenAI's {"error": {"message"}}, vLLM's older
    {"object": "error", "message"}, an error string, FastAPI/pydantic's {"detail": [{"loc", "msg"}]} and Mistral's
    {"message": {"detail": [...]}} (422: which field it refused), or a batch line's {"error": {"error": {...}}}."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, list):
        return "; ".join(filter(None, (error_detail(p) for p in payload)))
    if not isinstance(payload, dict):
        return "" if payload is None else str(payload)
    if isinstance(payload.get("loc"), list) and payload.get("msg"):  # one pydantic validation error
        where = ".".join(str(x) for x in payload["loc"] if x != "body")
        return f"{where}: {payload['msg']}" if where else str(payload["msg"])
    for key in ("error", "message", "detail"):
        inner = payload.get(key)
        if inner:
            text = error_detail(inner)
            if text:
                code = payload.get("code") if key == "message" and isinstance(payload.get("code"), str) else None
                return f"{text} ({code})" if code and code not in text else text
    code = payload.get("code")
    return str(code) if code else ""


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header: a number or an HTTP date."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


class HTTPProvider(Provider):
    """A provider reached over HTTP with aiohttp. Subclasses set `_key` and `_headers` (sent on every request)."""

    _key: str | None = None
    _headers: dict[str, str]

    @property
    def where(self) -> str:
        return self.base_url or "the API"

    def _session(self) -> aiohttp.ClientSession:
        """One connection pool per event loop (aiohttp sessions are bound to their loop)."""
        sessions: dict[int, aiohttp.ClientSession] = self.__dict__.setdefault("_sessions", {})
        loop = asyncio.get_running_loop()
        session = sessions.get(id(loop))
        if session is None or session.closed:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
            )
            sessions[id(loop)] = session
        return session

    async def _http(self, method: str, url: str, *, where: str | None = None, **kwargs: Any) -> tuple[int, bytes, Any]:
        """(status, body, headers) of one request; a dropped or refused connection is a TransientError (status None:
        unreachable; 0: the answer was cut off)."""
        where = where or self.where
        try:
            async with self._session().request(method, url, **kwargs) as response:
                return response.status, await response.read(), response.headers
        except aiohttp.ClientPayloadError as exc:
            raise TransientError(f"{self.name}: truncated response from {where} ({type(exc).__name__})",
                                 status=0) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransientError(f"{self.name}: cannot reach {where} ({self._scrub(exc)})") from None

    def _scrub(self, value: object) -> str:
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, BaseException):
            value = f"{type(value).__name__}: {value}"
        return redact(str(value), self._key)

    async def aclose(self) -> None:
        sessions: dict[int, aiohttp.ClientSession] = self.__dict__.get("_sessions", {})
        for session in sessions.values():
            if not session.closed:
                try:
                    await session.close()
                except RuntimeError:  # its loop is gone; nothing left to release
                    pass
        sessions.clear()
