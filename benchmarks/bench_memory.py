"""Peak memory of ``lvwall predict`` and of the page (``lvwall serve``) on a long and on a
large recording, against the target of 1.5 GB for both.

Run: ``.venv/bin/python benchmarks/bench_memory.py [--work DIR] [--cases long large]
[--tools predict page]``.

Two synthetic echo videos (``lvwall.benchmark.synthetic_echo_video``): ``long``, 2000 frames
of 800x600, and ``large``, 60 frames of 4096x4096 (the largest frame lvwall reads,
``lvwall.data.MAX_FRAME_PIXELS``; drawn at 512x512 and enlarged, so that the file stays
small). Each tool runs as its own process: ``lvwall predict VIDEO --out ...``, and ``lvwall
serve`` given the video as an upload (``POST /api/analyse``: segmentation, measurement,
regional analysis and overlay video). The figure is the process's peak resident set size
(Linux ``VmHWM``), read when it is done. The videos are kept in ``--work`` for the next run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import httpx

from lvwall.benchmark import machine_facts, synthetic_echo_video
from lvwall.data import discover, write_video

TARGET_BYTES = 1.5e9
#: (frames, height, width, side it is drawn at before being enlarged, or None).
CASES = {"long": (2000, 600, 800, None), "large": (60, 4096, 4096, 512)}
#: The lvwall command of the environment this script runs in.
LVWALL = [str(Path(sys.executable).with_name("lvwall"))]


def case_video(work: Path, case: str) -> Path:
    """The video of ``case`` in ``work``, made once."""
    frames, height, width, drawn = CASES[case]
    video = work / f"{case}.mp4"
    if video.exists():
        return video
    if drawn is None:
        return synthetic_echo_video(video, frames, height, width)
    small = synthetic_echo_video(work / f"{case}-drawn.mp4", frames, drawn, drawn)
    (source,) = discover([small])
    enlarged = (
        cv2.resize(frame, (width, height), interpolation=cv2.INTER_NEAREST)
        for frame in source.open().frames()
    )
    return write_video(video, enlarged, fps=50.0)


def peak_bytes(pid: int) -> int:
    """The peak resident set size of the live process ``pid`` (Linux ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("this benchmark reads /proc/PID/status: it runs on Linux only")


def run_predict(video: Path, out: Path) -> tuple[int, float]:
    """Peak bytes and seconds of ``lvwall predict`` on ``video``."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [*LVWALL, "predict", str(video), "--out", str(out)], stdout=subprocess.DEVNULL
    )
    # wait4 returns the child's own peak (ru_maxrss, KiB on Linux) as it is reaped.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"lvwall predict failed on {video} (exit {process.returncode})")
    return usage.ru_maxrss * 1024, time.perf_counter() - start


def run_page(video: Path) -> tuple[int, float]:
    """Peak bytes and seconds of ``lvwall serve`` analysing ``video`` as an upload."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_urlsafe(16)
    server = subprocess.Popen(
        [*LVWALL, "serve", "--port", str(port), "--token", token, "--max-upload-mb", "2048"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url)
        start = time.perf_counter()
        with video.open("rb") as handle:
            response = httpx.post(
                f"{url}/api/analyse",
                files={"file": (video.name, handle, "video/mp4")},
                headers={"X-Lvwall-Token": token},
                timeout=None,
            )
        seconds = time.perf_counter() - start
        if response.status_code != 200:
            raise RuntimeError(f"the page failed on {video}: {response.text}")
        return peak_bytes(server.pid), seconds
    finally:
        server.terminate()
        server.wait()


def _wait_until_up(url: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/info", timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.5)
    raise RuntimeError(f"lvwall serve did not answer at {url} within {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/bench-memory"))
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--tools", nargs="+", default=["predict", "page"])
    args = parser.parse_args()
    unknown = set(args.tools) - {"predict", "page"}
    if unknown:
        parser.error(f"unknown --tools {sorted(unknown)}; choose from predict, page")
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"processor: {machine_facts()['cpu']}; target: peak under {TARGET_BYTES / 1e9:.1f} GB")
    print(f"{'case':<34} {'tool':<8} {'peak RSS':>9} {'seconds':>8}  target")
    for case in args.cases:
        frames, height, width, _ = CASES[case]
        video = case_video(args.work, case)
        label = f"{case}: {frames} frames of {width}x{height}"
        for tool in args.tools:
            if tool == "predict":
                peak, seconds = run_predict(video, args.work / f"out-{case}")
            else:
                peak, seconds = run_page(video)
            verdict = "met" if peak < TARGET_BYTES else "NOT met"
            print(f"{label:<34} {tool:<8} {peak / 1e9:>7.2f} GB {seconds:>8.1f}  {verdict}")


if __name__ == "__main__":
    main()
