"""``lvwall serve``'s JSON API through FastAPI's test client, with a tiny random model, and
a two-view exam with a model that replays phantom masks."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from echo_inputs import PRIVATE_FIELDS, echo_frames, write_dicom, write_image
from lvwall.data import VIEW_SEGMENTS
from lvwall.data.inputs import InputSource
from lvwall.data.phantom import draw_params, simulate_recording
from lvwall.data.video import write_video
from lvwall.errors import DataError
from lvwall.infer import SegmentationModel, load_segmentation_model
from lvwall.serve.app import ServeSettings, create_app
from lvwall.serve.security import (
    TOKEN_HEADER,
    foreign_origin,
    host_allowed,
    is_loopback,
    loopback_names,
)
from tiny_models import ReplayPredictor

testclient = pytest.importorskip("fastapi.testclient", reason="the tests of serve need httpx")

N_FRAMES = 5
DOCS = Path(__file__).resolve().parents[1] / "docs" / "serve.md"
#: A tiny phantom recording per view: one cycle from its first frame, in a small video.
TINY = {"width": 96, "height": 64, "n_frames": 13, "cycle_frames": 12, "first_ed_frame": 1}


@pytest.fixture(scope="module")
def model(tiny_model: dict[str, Path]):
    return load_segmentation_model(tiny_model["onnx"])


@pytest.fixture(scope="module")
def client(model) -> Iterator:
    """One server for the module's tests, as one server serves many uploads."""
    with _client(ServeSettings(model)) as client:
        yield client


def _client(settings: ServeSettings, **options):
    """A test client of an app of ``settings`` that sends its token, as the page does."""
    return testclient.TestClient(
        create_app(settings), headers={TOKEN_HEADER: settings.token}, **options
    )


def _post(client, name: str, data: bytes, route: str = "/api/analyse"):
    return client.post(route, files={"file": (name, data)})


def _gif(tmp_path: Path, name: str = "echo 1.gif") -> bytes:
    return write_video(tmp_path / name, echo_frames(N_FRAMES), fps=10).read_bytes()


@pytest.fixture(scope="module")
def analysed(client, tmp_path_factory: pytest.TempPathFactory) -> dict:
    response = _post(client, "echo 1.gif", _gif(tmp_path_factory.mktemp("gif")))
    assert response.status_code == 200, response.text
    return response.json()


def test_analyse_returns_the_fields_and_every_listed_url_answers(client, analysed) -> None:
    result = analysed
    assert (result["name"], result["frames"], result["kind"]) == ("echo 1", N_FRAMES, "video")
    # Without a view field the view classifier decides, and the result says so.
    assert result["view_source"] in ("recognised", "default")
    assert (result["view_probability"] is not None) == (result["view_source"] == "recognised")
    assert (result["exam"], result["a2c"]) == (None, None)
    assert result["quality"]["checked"] is True
    frames = result["quality"]["frames"]
    assert [frame["frame"] for frame in frames] == list(range(1, N_FRAMES + 1))
    assert all(0.0 <= frame["quality"] <= 1.0 for frame in frames)
    assert result["flagged"] == [frame["frame"] for frame in frames if frame["flags"]]
    written = json.loads(client.get(result["files"]["measure_json"]).text)
    assert result["measurements"] == written
    assert result["measurements"]["n_frames"] == N_FRAMES
    for key in ("overlay", "masks", "wall_area", "predict_overlay", "measure_csv"):
        assert key in result["files"], key
    urls = [*result["files"].values(), *(d["url"] for d in result["downloads"]), result["archive"]]
    for url in urls:
        assert client.get(url).status_code == 200, url
    masks = np.load(io.BytesIO(client.get(result["files"]["masks"]).content))
    assert masks["model"].shape[0] == N_FRAMES
    assert client.get(result["files"]["overlay"]).headers["content-type"] == "video/webm"
    archive = zipfile.ZipFile(io.BytesIO(client.get(result["archive"]).content))
    assert sorted(archive.namelist()) == sorted(d["path"] for d in result["downloads"])
    # Every file written is offered for download, each under its command's folder.
    assert {d["path"].split("/")[0] for d in result["downloads"]} == {
        "predict",
        "measure",
        "serve",
    } | ({"regional"} if result["regional"]["error"] is None else set())


