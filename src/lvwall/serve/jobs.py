"""The server's jobs: one per upload, analysed one at a time, in the order they came.

A single worker thread runs the jobs (the network uses every core already, and one model
serves them all); the page polls a job's :meth:`Job.status` while it waits. Each job has
its folder (the upload and the results) under the queue's root; the oldest finished jobs
are removed beyond :data:`KEPT_JOBS`, and :meth:`JobQueue.close` stops the worker.

The queue's root is the server's temporary folder (:func:`make_workdir`), which holds the id
of the server's process so that a later server can remove it once that process is gone.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvwall.atomic import os_reason
from lvwall.errors import LvwallError

logger = logging.getLogger(__name__)

#: Finished jobs whose results stay downloadable; older ones are removed.
KEPT_JOBS = 20
#: Seconds :meth:`JobQueue.close` waits for the running job to stop.
STOP_TIMEOUT_S = 60.0
#: HTTP status of a job that failed for its upload, and of one that failed for the server.
BAD_UPLOAD, SERVER_FAILURE = 422, 500
#: The states of a job, in the order a job goes through them.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: The prefix of a server's temporary folder, and the file in it naming the server's process.
WORKDIR_PREFIX, PID_FILE = "lvwall-serve-", "server.pid"
#: Age after which a server folder of this user without a process id file (one made by an
#: older lvwall, or one whose server died before writing it) counts as stale: one day.
STALE_AGE_S = 24 * 3600.0


def make_workdir(parent: Path | None = None) -> Path:
    """A new temporary folder for a server in ``parent`` (the system's temporary folder by
    default), holding this process's id in :data:`PID_FILE`, once the stale folders there
    are removed (:func:`remove_stale_workdirs`)."""
    parent = Path(tempfile.gettempdir()) if parent is None else parent
    remove_stale_workdirs(parent)
    workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=parent))
    (workdir / PID_FILE).write_text(f"{os.getpid()}\n", encoding="ascii")
    return workdir


def remove_stale_workdirs(parent: Path, now: float | None = None) -> list[Path]:
    """Remove the folders ``lvwall-serve-*`` in ``parent`` that belong to this user and
    whose server is gone: their :data:`PID_FILE` names a process that no longer runs, or
    they have none and are older than :data:`STALE_AGE_S`. Returns those removed; a folder
    that cannot be read or removed is left as it is."""
    now = time.time() if now is None else now
    removed = []
    for folder in sorted(parent.glob(f"{WORKDIR_PREFIX}*")):
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            info = folder.stat()
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                continue
            pid_file = folder / PID_FILE
            if pid_file.is_file():
                stale = not _running(int(pid_file.read_text(encoding="ascii").strip()))
            else:
                stale = now - info.st_mtime > STALE_AGE_S
        except (OSError, ValueError):
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs (a process of another user counts as running)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # Windows: an invalid pid
        return False
    return True


class JobCancelledError(Exception):
    """The server is stopping: the running job ends at its next step."""


@dataclass
class Job:
    """One upload's analysis: its folder, where it stands, and its result or error.

    ``options`` holds what the upload asked for besides its files (serve's app: the view),
    for the run function. The worker thread updates the job while request handlers read
    :meth:`status`.
    """

    id: str
    folder: Path
    cancelled: threading.Event
    options: Any = None
    state: str = QUEUED
    stage_name: str = "waiting for the analysis before it"
    done: int = 0
    total: int | None = None
    result: Any = None
    error: str | None = None
    http_status: int = 200
    finished: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def upload_dir(self) -> Path:
        return self.folder / "upload"

    @property
    def results_dir(self) -> Path:
        return self.folder / "results"

    def upload_folder(self, field: str) -> Path:
        """Where the file of form field ``field`` goes: a folder of its own under
        :attr:`upload_dir`, so that two uploads of one file name stay apart."""
        return self.upload_dir / field

    def stage(self, name: str, total: int | None = None) -> None:
        """Start a stage of ``total`` steps (as
        :class:`lvwall.serve.analysis.AnalysisProgress`)."""
        self._check_cancelled()
        with self._lock:
            self.stage_name, self.done, self.total = name, 0, total

    def advance(self) -> None:
        self._check_cancelled()
        with self._lock:
            self.done += 1

    def _check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelledError

    def public(self, text: str) -> str:
        """``text`` with the job's folders left out of the paths it names: an upload as the
        user named it, results by their path in the results."""
        fields = sorted(self.upload_dir.iterdir()) if self.upload_dir.is_dir() else []
        for folder in (*(f for f in fields if f.is_dir()), self.upload_dir, self.results_dir):
            text = text.replace(f"{folder}{os.sep}", "")
        return text

    def begin(self) -> None:
        with self._lock:
            self.state, self.stage_name = RUNNING, "reading the recording"

    def finish(self, result: Any = None, error: str | None = None, status: int = 200) -> None:
        with self._lock:
            self.state = DONE if error is None else FAILED
            self.result, self.error, self.http_status = result, error, status
        self.finished.set()

    def status(self, position: int | None = None) -> dict[str, Any]:
        """Where the job stands, as the page shows it; ``position``: jobs ahead of it."""
        with self._lock:
            return {
                "id": self.id,
                "state": self.state,
                "position": position,
                "stage": self.stage_name,
                "done": self.done,
                "total": self.total,
                "error": self.error,
                "result": self.result,
            }


class JobQueue:
    """Runs jobs one at a time with ``run`` (job -> its JSON result) in a worker thread.

    ``run`` raising :class:`LvwallError` fails the job with that sentence (a bad upload);
    anything else fails it as a server error, logged with its traceback.
    """

    def __init__(self, root: Path, run: Callable[[Job], Any], kept: int = KEPT_JOBS) -> None:
        if kept < 1:
            raise ValueError(f"kept must be at least 1, got {kept}")
        self.root = root
        self.run = run
        self.kept = kept
        self.cancelled = threading.Event()
        self._jobs: dict[str, Job] = {}
        self._pending: list[str] = []
        self._finished: list[str] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="lvwall-serve-jobs", daemon=True)
        self._worker.start()

    def new_job(self) -> Job:
        """A job with its folder made, not queued yet: its uploads go into
        :meth:`Job.upload_folder` first, then :meth:`start` queues it."""
        job_id = uuid.uuid4().hex
        job = Job(job_id, self.root / job_id, self.cancelled)
        job.upload_dir.mkdir(parents=True)
        with self._lock:
            self._jobs[job.id] = job
        return job

    def start(self, job: Job) -> None:
        with self._lock:
            self._pending.append(job.id)
        self._queue.put(job)

    def discard(self, job: Job) -> None:
        """Forget a job that was never started (its upload failed) and remove its folder."""
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def status(self, job: Job) -> dict[str, Any]:
        with self._lock:
            position = self._pending.index(job.id) if job.id in self._pending else None
        return job.status(position)

    def close(self) -> None:
        """Stop the running job at its next step, end the worker and forget every job."""
        self.cancelled.set()
        self._queue.put(None)
        self._worker.join(STOP_TIMEOUT_S)
        with self._lock:
            for job in self._jobs.values():
                if not job.finished.is_set():
                    job.finish(error="the server stopped before this recording was analysed")

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            with self._lock:
                self._pending.remove(job.id)
            if self.cancelled.is_set():
                break
            job.begin()
            try:
                job.finish(self.run(job))
            except JobCancelledError:
                job.finish(error="the server stopped before this recording was analysed")
            except LvwallError as error:
                # An upload over a limit (a zip unpacked) says 413 as other uploads over it.
                status = getattr(error, "http_status", BAD_UPLOAD)
                job.finish(error=job.public(str(error)), status=status)
            except OSError as error:  # the server's disk, as the CLI tells it
                where = f"{error.filename}: " if error.filename else ""
                job.finish(error=job.public(where + os_reason(error)), status=SERVER_FAILURE)
            except Exception as error:  # a bug; the server goes on with the next upload
                logger.exception("analysing job %s failed", job.id)
                job.finish(
                    error=job.public(f"the analysis failed in the server ({error!r}); see its log"),
                    status=SERVER_FAILURE,
                )
            self._forget_old(job)

    def _forget_old(self, job: Job) -> None:
        with self._lock:
            self._finished.append(job.id)
            old = self._finished[: -self.kept]
            del self._finished[: -self.kept]
            removed = [self._jobs.pop(job_id) for job_id in old]
        for stale in removed:
            shutil.rmtree(stale.folder, ignore_errors=True)
