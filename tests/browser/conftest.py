"""Browser tests: a real Linli server on a throwaway SQLite file, driven by headless Chromium.

The server runs in a subprocess (`manage.py runserver --noreload`) on a free loopback port, on a
database built for it: migrations plus the test world (linli/testing/world.py), every password
`linli-demo`. Chromium is Debian's /usr/bin/chromium (`.ci/run` installs it); Playwright never
downloads a browser here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
BUILD_WORLD = "import django\ndjango.setup()\nfrom linli.testing.world import build_world\nbuild_world()\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, server: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /healthz within {seconds} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def linli_server(tmp_path_factory) -> str:
    """Base URL of a running Linli with the test world loaded."""
    root = tmp_path_factory.mktemp("browser-site")
    env = dict(
        os.environ,
        LINLI_MODE="test",
        DATABASE_URL=f"sqlite:///{root / 'linli.sqlite3'}",
        LINLI_VAR_DIR=str(root / "var"),
        LINLI_MEDIA_ROOT=str(root / "media"),
        DJANGO_SETTINGS_MODULE="linli.settings",
        PYTHONUNBUFFERED="1",
    )
    base = Path(settings.BASE_DIR)
    for cmd in ([sys.executable, "manage.py", "migrate", "-v0"], [sys.executable, "-c", BUILD_WORLD]):
        done = subprocess.run(cmd, cwd=base, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{done.stdout}\n{done.stderr}")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=base,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium. Module-scoped: Playwright's event loop must not outlive these tests,
    or Django would refuse database access in later tests of the same process."""
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, linli_server):
    """A fresh browser context (no cookies) at desktop width; base_url is the server."""
    context = browser.new_context(base_url=linli_server, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def shoot():
    """shoot(page, "name") saves test-artifacts/name-1280.png and name-390.png (desktop and phone)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> None:
        size = page.viewport_size
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900 if width > 600 else 844})
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size(size)

    return take
