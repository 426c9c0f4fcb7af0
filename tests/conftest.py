import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from stub_server import StubServer

from adaem.config import RunConfig
from adaem.models import CallCache, ModelPool


@pytest.fixture
def cache(tmp_path: Path) -> CallCache:
    c = CallCache(tmp_path / "cache.sqlite")
    yield c
    c.close()


@pytest.fixture
async def make_pool(tmp_path: Path):
    """A pool over a fresh cache; pass RunConfig fields as keyword arguments. Closed after the test."""
    pools = []

    def make(cache: bool = True, **fields) -> ModelPool:
        config = RunConfig.model_validate(fields)
        pool = ModelPool(config, cache=CallCache(tmp_path / f"pool-cache{len(pools)}.sqlite") if cache else None)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.aclose()


@pytest.fixture
async def stub():
    server = await StubServer().start()
    yield server
    await server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "adaem", *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout)


@contextmanager
def serving(module: str, *args: str, seconds: float = 60):
    """Run `python -m module --port P ...` (or `python script.py ...`) on loopback until the block ends; yields
    its /v1 base URL."""
    port = free_port()
    target = [module] if module.endswith(".py") else ["-m", module]
    proc = subprocess.Popen([sys.executable, *target, "--port", str(port), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_http(url + "/models", proc, seconds)
        yield url
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def stub_process():
    """A stub server in its own process (for CLI subprocess tests)."""
    with serving(str(Path(__file__).parent / "stub_server.py")) as url:
        yield url


# -- the report page in a real browser (Debian's chromium, driven by playwright) -------------------------------
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "headless tests need Debian's chromium: scripts/setup.sh --test installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def open_page(browser, url):
    """A page at `url` (or a file path) and the list its console errors are collected into."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url.as_uri() if isinstance(url, Path) else url)
    return page, errors
