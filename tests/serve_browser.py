"""A real ``lvwall serve`` and a real headless Chromium, for the browser tests of the page
and for its screenshot in docs/.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright for Python; never
Playwright's own browser download. As a script it makes the screenshot::

    PYTHONPATH=src .venv/bin/python tests/serve_browser.py RECORDING docs/serve_screenshot.png
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, and nothing of Chromium's own that would reach the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Seconds to wait for the server to listen (it loads the model first) and for a result.
START_TIMEOUT_S, RESULT_TIMEOUT_S = 120, 180
_URL = re.compile(r"open (http://\S+/)")
#: The environment variable that gives ``lvwall serve`` its token.
TOKEN_ENV = "LVWALL_SERVE_TOKEN"


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is absent (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    return None


@contextlib.contextmanager
def running_server(*options: str, temporary: Path | None = None) -> Iterator[str]:
    """``lvwall serve --port 0 OPTIONS`` in its own process, with ``temporary`` as its
    temporary folder (TMPDIR) where given; yields its base URL and stops it with Ctrl+C
    (SIGINT) as a user would.

    The server's token is ``LVWALL_SERVE_TOKEN`` of this process, or a new one that this
    process's ``LVWALL_SERVE_TOKEN`` holds while the server runs: a script here (the client
    of docs/serve.md) finds it there, as a user's script would."""
    previous = os.environ.get(TOKEN_ENV)
    token = previous or secrets.token_urlsafe(32)
    env = {**os.environ, TOKEN_ENV: token, "PYTHONUNBUFFERED": "1", "COLUMNS": "400"}
    if temporary is not None:
        env["TMPDIR"] = str(temporary)
    command = [sys.executable, "-m", "lvwall.cli", "serve", "--port", "0", *options]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    output = []
    try:
        while True:
            try:
                line = lines.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                raise RuntimeError(f"lvwall serve did not start: {''.join(output)}") from None
            output.append(line)
            if match := _URL.search(line):
                break
        url = match.group(1)
        _wait_until_answering(url)
        os.environ[TOKEN_ENV] = token
        yield url
    finally:
        if previous is None:
            os.environ.pop(TOKEN_ENV, None)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(url: str) -> None:
    """Wait for the app's startup (the socket listens before it)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(url + "api/info", timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def chromium_page(viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A page of a fresh headless Chromium (its own new profile), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lvwall-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            viewport=viewport or {"width": 1280, "height": 900},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def upload(page: Any, path: Path) -> str:
    """Choose ``path`` in the page's file input and wait for the results or the error;
    returns ``"results"`` or ``"error"``."""
    page.set_input_files("#file", str(path))
    page.wait_for_function(
        "() => !document.getElementById('results').hidden"
        " || !document.getElementById('error').hidden",
        timeout=RESULT_TIMEOUT_S * 1000,
    )
    return "error" if page.locator("#error").is_visible() else "results"


def show_frame(page: Any, index: int) -> None:
    """Move the page's frame slider to ``index`` (0-based) as a user's drag would."""
    page.eval_on_selector(
        "#frame",
        "(slider, index) => { slider.value = index; slider.dispatchEvent(new Event('input')); }",
        index,
    )
    page.wait_for_function(
        "(index) => Math.floor(document.getElementById('overlay').currentTime * fps) === index",
        arg=index,
    )


def screenshot(recording: Path, target: Path) -> None:
    """The page with ``recording`` analysed by the bundled model, as a full-page PNG of 256
    colours."""
    with running_server() as url, chromium_page({"width": 1280, "height": 900}) as page:
        page.goto(url)
        if upload(page, recording) != "results":
            raise RuntimeError(page.locator("#error").inner_text())
        page.wait_for_function("() => document.getElementById('overlay').readyState >= 2")
        # Images without a source (the two-view exam's figure, for one recording) never decode.
        page.evaluate(
            "Promise.all([...document.images].filter((i) => i.src).map((i) => i.decode()))"
        )
        # The same frame every time: the video paused at the slider's position.
        show_frame(page, 10)
        shot = page.screenshot(full_page=True)
    # 256 colours, dithered: a quarter of the size, the segment colours kept apart.
    from PIL import Image

    image = Image.open(io.BytesIO(shot)).convert("RGB")
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(target, optimize=True)


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
