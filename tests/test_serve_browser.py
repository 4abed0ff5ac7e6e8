"""``lvwall serve`` end to end: the real server, the bundled model, a real headless Chromium.

Skipped where Debian's chromium or Playwright for Python is missing (see serve_browser.py).
"""

from __future__ import annotations

import io
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from lvwall.data import VIEWS
from lvwall.data.inputs import InputSource
from lvwall.data.phantom import write_dataset
from lvwall.errors import DataError
from serve_browser import chromium_page, missing_browser, running_server, show_frame, upload

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser())),
]
#: A tiny phantom: 24 frames of 160 x 120, a cycle in 20.
PHANTOM = {"width": 160, "height": 120, "n_frames": 24, "cycle_frames": 20}


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The A4C and A2C recordings of one phantom heart, by view."""
    root = tmp_path_factory.mktemp("phantom") / "data"
    records = write_dataset(root, 1, seed=0, progress=False, fixed_params=PHANTOM, views=VIEWS)
    return {
        view: next(root.rglob(f"{record.echo}.avi"))
        for view, record in zip(VIEWS, records, strict=True)
    }


@pytest.fixture(scope="module")
def phantom(phantoms: dict[str, Path]) -> Path:
    return phantoms["A4C"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    temporary = tmp_path_factory.mktemp("server-tmp")
    with running_server(temporary=temporary) as url:
        assert len(list(temporary.glob("lvwall-serve-*"))) == 1
        yield url
    # Stopped with Ctrl+C, the server took its temporary folder with it.
    assert list(temporary.glob("lvwall-serve-*")) == []


@pytest.fixture
def page(server: str) -> Iterator:
    with chromium_page() as page:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(server)
        yield page
        # The page works with no network: it asks its own server only.
        origin = urlparse(server)
        assert requested
        assert all(urlparse(url)[:2] == origin[:2] for url in requested), requested


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def test_a_recording_plays_with_its_numbers_quality_and_downloads(
    page, server: str, phantom: Path
) -> None:
    with page.expect_request(lambda request: request.method == "POST") as posted:
        assert upload(page, phantom) == "results"
    # The page sends its own origin and the token the server put into it.
    headers = posted.value.all_headers()
    assert headers["origin"] == server.rstrip("/")
    token = page.get_attribute('meta[name="lvwall-token"]', "content")
    assert headers["x-lvwall-token"] == token and len(token) >= 32
    assert page.locator("#title").inner_text() == phantom.stem
    # The overlay video plays: its clock moves on.
    page.wait_for_function("() => document.getElementById('overlay').readyState >= 2")
    times = page.evaluate(
        """async () => {
            const video = document.getElementById('overlay');
            const seen = [];
            for (let i = 0; i < 30; i++) {
                seen.push(video.currentTime);
                await new Promise((resolve) => setTimeout(resolve, 30));
            }
            return {seen, paused: video.paused, error: video.error && video.error.code};
        }"""
    )
    assert times["error"] is None and not times["paused"]
    assert len(set(times["seen"])) > 2
    ef = page.locator("#measurements tr[data-key='ef_percent'] td.value").inner_text()
    assert re.fullmatch(r"\d+\.\d %", ef), ef
    entries = page.locator("#quality li").all_inner_texts()
    assert len(entries) == PHANTOM["n_frames"]
    checked = "quality not checked" not in page.locator("#quality-note").inner_text()
    assert all(
        ("quality " in entry) if checked else ("quality not checked" in entry) for entry in entries
    )
    show_frame(page, 4)
    assert page.locator("#frame-info").inner_text().startswith(f"frame 5 / {PHANTOM['n_frames']}")
    assert page.locator("#segments tbody tr").count() == 6
    link = page.locator("#downloads a", has_text="masks.npz")
    with page.expect_download() as download:
        link.click()
    masks = np.load(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert masks["model"].shape[0] == PHANTOM["n_frames"]


def test_a_text_file_named_avi_shows_the_cli_sentence_and_the_server_goes_on(
    page, server: str, phantom: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.avi"
    notes.write_text("my notes about this patient\n")
    with pytest.raises(DataError) as raised:
        InputSource(notes, notes.stem).open()
    assert upload(page, notes) == "error"
    assert page.locator("#error").inner_text() == f"notes.avi: {raised.value.problem}"
    status, body = _get(server + "api/info")
    assert status == 200 and "model" in json.loads(body)
    # A second recording, in the same page and server, without a restart.
    assert upload(page, phantom) == "results"
    assert not page.locator("#error").is_visible()


def test_an_exam_shows_biplane_numbers_twelve_segments_and_the_a2c_video(
    page, phantoms: dict[str, Path]
) -> None:
    # The A2C first: it fixes the view of the main recording to A4C and starts nothing.
    page.set_input_files("#a2c", str(phantoms["A2C"]))
    assert page.locator("#view").is_disabled()
    assert page.locator("#view").input_value() == "A4C"
    assert page.locator("#progress").is_hidden()
    assert upload(page, phantoms["A4C"]) == "results"
    assert page.locator("#exam").is_visible()
    ef = page.locator("#exam-numbers tr[data-key='ef_percent'] td.value").inner_text()
    assert re.fullmatch(r"\d+\.\d %|n/a", ef), ef
    assert page.locator("#exam-numbers tbody tr").count() == 4
    assert page.locator("#exam-segments tbody tr").count() == 12
    assert page.locator("#segments tbody tr").count() == 6
    page.wait_for_function("() => document.getElementById('a2c-overlay').readyState >= 2")
    page.wait_for_function("() => document.getElementById('exam-figure').naturalWidth > 0")
