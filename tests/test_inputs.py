"""Every kind of recording a user may have: discovery, opening, streamed frames, bad files."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import convert_color_space

from echo_inputs import write_dicom
from lvwall.data.inputs import (
    MAX_FRAME_PIXELS,
    MAX_SIDE,
    MIN_SIDE,
    Recording,
    discover,
    input_kind,
    natural_key,
)
from lvwall.data.video import write_video
from lvwall.errors import DataError

HEIGHT, WIDTH, N_FRAMES = 64, 80, 5


def ramp_frames(n: int = N_FRAMES, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """RGB uint8 frames whose brightness encodes the frame index (20, 60, 100, ...)."""
    frames = np.zeros((n, height, width, 3), dtype=np.uint8)
    for index in range(n):
        frames[index] = (20 + 40 * index) % 250
    return frames


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


@pytest.mark.parametrize(
    ("layout", "as_recordings", "expected_names"),
    [
        (["clip.avi"], True, ["clip"]),
        (["frames/f10.png", "frames/f2.png", "frames/f1.png"], True, ["frames"]),
        (["frames/f10.png", "frames/f2.png", "frames/f1.png"], False, ["f1", "f2", "f10"]),
        (["mixed/b.png", "mixed/a.avi", "mixed/notes.txt", "mixed/.hidden.avi"], True, ["a", "b"]),
        (["mixed/a.avi", "mixed/a.gif", "mixed/scan.dcm"], True, ["a", "a_gif", "scan"]),
        (["tree/one/f1.png", "tree/one/f2.png", "tree/two.mp4"], True, ["one", "two"]),
        (["seq/f1.png", "seq/f2.png", "seq/notes.txt", "seq/.DS_Store"], True, ["seq"]),
        (["tree/empty/.keep", "tree/a.avi"], True, ["a"]),
    ],
)
def test_discover_finds_one_source_per_recording(
    tmp_path: Path, layout: list[str], as_recordings: bool, expected_names: list[str]
) -> None:
    for relative in layout:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"")
    top = {Path(relative).parts[0] for relative in layout}
    sources = discover(
        [tmp_path / name for name in sorted(top)], image_folders_as_recordings=as_recordings
    )
    assert [source.name for source in sources] == expected_names


def test_discover_keeps_missing_paths_and_duplicates_once(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    write_video(clip, ramp_frames(), fps=10)
    missing = tmp_path / "missing.avi"
    sources = discover([clip, missing, tmp_path / "." / "clip.avi"])
    assert [source.path for source in sources] == [clip, missing]
    with pytest.raises(DataError, match=r"missing\.avi: does not exist$"):
        sources[1].open()


def test_natural_key_orders_digit_runs_by_value() -> None:
    names = ["frame10.png", "Frame2.png", "frame1.png", "frame1b.png"]
    assert sorted(names, key=natural_key) == [
        "frame1.png",
        "frame1b.png",
        "Frame2.png",
        "frame10.png",
    ]


@pytest.mark.parametrize(
    ("suffix", "exact"),
    [(".avi", False), (".mp4", False), (".gif", False)],
)
def test_videos_stream_frames_with_size_and_fps(tmp_path: Path, suffix: str, exact: bool) -> None:
    expected = ramp_frames()
    path = write_video(tmp_path / f"clip{suffix}", expected, fps=10)
    recording = discover([path])[0].open()
    assert (recording.kind, recording.width, recording.height) == ("video", WIDTH, HEIGHT)
    assert recording.fps == pytest.approx(10, rel=0.01)
    frames = np.stack(list(recording.frames()))
    assert frames.shape == expected.shape and frames.dtype == np.uint8
    assert np.abs(frames.astype(int) - expected).max() <= 3


def test_single_image_and_image_folder(tmp_path: Path) -> None:
    expected = ramp_frames(3)
    for index in (2, 0, 1):  # written out of order, named so natural order is 0, 1, 2
        write_png(tmp_path / "loop" / f"frame{index * 5}.png", expected[index])
    folder = discover([tmp_path / "loop"])[0].open()
    assert (folder.kind, folder.n_frames, folder.fps) == ("image-folder", 3, None)
    np.testing.assert_array_equal(np.stack(list(folder.frames())), expected)

    single = discover([tmp_path / "loop" / "frame5.png"])[0].open()
    assert (single.kind, single.width, single.height, single.n_frames) == (
        "image",
        WIDTH,
        HEIGHT,
        1,
    )
    np.testing.assert_array_equal(next(single.frames()), expected[1])


@pytest.mark.parametrize(
    ("photometric", "rgb", "tolerance"),
    [("MONOCHROME2", False, 0), ("RGB", True, 0), ("YBR_FULL", True, 3)],
)
def test_dicom_frames_come_out_rgb(
    tmp_path: Path, photometric: str, rgb: bool, tolerance: int
) -> None:
    rng = np.random.default_rng(0)
    expected = rng.integers(0, 256, (N_FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
    if not rgb:
        expected[..., 1] = expected[..., 2] = expected[..., 0]
    stored = expected[..., 0] if not rgb else expected
    if photometric == "YBR_FULL":
        stored = convert_color_space(expected, "RGB", "YBR_FULL")
        expected = convert_color_space(stored, "YBR_FULL", "RGB")
    path = write_dicom(tmp_path / "loop.dcm", stored, photometric)
    recording = discover([path])[0].open()
    assert (recording.kind, recording.n_frames, recording.width) == ("dicom", N_FRAMES, WIDTH)
    frames = np.stack(list(recording.frames()))
    assert frames.shape == (N_FRAMES, HEIGHT, WIDTH, 3)
    assert np.abs(frames.astype(int) - expected).max() <= tolerance


@pytest.mark.parametrize(
    ("fields", "fps", "spacing"),
    [
        ({"FrameTime": 20.0, "PixelSpacing": [0.3, 0.25]}, 50.0, (0.3, 0.25)),
        ({"CineRate": 30}, 30.0, None),
        ({}, None, None),
    ],
)
def test_dicom_timing_and_pixel_spacing(
    tmp_path: Path, fields: dict, fps: float | None, spacing: tuple | None
) -> None:
    path = write_dicom(tmp_path / "x.dcm", np.zeros((2, 32, 32), np.uint8), **fields)
    recording = discover([path])[0].open()
    assert recording.fps == (pytest.approx(fps) if fps else None)
    assert recording.pixel_spacing_mm == (pytest.approx(spacing) if spacing else None)


def test_dicom_ultrasound_region_calibration_is_read_in_mm(tmp_path: Path) -> None:
    region = Dataset()
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3  # cm
    region.PhysicalDeltaX, region.PhysicalDeltaY = 0.02, 0.03
    path = write_dicom(
        tmp_path / "x.dcm", np.zeros((1, 32, 32), np.uint8), SequenceOfUltrasoundRegions=[region]
    )
    assert discover([path])[0].open().pixel_spacing_mm == pytest.approx((0.3, 0.2))


def test_dicom_without_extension_is_recognised(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "IM000001", np.zeros((1, 32, 32), np.uint8))
    assert input_kind(path) == "dicom"
    assert [s.name for s in discover([tmp_path])] == ["IM000001"]


def _truncated_video(tmp_path: Path) -> Path:
    whole = write_video(tmp_path / "whole.avi", ramp_frames(20), fps=10).read_bytes()
    path = tmp_path / "cut.avi"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _video_cut_at_a_frame_boundary(tmp_path: Path) -> Path:
    """Half of an MJPEG AVI of noise: FFmpeg decodes the first half without complaint."""
    noise = np.random.default_rng(0).integers(0, 256, (30, HEIGHT, WIDTH, 3), dtype=np.uint8)
    whole = write_video(tmp_path / "whole.avi", noise, fps=10).read_bytes()
    path = tmp_path / "short.avi"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _video_without_frames(tmp_path: Path) -> Path:
    path = tmp_path / "zero.mp4"
    container = av.open(str(path), mode="w")
    stream = container.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    container.start_encoding()  # writes the header; no frame ever follows
    container.close()
    return path


def _bad_input(tmp_path: Path, kind: str) -> Path:
    makers = {
        "text": lambda: _write(tmp_path / "notes.txt", b"not an echo"),
        "fake-png": lambda: _write(tmp_path / "fake.png", b"not an image at all"),
        "empty-video": lambda: _write(tmp_path / "empty.avi", b""),
        "zero-frame-video": lambda: _video_without_frames(tmp_path),
        "truncated-video": lambda: _truncated_video(tmp_path),
        "short-video": lambda: _video_cut_at_a_frame_boundary(tmp_path),
        "dicom-no-pixels": lambda: write_dicom(tmp_path / "report.dcm", None),
        "not-dicom": lambda: _write(tmp_path / "broken.dcm", b"x" * 200),
        "huge-image": lambda: write_png(
            tmp_path / "huge.png", np.zeros((2, MAX_SIDE + 1, 3), np.uint8)
        ),
        "huge-dicom": lambda: write_dicom(
            tmp_path / "huge.dcm", np.zeros((1, 1, MAX_SIDE + 1), np.uint8)
        ),
        # Each side within MAX_SIDE, the area over MAX_FRAME_PIXELS (cv2 compresses the
        # zeros to a few kB).
        "wide-image": lambda: write_png(
            tmp_path / "wide.png", np.zeros((MAX_FRAME_PIXELS // 8000 + 1, 8000, 3), np.uint8)
        ),
        "wide-dicom": lambda: write_dicom(
            tmp_path / "wide.dcm", np.zeros((1, MAX_FRAME_PIXELS // 8000 + 1, 8000), np.uint8)
        ),
        "float-tiff": lambda: _float_tiff(tmp_path / "float.tif"),
        "mixed-sizes": lambda: (
            (
                write_png(tmp_path / "seq" / "a1.png", ramp_frames(1)[0]),
                write_png(tmp_path / "seq" / "a2.png", ramp_frames(1, 32, 32)[0]),
            )[0].parent
        ),
        "empty-folder": lambda: _mkdir(tmp_path / "nothing"),
        "one-pixel-png": lambda: write_png(tmp_path / "dot.png", np.zeros((1, 1, 3), np.uint8)),
        "one-pixel-gif": lambda: write_video(tmp_path / "dot.gif", ramp_frames(3, 1, 1)),
        "thin-image": lambda: write_png(tmp_path / "thin.png", ramp_frames(1, MIN_SIDE - 1)[0]),
    }
    return makers[kind]()


def _float_tiff(path: Path) -> Path:
    from PIL import Image

    Image.fromarray(np.linspace(0, 900, 64 * 80, dtype=np.float32).reshape(64, 80)).save(path)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("text", "is not a recording lvwall can read"),
        ("fake-png", "cannot be read as an image"),
        ("empty-video", "cannot be decoded as a video"),
        ("zero-frame-video", "contains no"),
        ("truncated-video", "truncated"),
        ("short-video", "ended after 15 of the 30 frames its header announces"),
        ("dicom-no-pixels", "is a DICOM file without pixel data"),
        ("not-dicom", "cannot be read as a DICOM file"),
        ("huge-image", f"larger than the {MAX_SIDE}-pixel limit"),
        ("huge-dicom", f"larger than the {MAX_SIDE}-pixel limit"),
        ("wide-image", "8000x2098-pixel frames, more than the limit of 16.8 megapixels"),
        ("wide-dicom", "8000x2098-pixel frames, more than the limit of 16.8 megapixels"),
        ("float-tiff", "holds floating-point pixels, which lvwall does not read"),
        ("mixed-sizes", "frame 1 is 32x32 pixels but the recording is 80x64"),
        ("empty-folder", "is a folder without video, DICOM or image files"),
        ("one-pixel-png", f"1x1-pixel frames, smaller than the {MIN_SIDE}-pixel minimum"),
        ("one-pixel-gif", f"1x1-pixel frames, smaller than the {MIN_SIDE}-pixel minimum"),
        ("thin-image", f"80x{MIN_SIDE - 1}-pixel frames, smaller than the {MIN_SIDE}-pixel"),
    ],
)
def test_bad_inputs_raise_one_sentence_naming_the_file(
    tmp_path: Path, kind: str, message: str
) -> None:
    path = _bad_input(tmp_path, kind)
    with pytest.raises(DataError) as info:
        for _ in discover([path])[0].open().frames():
            pass
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text
    assert "\n" not in text


@pytest.mark.parametrize(("count_is_exact", "raises"), [(True, True), (False, False)])
def test_fewer_frames_than_announced_fail_only_where_the_count_is_exact(
    tmp_path: Path, count_is_exact: bool, raises: bool
) -> None:
    recording = Recording(
        path=tmp_path / "clip",
        name="clip",
        kind="video",
        width=WIDTH,
        height=HEIGHT,
        n_frames=5,
        fps=None,
        pixel_spacing_mm=None,
        decode=lambda: iter(ramp_frames(3)),
        frame_count_is_exact=count_is_exact,
    )
    if raises:
        with pytest.raises(DataError, match="ended after 3 of the 5 frames"):
            list(recording.frames())
    else:
        assert len(list(recording.frames())) == 3


def test_a_video_count_is_an_estimate_that_the_decoder_checks(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi", ramp_frames(4), fps=10)
    assert not discover([path])[0].open().frame_count_is_exact


@pytest.mark.parametrize(
    ("fields", "fps", "spacing", "warning"),
    [
        ({"FrameTime": 0.0}, None, None, "ignored its Frame Time of 0 ms"),
        ({"FrameTime": -20.0}, None, None, "ignored its Frame Time of -20 ms"),
        ({"FrameTime": "1e300"}, None, None, "ignored its Frame Time of 1e+300 ms"),
        ({"FrameTime": "nan"}, None, None, "ignored its Frame Time of nan ms"),
        ({"PixelSpacing": ["inf", "inf"]}, None, None, "Pixel Spacing of inf x inf mm"),
        ({"FrameTime": "1e-300", "CineRate": 25}, 25.0, None, "Frame Time of 1e-300 ms"),
        ({"CineRate": 1_000_000}, None, None, "ignored its CineRate of 1e+06 frames per second"),
        ({"PixelSpacing": ["1e60", "1e60"]}, None, None, "Pixel Spacing of 1e+60 x 1e+60 mm"),
        ({"PixelSpacing": ["1e-30", "0.3"]}, None, None, "outside 0.001 to 10 mm per pixel"),
        ({"PixelSpacing": ["0.3", "0"]}, None, None, "Pixel Spacing of 0.3 x 0 mm"),
        ({"FrameTime": 20.0, "PixelSpacing": [0.3, 0.25]}, 50.0, (0.3, 0.25), None),
    ],
)
@pytest.mark.filterwarnings("ignore:Invalid value for VR DS")  # pydicom, writing NaN
def test_absurd_dicom_timing_and_spacing_are_ignored_with_a_warning(
    tmp_path: Path, fields: dict, fps: float | None, spacing: tuple | None, warning: str | None
) -> None:
    path = write_dicom(tmp_path / "x.dcm", np.zeros((2, 32, 32), np.uint8), **fields)
    recording = discover([path])[0].open()
    assert recording.fps == (pytest.approx(fps) if fps else None)
    assert recording.pixel_spacing_mm == (pytest.approx(spacing) if spacing else None)
    if warning is None:
        assert recording.warnings == []
    else:
        assert len(recording.warnings) == 1 and warning in recording.warnings[0]
    assert len(list(recording.frames())) == 2


def test_absurd_ultrasound_region_calibration_is_ignored(tmp_path: Path) -> None:
    region = Dataset()
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3  # cm
    region.PhysicalDeltaX, region.PhysicalDeltaY = 1e59, 1e59
    path = write_dicom(
        tmp_path / "x.dcm", np.zeros((1, 32, 32), np.uint8), SequenceOfUltrasoundRegions=[region]
    )
    recording = discover([path])[0].open()
    assert recording.pixel_spacing_mm is None
    assert "ultrasound region calibration of 1e+60 x 1e+60 mm" in recording.warnings[0]


def _truncated_gif(tmp_path: Path, n_frames: int, keep: float) -> Path:
    whole = write_video(tmp_path / "whole.gif", ramp_frames(n_frames), fps=10).read_bytes()
    path = tmp_path / "cut.gif"
    path.write_bytes(whole[: int(len(whole) * keep)])
    return path


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_a_truncated_gif_is_refused_not_segmented_as_if_whole(tmp_path: Path, keep: float) -> None:
    path = _truncated_gif(tmp_path, 9, keep)
    with pytest.raises(DataError, match="is truncated: the GIF stops after") as info:
        discover([path])[0].open()
    assert str(info.value).startswith(f"{path}: ")


def test_a_whole_gif_counts_its_frames_exactly(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.gif", ramp_frames(7), fps=10)
    recording = discover([path])[0].open()
    assert (recording.n_frames, recording.frame_count_is_exact) == (7, True)
    assert len(list(recording.frames())) == 7


def _write_tiff(path: Path, frames: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    pages = [Image.fromarray(frame) for frame in frames]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    return path


def test_every_page_of_a_multi_page_tiff_is_a_frame(tmp_path: Path) -> None:
    expected = ramp_frames(5)
    path = _write_tiff(tmp_path / "clip.tif", expected)
    recording = discover([path])[0].open()
    assert (recording.kind, recording.n_frames) == ("image", 5)
    frames = np.stack(list(recording.frames()))
    assert np.array_equal(frames, expected)


def test_a_truncated_multi_page_tiff_says_which_page_failed(tmp_path: Path) -> None:
    whole = _write_tiff(tmp_path / "whole.tif", ramp_frames(5)).read_bytes()
    path = tmp_path / "cut.tiff"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"(page \d of its \d|ended after \d of the \d frames)"):
        list(discover([path])[0].open().frames())


def test_a_single_page_tiff_is_one_frame(tmp_path: Path) -> None:
    path = _write_tiff(tmp_path / "still.tiff", ramp_frames(1))
    recording = discover([path])[0].open()
    assert recording.n_frames == 1 and len(list(recording.frames())) == 1


def test_a_video_whose_count_differs_from_its_estimate_gets_a_warning(tmp_path: Path) -> None:
    recording = Recording(
        path=tmp_path / "clip",
        name="clip",
        kind="video",
        width=WIDTH,
        height=HEIGHT,
        n_frames=5,
        fps=None,
        pixel_spacing_mm=None,
        decode=lambda: iter(ramp_frames(3)),
        frame_count_is_exact=False,
    )
    assert len(list(recording.frames())) == 3
    assert len(list(recording.frames())) == 3
    assert recording.warnings == [
        "decoded 3 frames where its header estimates 5 (a truncated file, or an estimate the "
        "container got wrong)"
    ]


def test_a_folder_of_multi_page_tiffs_is_one_recording_per_file(tmp_path: Path) -> None:
    for name in ("b.tif", "a.tif"):
        _write_tiff(tmp_path / "tiffs" / name, ramp_frames(3))
    sources = discover([tmp_path / "tiffs"])
    assert [source.name for source in sources] == ["a", "b"]
    assert [len(list(source.open().frames())) for source in sources] == [3, 3]
