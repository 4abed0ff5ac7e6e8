"""The web app of ``lvwall serve``: its page, and the JSON API that the page (or a script) uses.

* ``GET /``: the page (``static/``: HTML, JavaScript and CSS of its own; nothing from
  elsewhere, which the Content-Security-Policy header enforces in the browser), with this
  server's token in it;
* ``GET /api/info``: the model, the upload limit and the segment colours;
* ``POST /api/jobs`` (multipart fields ``file``, optional ``view`` and ``a2c``): queue a
  recording of that view (A4C by default), or with ``a2c`` the A4C and A2C recordings of one
  heart as an exam; 202 with the job's URL;
  ``GET /api/jobs/{id}``: where it stands, its result when done, its error when failed;
* ``POST /api/analyse`` (the same fields): the same, answered when done;
* ``GET /api/jobs/{id}/files/{path}``: each file written; ``.../archive.zip``: all of them.

Every POST needs the server's token and no other origin (:mod:`lvwall.serve.security`).
Errors are HTTP 4xx (5xx: the server's own failure) with ``{"error": "<one sentence>"}``.
docs/serve.md describes every field.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import html
import mimetypes
import shutil
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from lvwall import __version__
from lvwall.atomic import atomic_path
from lvwall.data import VIEWS, check_view, discover
from lvwall.errors import LvwallError
from lvwall.infer import SegmentationModel
from lvwall.regional import Thresholds
from lvwall.serve.analysis import analyse, analyse_exam
from lvwall.serve.jobs import DONE, KEPT_JOBS, Job, JobQueue, make_workdir
from lvwall.serve.security import RequestGuard, new_token
from lvwall.serve.uploads import (
    DEFAULT_MAX_UPLOAD_MB,
    UploadTooLargeError,
    recording_path,
    save_upload,
    upload_too_large,
)
from lvwall.wall import SEGMENT_COLOURS

STATIC_DIR = Path(__file__).parent / "static"
#: What ``GET /`` replaces with the token in ``static/index.html``.
TOKEN_PLACEHOLDER = "{{lvwall-token}}"
#: The form fields of an upload: the recording (of the form's view), and the optional A2C
#: recording of the same heart that makes the two one exam; and the view's field.
FILE_FIELD, A2C_FIELD, VIEW_FIELD = "file", "a2c", "view"
UPLOAD_FIELDS: tuple[str, ...] = (FILE_FIELD, A2C_FIELD)
#: Bytes a multipart body holds besides the files (boundaries, part headers, the view),
#: allowed on top of the upload limit of each file before the body is refused unread.
MULTIPART_OVERHEAD = 64 * 1024
#: The page may load and connect to its own origin only: no CDN, fonts or telemetry.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)
_Message = MutableMapping[str, Any]


def check_thresholds(thresholds: Sequence[Thresholds]) -> None:
    """:class:`ValueError` unless ``thresholds`` are of different views and one motion score
    (so that both views' tables compare)."""
    views = [learned.view for learned in thresholds]
    if len(set(views)) != len(views):
        raise ValueError(f"give one thresholds file per view, got views {views}")
    scores = sorted({learned.score for learned in thresholds})
    if len(scores) > 1:
        raise ValueError(
            f"the thresholds files must be of one motion score, so that both views' tables "
            f"compare; got {scores}"
        )


@dataclass(frozen=True)
class ServeSettings:
    """How the app analyses uploads: the model, optional hypokinesia thresholds (from
    ``lvwall regional-eval``; at most one per view, all of one motion score), the upload
    limit, the ``Host`` names it answers to (``None``: any, for a server on every network
    interface), and the token every POST must carry (random unless given)."""

    model: SegmentationModel
    thresholds: tuple[Thresholds, ...] = ()
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 10**6
    allowed_hosts: tuple[str, ...] | None = None
    token: str = field(default_factory=new_token, repr=False)

    def __post_init__(self) -> None:
        check_thresholds(self.thresholds)
        if self.max_upload_bytes < 1:
            raise ValueError(f"max_upload_bytes must be positive, got {self.max_upload_bytes}")
        if not self.token:
            raise ValueError("the token must not be empty")


def create_app(settings: ServeSettings) -> FastAPI:
    """The app; its temporary folder (uploads and results) exists while it runs (its
    lifespan) and is removed when it stops; the stale folders of servers that were killed
    are removed when it starts (:func:`~lvwall.serve.jobs.make_workdir`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workdir = make_workdir()
        remove = functools.partial(shutil.rmtree, workdir, ignore_errors=True)
        # Also at exit, for a process that ends without running the shutdown of its app.
        atexit.register(remove)
        app.state.workdir = workdir
        app.state.jobs = JobQueue(workdir, functools.partial(_process, settings=settings))
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(app.state.jobs.close)
            remove()
            atexit.unregister(remove)

    # No /docs or /redoc: FastAPI's would load Swagger UI from a CDN.
    app = FastAPI(
        title="lvwall serve",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(SecurityHeaders)
    # The Host check refuses DNS-rebinding pages that would reach a loopback server under
    # their name; the origin and token checks, pages elsewhere that post to it.
    app.add_middleware(RequestGuard, token=settings.token, allowed=settings.allowed_hosts)
    app.add_exception_handler(LvwallError, _user_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    page_html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page_html = page_html.replace(TOKEN_PLACEHOLDER, html.escape(settings.token, quote=True))

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(page_html)

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return {
            "version": __version__,
            "model": settings.model.description,
            "max_upload_bytes": settings.max_upload_bytes,
            "thresholds": [learned.view for learned in settings.thresholds],
            "kept_jobs": KEPT_JOBS,
            "segment_colours": SEGMENT_COLOURS,
        }

    @app.post("/api/jobs", status_code=202)
    async def submit(request: Request) -> dict[str, str]:
        job = await _receive(request, settings.max_upload_bytes)
        return {"id": job.id, "status_url": f"/api/jobs/{job.id}"}

    @app.post("/api/analyse")
    async def analyse_now(request: Request) -> JSONResponse:
        job = await _receive(request, settings.max_upload_bytes)
        await anyio.to_thread.run_sync(job.finished.wait)
        if job.error is not None:
            return JSONResponse({"error": job.error}, status_code=job.http_status)
        return JSONResponse(job.result)

    @app.get("/api/jobs/{job_id}")
    def job_status(job_id: str, request: Request) -> dict[str, Any]:
        jobs: JobQueue = request.app.state.jobs
        return jobs.status(_job(request, job_id))

    @app.get("/api/jobs/{job_id}/files/{path:path}")
    def job_file(job_id: str, path: str, request: Request) -> FileResponse:
        results = _finished(request, job_id).results_dir.resolve()
        target = (results / path).resolve()
        if not target.is_relative_to(results) or not target.is_file():
            raise HTTPException(404, f"job {job_id} wrote no file {path}")
        return _file_response(target, target.name)

    @app.get("/api/jobs/{job_id}/archive.zip")
    def job_archive(job_id: str, request: Request) -> FileResponse:
        job = _finished(request, job_id)
        archive = job.folder / "archive.zip"
        if not archive.is_file():
            _write_archive(job.results_dir, archive)
        exam = job.result["exam"]
        name = job.result["name"] if exam is None else exam["name"]
        return _file_response(archive, f"{name}-lvwall.zip")

    return app


def given_view(given: str | None) -> str | None:
    """The view an upload's form names (``view`` field; ``None``: not sent, for the view
    classifier to recognise after segmenting). :class:`LvwallError` (HTTP 400) for a view
    that is not one of :data:`lvwall.data.VIEWS`."""
    if given is None:
        return None
    try:
        return check_view(given.strip())
    except ValueError:
        raise LvwallError(
            f"the form field '{VIEW_FIELD}' must be {' or '.join(VIEWS)}, got {given!r}"
        ) from None


class SecurityHeaders:
    """Adds the Content-Security-Policy and the other headers of :data:`_HEADERS` to every
    response (a plain ASGI middleware, so that file responses stream as they are)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(
        self,
        scope: _Message,
        receive: Callable[[], Awaitable[_Message]],
        send: Callable[[_Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: _Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _receive(request: Request, limit: int) -> Job:
    """Check the form of ``request`` (:func:`_uploads`), save its files into a new job and
    queue it; refuse a body over ``limit`` per file (plus :data:`MULTIPART_OVERHEAD`) without
    reading the rest. Each file is held to ``limit`` on its own."""
    body_limit = len(UPLOAD_FIELDS) * limit + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise upload_too_large(limit, int(declared))
    jobs: JobQueue = request.app.state.jobs
    job = jobs.new_job()
    try:
        bounded = Request(request.scope, receive=_bounded(request.receive, limit, body_limit))
        async with bounded.form(max_files=len(UPLOAD_FIELDS), max_fields=8) as form:
            job.options, uploads = _uploads(form)
            for field, upload in uploads.items():
                await anyio.to_thread.run_sync(
                    save_upload, upload.file, job.upload_folder(field), upload.filename or "", limit
                )
    except BaseException:
        jobs.discard(job)
        raise
    jobs.start(job)
    return job


def _uploads(form: FormData) -> tuple[str | None, dict[str, UploadFile]]:
    """The view (:func:`given_view`) and the files of an upload's form, by field;
    :class:`LvwallError` (HTTP 400) for a form without its recording, a field of the wrong
    kind, or an exam whose ``view`` is not A4C (its ``file`` is the A4C recording)."""
    view = form.get(VIEW_FIELD)
    if isinstance(view, UploadFile):
        raise LvwallError(f"the form field '{VIEW_FIELD}' must be text: {' or '.join(VIEWS)}")
    choice = given_view(view)
    if not isinstance(form.get(FILE_FIELD), UploadFile):
        raise LvwallError(
            f"the request holds no recording: send it as the multipart form field '{FILE_FIELD}'"
        )
    second = form.get(A2C_FIELD)
    if second is not None and not isinstance(second, UploadFile):
        raise LvwallError(
            f"the form field '{A2C_FIELD}' must be a file: the A2C recording of the same heart"
        )
    if second is not None and choice not in (None, VIEWS[0]):
        raise LvwallError(
            f"with an A2C recording in '{A2C_FIELD}', the recording in '{FILE_FIELD}' is the "
            f"A4C one: leave out '{VIEW_FIELD}' or set it to A4C"
        )
    uploads = {field: form.get(field) for field in UPLOAD_FIELDS}
    return choice, {field: upload for field, upload in uploads.items() if upload is not None}


def _bounded(
    receive: Callable[[], Awaitable[_Message]], limit: int, body_limit: int
) -> Callable[[], Awaitable[_Message]]:
    """``receive`` that raises :class:`UploadTooLargeError` (naming the per-file ``limit``)
    once the body passes ``body_limit`` (a body sent without a Content-Length)."""
    received = 0

    async def bounded_receive() -> _Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > body_limit:
            raise upload_too_large(limit)
        return message

    return bounded_receive


def _process(job: Job, settings: ServeSettings) -> dict[str, Any]:
    """Analyse a job's upload, one recording or an exam; its JSON result, with the URL of
    every file written."""
    view: str | None = job.options
    folders = [job.upload_folder(field) for field in UPLOAD_FIELDS]
    paths = [
        recording_path(_uploaded(folder), settings.max_upload_bytes)
        for folder in folders
        if folder.is_dir()
    ]
    # One discover call: the two recordings of an exam get different names.
    sources = discover(paths)
    model, results, thresholds = settings.model, job.results_dir, settings.thresholds
    if len(sources) == 1:
        analysis = analyse(
            sources[0], model, results, view=view, thresholds=thresholds, progress=job
        )
    else:
        four, two = sources
        analysis = analyse_exam(four, two, model, results, thresholds=thresholds, progress=job)
    written = sorted(path for path in job.results_dir.rglob("*") if path.is_file())
    return {
        **analysis.summary,
        "files": {key: _file_url(job.id, path) for key, path in analysis.files.items()},
        "downloads": [
            {
                "path": path.relative_to(job.results_dir).as_posix(),
                "url": _file_url(job.id, path.relative_to(job.results_dir)),
                "bytes": path.stat().st_size,
            }
            for path in written
        ],
        "archive": f"/api/jobs/{job.id}/archive.zip",
    }


def _uploaded(folder: Path) -> Path:
    """The one file saved in an upload folder."""
    (upload,) = folder.iterdir()
    return upload


def _file_url(job_id: str, relative: Path) -> str:
    return f"/api/jobs/{job_id}/files/{quote(relative.as_posix())}"


def _job(request: Request, job_id: str) -> Job:
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise HTTPException(
            404,
            f"job {job_id} is not on this server (it keeps the results of the last "
            f"{KEPT_JOBS} uploads while it runs)",
        )
    return job


def _finished(request: Request, job_id: str) -> Job:
    job = _job(request, job_id)
    if job.state != DONE:
        raise HTTPException(409, f"job {job_id} is {job.state}, it has no results to download")
    return job


def _file_response(path: Path, name: str) -> FileResponse:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(
        path, media_type=media_type, filename=name, content_disposition_type="inline"
    )


def _write_archive(results: Path, archive: Path) -> None:
    with atomic_path(archive) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(results.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(results).as_posix())


def _user_error(request: Request, error: Exception) -> JSONResponse:
    status = 413 if isinstance(error, UploadTooLargeError) else 400
    return JSONResponse({"error": str(error)}, status_code=status)


def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    return JSONResponse({"error": error.detail}, status_code=error.status_code)