def test_the_job_endpoint_reports_progress_until_the_result(tmp_path: Path, client) -> None:
    # The module's server has analysed (and refused) other uploads before this one.
    response = _post(client, "echo.gif", _gif(tmp_path), route="/api/jobs")
    assert response.status_code == 202
    url = response.json()["status_url"]
    deadline = time.monotonic() + 60
    while (status := client.get(url).json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert status["state"] == "done" and status["error"] is None
    assert status["result"]["name"] == "echo"


def _text(path: Path) -> Path:
    path.write_bytes(b"these are my notes, not a video\n")
    return path


def _truncated_avi(path: Path) -> Path:
    whole = write_video(path.with_name("whole.avi"), echo_frames(12), fps=10).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _cli_sentence(path: Path) -> str:
    """The sentence ``lvwall predict`` gives for ``path``, naming it by its file name."""
    with pytest.raises(DataError) as raised:
        list(InputSource(path, path.stem).open().frames())
    return f"{path.name}: {raised.value.problem}"


@pytest.mark.parametrize(
    ("name", "make"),
    [("notes.avi", _text), ("notes.txt", _text), ("cut.avi", _truncated_avi)],
)
def test_a_bad_upload_gets_the_cli_sentence_and_the_server_goes_on(
    tmp_path: Path, client, name: str, make: Callable[[Path], Path]
) -> None:
    path = make(tmp_path / name)
    response = _post(client, name, path.read_bytes())
    assert response.status_code == 422
    assert response.json() == {"error": _cli_sentence(path)}
    assert str(tmp_path) not in response.text
    assert client.get("/api/info").status_code == 200


@pytest.mark.parametrize(
    ("files", "status", "sentence"),
    [
        ({"file": ("big.gif", b"x" * 2048)}, 413, "big.gif: is larger than this server's upload"),
        (
            {"file": ("a.gif", b"x" * 1000), "a2c": ("big2.gif", b"x" * 1100)},
            413,
            "big2.gif: is larger than this server's upload",
        ),
        ({"other": ("a.gif", b"x")}, 400, "the request holds no recording"),
    ],
)
def test_uploads_over_the_limit_or_without_a_file_are_refused(
    model, files: dict, status: int, sentence: str
) -> None:
    """Each file of an upload is held to the limit on its own; a refused upload leaves no
    job folder behind."""
    settings = ServeSettings(model, max_upload_bytes=1024)
    with _client(settings) as client:
        for route in ("/api/analyse", "/api/jobs"):
            response = client.post(route, files=files)
            assert response.status_code == status
            assert response.json()["error"].startswith(sentence)
            assert _job_folders(client) == []
        assert client.get("/api/info").json()["max_upload_bytes"] == 1024


def test_a_body_declared_over_the_limit_is_refused_unread(model) -> None:
    with _client(ServeSettings(model, max_upload_bytes=10)) as client:
        body = b"x" * (100 * 1024)
        response = client.post(
            "/api/analyse", content=body, headers={"content-type": "multipart/form-data; b=x"}
        )
    assert response.status_code == 413
    assert response.json()["error"].startswith("the upload is 0.1 MB, larger than this server's")


def test_a_body_that_is_no_multipart_form_is_a_bad_request(client) -> None:
    response = client.post(
        "/api/analyse", content=b"garbage", headers={"content-type": "multipart/form-data"}
    )
    assert response.status_code == 400 and response.json()["error"]
    assert client.get("/api/info").status_code == 200


def test_a_dicom_upload_shows_no_patient_field(tmp_path: Path, client) -> None:
    grey = echo_frames(N_FRAMES)[..., 0]
    path = write_dicom(tmp_path / "IM0001.dcm", grey, **PRIVATE_FIELDS, PixelSpacing=[0.3, 0.3])
    response = _post(client, "IM0001.dcm", path.read_bytes())
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["name"], result["kind"]) == ("IM0001", "dicom")
    assert result["pixel_spacing_mm"] == [0.3, 0.3]
    texts = [response.text] + [
        client.get(d["url"]).text
        for d in result["downloads"]
        if d["path"].endswith((".csv", ".json"))
    ]
    for value in PRIVATE_FIELDS.values():
        assert all(value.split("^")[0] not in text for text in texts), value


