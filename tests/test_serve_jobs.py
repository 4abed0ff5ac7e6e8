"""The job queue of ``lvwall serve``: one job at a time, in order, each failure its own."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lvwall.errors import DataError
from lvwall.serve.jobs import (
    DONE,
    FAILED,
    PID_FILE,
    STALE_AGE_S,
    WORKDIR_PREFIX,
    Job,
    JobQueue,
    make_workdir,
    remove_stale_workdirs,
)
from lvwall.serve.uploads import upload_too_large


def _run_all(queue: JobQueue, count: int) -> list[Job]:
    jobs = [queue.new_job() for _ in range(count)]
    for job in jobs:
        queue.start(job)
    for job in jobs:
        assert job.finished.wait(10)
    return jobs


def test_jobs_run_one_at_a_time_in_the_order_they_came(tmp_path: Path) -> None:
    started: list[str] = []
    running = []
    lock = threading.Lock()

    def run(job: Job) -> dict:
        with lock:
            running.append(job.id)
            overlapping = len(running)
        started.append(job.id)
        time.sleep(0.02)
        with lock:
            running.remove(job.id)
        return {"overlapping": overlapping}

    queue = JobQueue(tmp_path, run)
    jobs = _run_all(queue, 4)
    queue.close()
    assert started == [job.id for job in jobs]
    assert [job.status()["result"] for job in jobs] == [{"overlapping": 1}] * 4
    assert all(job.state == DONE for job in jobs)


def _saved(folder: Path) -> Path:
    """``folder`` made, as saving an upload into it makes it."""
    folder.mkdir(parents=True)
    return folder


@pytest.mark.parametrize(
    ("error", "status", "sentence"),
    [
        (
            lambda job: DataError(job.upload_dir / "echo.avi", "is truncated"),
            422,
            "echo.avi: is truncated",
        ),
        (
            lambda job: DataError(_saved(job.upload_folder("a2c")) / "two.avi", "is truncated"),
            422,
            "two.avi: is truncated",
        ),
        (
            lambda job: DataError(job.results_dir / "predict" / "a.csv", "could not be written"),
            422,
            "predict/a.csv: could not be written",
        ),
        (
            lambda job: OSError(28, "No space left on device", str(job.folder / "x")),
            500,
            "no space left on device",
        ),
        (
            lambda job: KeyError("frames"),
            500,
            "the analysis failed in the server (KeyError('frames'))",
        ),
    ],
)
def test_a_failed_job_keeps_its_sentence_without_the_server_folders(
    tmp_path: Path, error, status: int, sentence: str
) -> None:
    def run(job: Job) -> dict:
        raise error(job)

    queue = JobQueue(tmp_path, run)
    (failed,) = _run_all(queue, 1)
    queue.close()
    assert (failed.state, failed.http_status) == (FAILED, status)
    assert sentence in failed.error
    assert str(tmp_path / failed.id / "upload") not in failed.error
    assert f"a2c{os.sep}" not in failed.error


def test_only_the_latest_finished_jobs_are_kept(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path, lambda job: {}, kept=2)
    jobs = _run_all(queue, 3)
    time.sleep(0.05)  # the worker forgets old jobs right after finishing a job
    queue.close()
    assert queue.get(jobs[0].id) is None and not jobs[0].folder.exists()
    assert all(queue.get(job.id) is job and job.folder.is_dir() for job in jobs[1:])


def test_closing_stops_the_running_job_at_its_next_step(tmp_path: Path) -> None:
    entered = threading.Event()

    def run(job: Job) -> dict:
        job.stage("segmenting", 1000)
        entered.set()
        while True:
            job.advance()
            time.sleep(0.001)

    queue = JobQueue(tmp_path, run)
    job = queue.new_job()
    queue.start(job)
    assert entered.wait(10)
    queue.close()
    assert job.state == FAILED and "the server stopped" in job.error
    assert job.status()["stage"] == "segmenting" and job.status()["done"] > 0


def test_a_queued_job_knows_how_many_are_ahead(tmp_path: Path) -> None:
    release = threading.Event()
    queue = JobQueue(tmp_path, lambda job: release.wait(10))
    first, second, third = (queue.new_job() for _ in range(3))
    for job in (first, second, third):
        queue.start(job)
    deadline = time.monotonic() + 10
    while queue.status(first)["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert [queue.status(job)["position"] for job in (second, third)] == [0, 1]
    release.set()
    assert third.finished.wait(10)
    queue.close()


def _gone_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _server_folder(parent: Path, name: str, pid: int | str | None, age_s: float = 0) -> Path:
    folder = parent / name
    (folder / "job" / "upload").mkdir(parents=True)
    (folder / "job" / "upload" / "IM0001.dcm").write_bytes(b"a patient's DICOM")
    if pid is not None:
        (folder / PID_FILE).write_text(f"{pid}\n")
    stamp = time.time() - age_s
    os.utime(folder, (stamp, stamp))
    return folder


#: Folders in the temporary folder when a server starts: name, the process id in its pid
#: file (None: none), its age in seconds, and whether the new server removes it.
FOLDERS = [
    ("lvwall-serve-killed", "gone", 0, True),
    ("lvwall-serve-running", "self", 0, False),
    ("lvwall-serve-another-users-process", "init", 0, False),
    ("lvwall-serve-old-no-pid", None, 2 * STALE_AGE_S, True),
    ("lvwall-serve-new-no-pid", None, 60, False),
    ("lvwall-serve-bad-pid", "not a number", 0, False),
    ("someone-elses-folder", "gone", 2 * STALE_AGE_S, False),
]


def test_a_starting_server_removes_the_folders_of_servers_that_are_gone(tmp_path: Path) -> None:
    pids = {"gone": _gone_pid(), "self": os.getpid(), "init": 1}
    for name, pid, age, _ in FOLDERS:
        _server_folder(tmp_path, name, pids.get(pid, pid), age)
    (tmp_path / "lvwall-serve-a-file").write_text("not a folder")
    workdir = make_workdir(tmp_path)
    assert workdir.parent == tmp_path and workdir.name.startswith(WORKDIR_PREFIX)
    assert (workdir / PID_FILE).read_text().strip() == str(os.getpid())
    for name, _, _, removed in FOLDERS:
        assert (tmp_path / name).exists() is not removed, name
    assert (tmp_path / "lvwall-serve-a-file").is_file()
    # The new server's own folder is kept by the next one while this process runs.
    assert remove_stale_workdirs(tmp_path) == []
    assert workdir.is_dir()


def test_an_upload_over_the_limit_fails_its_job_with_413(tmp_path: Path) -> None:
    def run(job: Job) -> dict:
        raise upload_too_large(1000, name="clip.zip")

    queue = JobQueue(tmp_path, run)
    (job,) = _run_all(queue, 1)
    queue.close()
    assert (job.state, job.http_status) == (FAILED, 413)
    assert job.error.startswith("clip.zip: is larger than this server's upload limit")
