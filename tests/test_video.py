"""Tests for lvwall.data.video: round trips through AVI/MP4/GIF and every unreadable input."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from lvwall.data.video import (
    VideoInfo,
    gif_frame_count,
    iter_frames,
    probe,
    read_frames,
    write_video,
)
from lvwall.errors import DataError

N_FRAMES = 6


def _smooth_frames(height: int, width: int, *, colour: bool) -> list[np.ndarray]:
    """Frames whose brightness differs per frame, smooth in space so lossy codecs keep them."""
    yy, xx = np.mgrid[:height, :width]
    frames = []
    for t in range(N_FRAMES):
        grey = 40 + 25 * t + 40 * (xx / width) + 30 * (yy / height)
        frame = np.stack([grey, grey * 0.8 + 20, grey * 0.6 + 40], axis=2) if colour else grey
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def _as_rgb(frame: np.ndarray) -> np.ndarray:
    return np.repeat(frame[:, :, None], 3, axis=2) if frame.ndim == 2 else frame


# suffix, frame size (H, W), colour, size read back, largest mean absolute error allowed
ROUND_TRIPS = [
    (".avi", (32, 48), False, (32, 48), 1.5),
    (".avi", (32, 48), True, (32, 48), 2.0),
    (".mp4", (32, 48), False, (32, 48), 1.5),
    (".mp4", (32, 48), True, (32, 48), 3.0),
    (".mp4", (33, 47), True, (34, 48), 3.0),  # 4:2:0 needs even sizes: padded by one
    (".gif", (32, 48), False, (32, 48), 0.0),
    (".gif", (33, 47), True, (33, 47), 2.0),
]


@pytest.mark.parametrize(("suffix", "size", "colour", "read_size", "tolerance"), ROUND_TRIPS)
def test_write_then_read_round_trip(
    tmp_path: Path,
    suffix: str,
    size: tuple[int, int],
    colour: bool,
    read_size: tuple[int, int],
    tolerance: float,
) -> None:
    frames = _smooth_frames(*size, colour=colour)
    path = write_video(tmp_path / f"clip{suffix}", frames, fps=25.0)

    decoded = read_frames(path)

    assert decoded.shape == (N_FRAMES, *read_size, 3)
    assert decoded.dtype == np.uint8
    original = np.stack([_as_rgb(frame) for frame in frames]).astype(float)
    cropped = decoded[:, : size[0], : size[1]].astype(float)
    assert np.abs(cropped - original).mean() <= tolerance
    assert probe(path) == VideoInfo(
        width=read_size[1], height=read_size[0], fps=25.0, n_frames=N_FRAMES
    )
    assert not [p for p in tmp_path.iterdir() if p.name != path.name]  # no temp file left


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_opencv_reads_what_we_write(tmp_path: Path, suffix: str) -> None:
    frames = _smooth_frames(32, 48, colour=True)
    path = write_video(tmp_path / f"clip{suffix}", frames)

    capture = cv2.VideoCapture(str(path))
    decoded = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        decoded.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()

    assert len(decoded) == N_FRAMES
    assert np.abs(np.stack(decoded).astype(float) - np.stack(frames)).mean() < 4.0


@pytest.mark.parametrize(("start", "stop", "expected"), [(0, None, 6), (2, 4, 2), (4, 10, 2)])
def test_read_frames_takes_the_half_open_range(
    tmp_path: Path, start: int, stop: int | None, expected: int
) -> None:
    frames = _smooth_frames(16, 16, colour=False)
    path = write_video(tmp_path / "clip.avi", frames)

    decoded = read_frames(path, start, stop)

    assert len(decoded) == expected
    # Each frame is 25 grey levels brighter than the one before, so means identify frames.
    means = decoded[..., 0].mean(axis=(1, 2))
    expected_means = [frames[i].mean() for i in range(start, start + expected)]
    np.testing.assert_allclose(means, expected_means, atol=2.0)


@pytest.mark.parametrize(("start", "stop"), [(-1, None), (3, 2)])
def test_read_frames_rejects_bad_ranges(tmp_path: Path, start: int, stop: int | None) -> None:
    path = write_video(tmp_path / "clip.avi", _smooth_frames(16, 16, colour=False))
    with pytest.raises(ValueError, match="start"):
        read_frames(path, start, stop)


def test_read_frames_past_the_end_names_the_file(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi", _smooth_frames(16, 16, colour=False))
    with pytest.raises(DataError, match="clip.avi"):
        read_frames(path, N_FRAMES + 1)


def test_iter_frames_streams_one_frame_at_a_time(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi", _smooth_frames(16, 16, colour=False))
    frames = iter_frames(path)
    first = next(frames)
    assert first.shape == (16, 16, 3)
    assert sum(1 for _ in frames) == N_FRAMES - 1


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(4096))


def _empty_file(path: Path) -> None:
    path.write_bytes(b"")


def _truncated_avi(path: Path) -> None:
    full = write_video(path.with_name("full.avi"), _smooth_frames(64, 64, colour=True))
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _zero_frame_avi(path: Path) -> None:
    container = av.open(str(path), mode="w")
    stream = container.add_stream("mjpeg", rate=25)
    stream.width, stream.height, stream.pix_fmt = 32, 32, "yuvj444p"
    container.start_encoding()
    container.close()


def _audio_only(path: Path) -> None:
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0" * 1600)


BAD_VIDEOS = [
    ("missing.avi", None, "not found"),
    ("garbage.avi", _random_bytes, "cannot be decoded"),
    ("empty.avi", _empty_file, "cannot be decoded"),
    ("truncated.avi", _truncated_avi, "truncated"),
    ("zero_frames.avi", _zero_frame_avi, "no decodable frames"),
    ("audio.wav", _audio_only, "no video stream"),
]


@pytest.mark.parametrize(("name", "make", "problem"), BAD_VIDEOS)
def test_unreadable_videos_raise_data_error_naming_the_file(
    tmp_path: Path, name: str, make: Callable[[Path], None] | None, problem: str
) -> None:
    path = tmp_path / name
    if make is not None:
        make(path)
    with pytest.raises(DataError, match=problem) as caught:
        list(iter_frames(path))
    assert caught.value.path == path
    assert name in str(caught.value)


def _avi_cut_at_frame(path: Path, n_kept: int) -> Path:
    """An AVI of N_FRAMES frames cut just before frame ``n_kept``: no decoder error follows."""
    whole = write_video(path.with_name("whole.avi"), _smooth_frames(16, 16, colour=False))
    with av.open(str(whole)) as container:
        starts = [packet.pos for packet in container.demux(video=0) if packet.size]
    path.write_bytes(whole.read_bytes()[: starts[n_kept]])
    return path


@pytest.mark.parametrize("n_kept", [1, 3, N_FRAMES - 1])
def test_an_avi_cut_at_a_frame_boundary_is_reported_after_its_frames(
    tmp_path: Path, n_kept: int
) -> None:
    path = _avi_cut_at_frame(tmp_path / "cut.avi", n_kept)
    decoded = []
    with pytest.raises(DataError) as caught:
        decoded.extend(iter_frames(path))
    assert len(decoded) == n_kept
    assert str(caught.value) == (
        f"{path}: is truncated: decoding ended after {n_kept} of the {N_FRAMES} frames its "
        "header announces"
    )
    # Reading only the frames that are there is no error.
    assert len(read_frames(path, 0, n_kept)) == n_kept


def _avi_with_dropped_frames(path: Path, dropped: set[int]) -> Path:
    """An MJPEG AVI with gaps in its timestamps, which the muxer fills with empty chunks."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuvj444p"
        for index in sorted(set(range(N_FRAMES)) - dropped):
            frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 30 * index, np.uint8))
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.mark.parametrize("dropped", [{2}, {1, 2, 4}])
def test_dropped_frames_in_an_avi_are_not_truncation(tmp_path: Path, dropped: set[int]) -> None:
    path = _avi_with_dropped_frames(tmp_path / "vfr.avi", dropped)
    assert probe(path).n_frames == N_FRAMES  # the header counts the dropped frames
    assert len(list(iter_frames(path))) == N_FRAMES - len(dropped)