def test_a_zip_of_frames_is_one_recording_named_after_it(tmp_path: Path, client) -> None:
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        for number, frame in zip((10, 2, 1, 11, 3), echo_frames(N_FRAMES), strict=True):
            archive.write(write_image(tmp_path / f"f{number}.png", frame), f"clip/f{number}.png")
        archive.writestr("clip/notes.txt", "skipped")
        archive.writestr("__MACOSX/clip/._f1.png", "resource fork")
    response = _post(client, "clip 7.zip", bundle.getvalue())
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["name"], result["frames"], result["kind"]) == ("clip 7", 5, "image-folder")


def test_unknown_jobs_and_paths_outside_a_job_are_not_found(client, analysed) -> None:
    job_files = analysed["files"]["masks"].split("/files/")[0]
    for url in (
        "/api/jobs/nothing",
        f"{job_files}/files/../../../etc/passwd",
        f"{job_files}/files/x",
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert "error" in response.json()


def test_the_page_and_its_files_come_with_a_same_origin_policy(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<video" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    for asset in ("/static/app.js", "/static/style.css", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200, asset
    # FastAPI's interactive docs would load their scripts from a CDN.
    assert client.get("/docs").status_code == 404


def test_the_temporary_folder_goes_when_the_server_stops(tmp_path: Path, model) -> None:
    with _client(ServeSettings(model)) as client:
        assert _post(client, "notes.avi", b"not a video").status_code == 422
        workdir = client.app.state.workdir
        assert [path.name for path in workdir.rglob("notes.avi")] == ["notes.avi"]
    assert not workdir.exists()


def test_a_loopback_server_answers_to_loopback_names_only(model) -> None:
    settings = ServeSettings(model, allowed_hosts=("127.0.0.1", "localhost"))
    with testclient.TestClient(create_app(settings), base_url="http://localhost:8765") as client:
        assert client.get("/api/info").status_code == 200
        assert client.get("/api/info", headers={"host": "evil.example:8765"}).status_code == 400


def test_an_a2c_recording_is_named_and_coloured_by_the_a2c_segments(tmp_path: Path, client) -> None:
    response = client.post(
        "/api/analyse", files={"file": ("echo.gif", _gif(tmp_path))}, data={"view": "a2c"}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    names = list(VIEW_SEGMENTS["A2C"])
    assert (result["view"], result["view_source"]) == ("A2C", "given")
    assert result["measurements"]["view"] == "A2C"
    assert list(result["measurements"]["segments"]) == names
    assert list(result["segment_colours"]) == names
    segments = result["regional"].get("segments") or []
    assert [row["segment"] for row in segments] in ([], names)


def _job_folders(client) -> list[Path]:
    return sorted(path for path in client.app.state.workdir.iterdir() if path.is_dir())


@pytest.mark.parametrize(
    ("data", "extra", "sentence"),
    [
        ({"view": "A3C"}, {}, "the form field 'view' must be A4C or A2C, got 'A3C'"),
        ({"view": ""}, {}, "the form field 'view' must be A4C or A2C, got ''"),
        ({}, {"view": ("view.txt", b"A2C")}, "the form field 'view' must be text: A4C or A2C"),
        ({"a2c": "two.avi"}, {}, "the form field 'a2c' must be a file: the A2C recording"),
        (
            {"view": "A2C"},
            {"a2c": ("two.gif", b"x")},
            "with an A2C recording in 'a2c', the recording in 'file' is the A4C one",
        ),
    ],
)
def test_a_bad_view_or_a2c_field_is_a_bad_request_and_leaves_no_job(
    client, data: dict, extra: dict, sentence: str
) -> None:
    before = _job_folders(client)
    for route in ("/api/analyse", "/api/jobs"):
        response = client.post(route, files={"file": ("one.gif", b"x"), **extra}, data=data)
        assert response.status_code == 400
        assert response.json()["error"].startswith(sentence)
    assert _job_folders(client) == before


@pytest.mark.parametrize(
    ("name", "make"),
    [("notes.avi", _text), ("cut.avi", _truncated_avi)],
)
def test_a_bad_a2c_file_gets_the_cli_sentence_naming_it(
    tmp_path: Path, client, name: str, make: Callable[[Path], Path]
) -> None:
    path = make(tmp_path / name)
    files = {"file": ("echo_4CH.gif", _gif(tmp_path)), "a2c": (name, path.read_bytes())}
    response = client.post("/api/analyse", files=files)
    assert response.status_code == 422
    assert response.json() == {"error": _cli_sentence(path)}
    assert client.get("/api/info").status_code == 200


@pytest.fixture(scope="module")
def exam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """The A4C and A2C phantom videos of one heart analysed as an exam by a server whose
    "network" answers with the phantoms' own masks: the client and the finished job."""
    folder = tmp_path_factory.mktemp("exam")
    files, probabilities = {}, []
    for field, view, name in (("file", "A4C", "heart_4CH.avi"), ("a2c", "A2C", "heart_2CH.avi")):
        params = draw_params(4, **TINY, segment_mi=(False,) * 6, view=view)
        recording = simulate_recording(4, params=params)
        video = write_video(folder / name, recording.video, fps=recording.params.fps)
        files[field] = (name, video.read_bytes())
        probabilities += [
            ndimage.gaussian_filter(m.astype(np.float32), 1.0) for m in recording.masks
        ]
    model = SegmentationModel(ReplayPredictor(np.stack(probabilities)), 0.5, 224, "replay")
    with _client(ServeSettings(model)) as client:
        response = client.post("/api/jobs", files=files)
        assert response.status_code == 202, response.text
        url = response.json()["status_url"]
        deadline = time.monotonic() + 300
        while (status := client.get(url).json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert status["state"] == "done", status["error"]
        yield client, status["result"]


def test_an_exam_has_biplane_numbers_twelve_segments_and_its_files(exam) -> None:
    client, result = exam
    biplane = result["exam"]["biplane"]
    for key in ("edv", "esv", "ef_percent"):
        interval = biplane["intervals"][key]
        assert interval["low"] <= biplane[key] <= interval["high"], key
    single = result["exam"]["single_plane"]
    assert [single[view]["name"] for view in ("A4C", "A2C")] == ["heart_4CH", "heart_2CH"]
    low, high = sorted(single[view]["ef_percent"] for view in ("A4C", "A2C"))
    assert low - 5 < biplane["ef_percent"] < high + 5
    assert result["exam"]["gls_percent"] < 0
    segments = result["exam"]["segments"]
    assert list(segments) == [*VIEW_SEGMENTS["A4C"], *VIEW_SEGMENTS["A2C"]]
    # The page's A4C recording as a single one, the A2C beside it, named by its segments.
    assert (result["name"], result["view"], result["a2c"]["view"]) == ("heart_4CH", "A4C", "A2C")
    assert list(result["a2c"]["measurements"]["segments"]) == list(VIEW_SEGMENTS["A2C"])
    assert list(result["a2c"]["segment_colours"]) == list(VIEW_SEGMENTS["A2C"])
    files = result["files"]
    assert json.loads(client.get(files["exam_json"]).text) == result["exam"]
    table = pd.read_csv(io.StringIO(client.get(files["exam_segments"]).text))
    assert list(table["segment"]) == list(segments)
    assert client.get(files["exam_figure"]).headers["content-type"] == "image/png"
    assert client.get(files["a2c_overlay"]).headers["content-type"] == "video/webm"
    a2c = json.loads(client.get(files["a2c_measure_json"]).text)
    assert a2c == result["a2c"]["measurements"]
    paths = {d["path"] for d in result["downloads"]}
    assert {"measure/heart/exam.json", "measure/heart/A2C/measurements.json"} <= paths
    assert {"predict/heart_4CH/masks.npz", "predict/heart_2CH/masks.npz"} <= paths
    archive = client.get(result["archive"])
    assert archive.headers["content-disposition"].endswith('filename="heart-lvwall.zip"')


def _documented(key: str, text: str) -> bool:
    return re.search(rf"[`\"]{re.escape(key)}[`\"]", text) is not None


def test_every_key_of_the_result_and_info_is_in_the_docs(client, analysed, exam) -> None:
    """docs/serve.md names every key the API answers with."""
    text = DOCS.read_text(encoding="utf-8")
    _, examined = exam
    keys = {
        *examined,
        *examined["regional"],
        *examined["a2c"],
        *client.get("/api/info").json(),
        *(key for key in examined["files"] if not key.startswith("a2c_")),
    }
    assert set(analysed) == set(examined)
    assert {key.removeprefix("a2c_") for key in examined["files"]} <= set(examined["files"])
    assert sorted(key for key in keys if not _documented(key, text)) == []


TOKEN = "the-token-of-this-session"


@pytest.fixture(scope="module")
def guarded(model) -> Iterator:
    """A server whose token is :data:`TOKEN`, with a client that sends no token of itself."""
    with testclient.TestClient(create_app(ServeSettings(model, token=TOKEN))) as client:
        yield client


#: Requests to the POST routes refused (other origin, no or a wrong token): their headers
#: besides the token, the token sent (header), and the sentence that refuses them.
REFUSED = [
    (
        {"origin": "https://evil.example"},
        TOKEN,
        "this server accepts uploads from its own page only, not from 'https://evil.example'",
    ),
    ({"origin": "null"}, TOKEN, "this server accepts uploads from its own page only, not from"),
    (
        {"referer": "https://evil.example/page.html"},
        TOKEN,
        "this server accepts uploads from its own page only",
    ),
    ({"origin": "http://testserver:8080"}, TOKEN, "this server accepts uploads from its own page"),
    (
        {"origin": "https://evil.example", "referer": "http://testserver/"},
        TOKEN,
        "this server accepts uploads from its own page only",
    ),
    ({"origin": "http://testserver"}, None, "this request has no token: send the token"),
    ({}, None, "this request has no token"),
    ({}, "a-guess", "this request has a wrong token"),
    ({"origin": "https://evil.example"}, None, "this server accepts uploads from its own page"),
]


@pytest.mark.parametrize(("headers", "token", "sentence"), REFUSED)
def test_a_post_from_another_origin_or_without_the_token_is_refused_and_queues_nothing(
    guarded, headers: dict, token: str | None, sentence: str
) -> None:
    sent = {**headers, **({TOKEN_HEADER: token} if token else {})}
    before = _job_folders(guarded)
    for route in ("/api/analyse", "/api/jobs"):
        response = guarded.post(route, files={"file": ("one.gif", b"x")}, headers=sent)
        assert response.status_code == 403
        assert response.json()["error"].startswith(sentence)
    assert _job_folders(guarded) == before
    # Reading stays open to the page's own requests (and they carry no token).
    assert guarded.get("/api/info").status_code == 200


#: Requests accepted: the page's own (Origin or Referer of this server) and a script's
#: (neither), with the token in the header or the query.
ACCEPTED = [
    ({"origin": "http://testserver", TOKEN_HEADER: TOKEN}, ""),
    ({"referer": "http://testserver/", TOKEN_HEADER: TOKEN}, ""),
    ({"origin": "http://TESTSERVER:80", TOKEN_HEADER: TOKEN}, ""),
    ({TOKEN_HEADER: TOKEN}, ""),
    ({}, f"?token={TOKEN}"),
]


@pytest.mark.parametrize(("headers", "query"), ACCEPTED)
def test_a_post_of_the_page_or_of_a_script_with_the_token_is_accepted(
    guarded, headers: dict, query: str
) -> None:
    response = guarded.post(
        "/api/analyse" + query, files={"file": ("notes.avi", b"not a video")}, headers=headers
    )
    assert response.status_code == 422  # analysed: a text file is no recording
    assert response.json()["error"].startswith("notes.avi: ")
    before = len(_job_folders(guarded))
    queued = guarded.post(
        "/api/jobs" + query, files={"file": ("notes.avi", b"not a video")}, headers=headers
    )
    assert queued.status_code == 202
    assert len(_job_folders(guarded)) == before + 1


def test_the_page_holds_the_token_it_sends(guarded) -> None:
    page = guarded.get("/").text
    assert f'<meta name="lvwall-token" content="{TOKEN}">' in page
    assert "{{" not in page
    assert "X-Lvwall-Token" in guarded.get("/static/app.js").text


@pytest.mark.parametrize(
    ("scheme", "host", "origin", "referer", "foreign"),
    [
        ("http", "127.0.0.1:8765", "http://127.0.0.1:8765", None, False),
        ("http", "127.0.0.1:8765", None, "http://127.0.0.1:8765/", False),
        ("http", "127.0.0.1:8765", None, None, False),  # a script: the token decides
        ("http", "[::1]:18767", "http://[::1]:18767", None, False),
        ("http", "[::1]:18767", "http://[0:0::1]:18767", None, False),
        ("http", "localhost", "http://localhost:80", None, False),
        ("http", "127.0.0.1:8765", "http://127.0.0.1:9000", None, True),
        ("http", "127.0.0.1:8765", "https://127.0.0.1:8765", None, True),
        ("http", "127.0.0.1:8765", "http://localhost:8765", None, True),
        ("http", "127.0.0.1:8765", "null", None, True),
        ("http", "127.0.0.1:8765", "", None, True),
        ("http", "127.0.0.1:8765", None, "https://evil.example/x", True),
        ("http", "[::1]:18767", "http://evil.example:18767", None, True),
    ],
)
def test_the_origin_check_decides_by_scheme_host_and_port(
    scheme: str, host: str, origin: str | None, referer: str | None, foreign: bool
) -> None:
    assert foreign_origin(scheme, host, origin, referer) is foreign


@pytest.mark.parametrize(
    ("bound", "header", "allowed"),
    [
        ("::1", "[::1]:18767", True),
        ("::1", "[0:0:0:0:0:0:0:1]:18767", True),
        ("::1", "localhost:18767", True),
        ("::1", "evil.example:18767", False),
        ("::1", "[::1", False),
        ("::1", "", False),
        ("127.0.0.2", "127.0.0.2:8765", True),
        ("127.0.0.2", "evil.example", False),
        ("127.0.0.2", "127.0.0.2.evil.example:8765", False),
        ("localhost", "localhost:8765", True),
        ("localhost", "LOCALHOST.:8765", True),
        ("127.0.0.1", "127.0.0.1:8765", True),
        ("127.0.0.1", "evil.example:8765", False),
    ],
)
def test_a_loopback_server_on_any_address_answers_to_loopback_names_only(
    bound: str, header: str, allowed: bool
) -> None:
    assert is_loopback(bound)
    assert host_allowed(header, loopback_names(bound)) is allowed


def test_an_ipv6_loopback_app_refuses_another_host_name(model) -> None:
    settings = ServeSettings(model, allowed_hosts=loopback_names("::1"))
    with _client(settings, base_url="http://[::1]:18767") as client:
        assert client.get("/api/info").status_code == 200
        response = client.get("/api/info", headers={"host": "evil.example:18767"})
        assert response.status_code == 400
        assert "not 'evil.example:18767'" in response.json()["error"]
        posted = client.post(
            "/api/jobs", files={"file": ("a.gif", b"x")}, headers={"host": "evil.example:18767"}
        )
        assert posted.status_code == 400 and _job_folders(client) == []


def test_a_zip_whose_frames_unpack_over_the_limit_is_413(model) -> None:
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("f1.png", b"\0" * 50_000)
    assert len(bundle.getvalue()) < 2000
    with _client(ServeSettings(model, max_upload_bytes=2000)) as client:
        response = _post(client, "clip.zip", bundle.getvalue())
    assert response.status_code == 413
    assert response.json()["error"].startswith("clip.zip: is larger than this server's upload")


def test_a_zip_of_frames_too_large_to_hold_is_refused_before_decoding(
    tmp_path: Path, client
) -> None:
    """A few kB of zip can hold frames of gigapixels once decoded (40 frames of 8192 x 8192
    took the page to 11.9 GB): the frame size is read from the headers and refused."""
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in (1, 2):
            frame = write_image(tmp_path / f"f{number}.png", np.zeros((4100, 8192, 3), np.uint8))
            archive.write(frame, f"huge/f{number}.png")
    assert len(bundle.getvalue()) < 1_000_000
    response = _post(client, "huge.zip", bundle.getvalue())
    assert response.status_code == 422, response.text
    assert "8192x4100-pixel frames, more than the limit of 16.8 megapixels" in response.text
    assert client.get("/api/info").status_code == 200