def _frames_of_two_sizes() -> list[np.ndarray]:
    return [np.zeros((16, 16), np.uint8), np.zeros((16, 18), np.uint8)]


BAD_WRITES = [
    ("clip.mov", [np.zeros((16, 16), np.uint8)], "suffix"),
    ("clip.avi", [], "no frames"),
    ("clip.avi", [np.zeros((16, 16), np.float32)], "uint8"),
    ("clip.avi", [np.zeros((16, 16, 4), np.uint8)], "shape"),
    ("clip.avi", _frames_of_two_sizes(), "16x16"),
    ("clip.gif", _frames_of_two_sizes(), "16x16"),
]


@pytest.mark.parametrize(("name", "frames", "problem"), BAD_WRITES)
def test_bad_writes_raise_and_leave_nothing_behind(
    tmp_path: Path, name: str, frames: list[np.ndarray], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        write_video(tmp_path / name, frames)
    assert list(tmp_path.iterdir()) == []


def test_write_video_rejects_non_positive_fps(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fps"):
        write_video(tmp_path / "clip.avi", [np.zeros((16, 16), np.uint8)], fps=0)


@pytest.mark.parametrize("fps", [12.5, 30.0])
def test_probe_reports_the_written_frame_rate(tmp_path: Path, fps: float) -> None:
    path = write_video(tmp_path / "clip.avi", _smooth_frames(16, 16, colour=False), fps=fps)
    assert probe(path).fps == pytest.approx(fps)


def test_reads_the_real_hmcqu_gif(hmcqu_sample_dir: Path) -> None:
    path = hmcqu_sample_dir / "ES0001 _4CH_1.gif"
    info = probe(path)
    first = next(iter_frames(path))
    assert (info.width, info.height) == (636, 422)
    assert first.shape == (422, 636, 3)
    assert sum(1 for _ in iter_frames(path)) == 41


def _gif_bytes(tmp_path: Path, n_frames: int) -> bytes:
    frames = np.random.default_rng(0).integers(0, 256, (n_frames, 40, 48, 3), dtype=np.uint8)
    return write_video(tmp_path / "whole.gif", frames, fps=10).read_bytes()


@pytest.mark.parametrize(
    ("cut", "problem"),
    [
        (lambda data: data, None),
        (lambda data: data + b"\0\0", None),  # bytes after the trailer are not frames
        (
            lambda data: data[:-1],
            "is truncated: the GIF stops after 5 whole frames, without the end marker",
        ),
        (lambda data: data[: len(data) // 2], "is truncated: the GIF stops after"),
        (lambda data: data[:20], "stops after 0 whole frames"),
        (lambda data: data[:8], "is not a GIF file"),
        (lambda data: b"PNG" + data[3:], "is not a GIF file"),
        (lambda data: data[:-1] + b"\x99", "an unknown block follows frame 5"),
    ],
)
def test_gif_frame_count_counts_blocks_and_finds_truncation(
    tmp_path: Path, cut: Callable[[bytes], bytes], problem: str | None
) -> None:
    path = tmp_path / "clip.gif"
    path.write_bytes(cut(_gif_bytes(tmp_path, 5)))
    if problem is None:
        assert gif_frame_count(path) == 5
        return
    with pytest.raises(DataError, match=problem.replace("(", r"\(").replace(")", r"\)")) as info:
        gif_frame_count(path)
    assert str(info.value).startswith(f"{path}: ")
