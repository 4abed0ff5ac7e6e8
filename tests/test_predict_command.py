"""`lvwall predict` as a user types it: every input kind, formats, bad inputs, privacy."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import pydicom
import pytest
from typer.testing import CliRunner

from echo_inputs import (
    HEIGHT,
    N_FRAMES,
    PRIVATE_FIELDS,
    WIDTH,
    echo_frames,
    write_dicom,
    write_image,
)
from lvwall.cli import app
from lvwall.data.inputs import discover
from lvwall.data.records import MODEL_SIZE
from lvwall.data.video import probe, write_video
from lvwall.infer import (
    SUMMARY_FILE,
    PredictOptions,
    load_segmentation_model,
    predict_sources,
)
from lvwall.quality import FLAGS

runner = CliRunner(env={"COLUMNS": "400"})


# name -> (maker, frames expected, (height, width), overlay file name)
INPUT_KINDS = {
    "clip.avi": (lambda p: write_video(p, echo_frames(), fps=10), N_FRAMES, "overlay.mp4"),
    "clip2.mp4": (lambda p: write_video(p, echo_frames(), fps=10), N_FRAMES, "overlay.mp4"),
    "loop.gif": (lambda p: write_video(p, echo_frames(), fps=10), N_FRAMES, "overlay.gif"),
    "still.png": (lambda p: write_image(p, echo_frames(1)[0]), 1, "overlay.png"),
    "photo.jpg": (lambda p: write_image(p, echo_frames(1)[0]), 1, "overlay.png"),
    "frames": (
        lambda p: [write_image(p / f"f{i}.png", f) for i, f in enumerate(echo_frames())],
        N_FRAMES,
        "overlay.mp4",
    ),
    "cine.dcm": (
        lambda p: write_dicom(p, echo_frames(), FrameTime=40.0, PixelSpacing=[0.5, 0.4]),
        N_FRAMES,
        "overlay.mp4",
    ),
    "single.dcm": (lambda p: write_dicom(p, echo_frames(1)), 1, "overlay.mp4"),
}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_input_kind_end_to_end(tmp_path: Path, tiny_model: dict[str, Path]) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, (make, _, _) in INPUT_KINDS.items():
        make(inputs / name)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["predict", *sorted(map(str, inputs.iterdir())), "--out", str(out), "--model",
              str(tiny_model["onnx"])]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name, (_, n_frames, overlay_name) in INPUT_KINDS.items():
        folder = out / Path(name).stem
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["masks.npz", "wall_area.csv", "quality.csv", overlay_name]
        )
        quality = _read_csv(folder / "quality.csv")
        assert [int(row["frame"]) for row in quality] == list(range(1, n_frames + 1))
        assert all(0.0 <= float(row["quality"]) <= 1.0 for row in quality)
        assert all(set(filter(None, row["flags"].split(";"))) <= set(FLAGS) for row in quality)
        masks = np.load(folder / "masks.npz")
        assert masks["model"].shape == (n_frames, MODEL_SIZE, MODEL_SIZE)
        assert masks["original"].shape == (n_frames, HEIGHT, WIDTH)
        for key in ("model", "original"):
            assert masks[key].dtype == np.uint8 and set(np.unique(masks[key])) <= {0, 1}
        rows = _read_csv(folder / "wall_area.csv")
        assert [int(row["frame"]) for row in rows] == list(range(1, n_frames + 1))
        assert [int(row["wall_pixels"]) for row in rows] == list(masks["model"].sum(axis=(1, 2)))
        fraction = masks["model"].mean(axis=(1, 2))
        np.testing.assert_allclose(
            [float(r["wall_area_fraction"]) for r in rows], fraction, atol=1e-6
        )
        if overlay_name != "overlay.png":
            assert probe(folder / overlay_name).n_frames in (n_frames, None)
    # mm² only where the file says how large a pixel is: 0.5 mm x 0.4 mm
    rows = _read_csv(out / "cine" / "wall_area.csv")
    original = np.load(out / "cine" / "masks.npz")["original"]
    np.testing.assert_allclose(
        [float(row["wall_area_mm2"]) for row in rows], original.sum(axis=(1, 2)) * 0.2, atol=1e-3
    )
    assert "wall_area_mm2" not in _read_csv(out / "clip" / "wall_area.csv")[0]


def test_torch_tta_and_smoothing_run_end_to_end(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    clip = write_video(tmp_path / "clip.avi", echo_frames(7), fps=10)
    args = ["predict", str(clip), "--out", str(tmp_path / "out"), "--model"]
    result = runner.invoke(
        app, [*args, str(tiny_model["weights"]), "--backend", "torch", "--tta", "--smooth",
              "--largest-component", "--batch-size", "3"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "out" / "clip" / "masks.npz")["model"].shape[0] == 7


def test_png_format_writes_input_sized_masks(tmp_path: Path, tiny_model: dict[str, Path]) -> None:
    sizes = {"a.png": (64, 80), "b.jpg": (50, 70), "c.bmp": (33, 47)}
    for name, (height, width) in sizes.items():
        write_image(tmp_path / "images" / name, echo_frames(1, height, width)[0])
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["predict", str(tmp_path / "images"), "--out", str(out), "--format", "png",
              "--model", str(tiny_model["onnx"])]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "a.png",
        "b.png",
        "c.png",
        "quality.csv",
        SUMMARY_FILE,
    ]
    quality = _read_csv(out / "quality.csv")
    assert [row["input"] for row in quality] == ["a", "b", "c"]
    assert all(0.0 <= float(row["quality"]) <= 1.0 for row in quality)
    for name, size in sizes.items():
        mask = cv2.imread(str(out / f"{Path(name).stem}.png"), cv2.IMREAD_UNCHANGED)
        assert mask.shape == size and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 255}


def test_no_patient_data_reaches_any_output(tmp_path: Path, tiny_model: dict[str, Path]) -> None:
    dicom = write_dicom(tmp_path / "exam.dcm", echo_frames(), **PRIVATE_FIELDS)
    assert b"Doe^Jane" in dicom.read_bytes()  # the input does hold them
    out = tmp_path / "out"
    for output_format, path in [("npz", dicom), ("png", _single_frame_dicom(tmp_path))]:
        result = runner.invoke(
            app, ["predict", str(path), "--out", str(out), "--format", output_format, "--model",
                  str(tiny_model["onnx"])]
        )  # fmt: skip
        assert all(value not in result.output for value in PRIVATE_FIELDS.values())
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written, "predict wrote nothing"
    for path in written:
        contents = [path.read_bytes()]
        if path.suffix == ".npz":
            with zipfile.ZipFile(path) as archive:
                contents += [archive.read(name) for name in archive.namelist()]
        for value in PRIVATE_FIELDS.values():
            assert value not in str(path.relative_to(out))
            assert all(value.encode() not in content for content in contents), (path, value)


def _single_frame_dicom(tmp_path: Path) -> Path:
    # --format png takes single images only, so a DICOM there is a failed input: it must not
    # leak the header either, in the error message.
    return write_dicom(tmp_path / "still.dcm", echo_frames(1), **PRIVATE_FIELDS)


def _bad_inputs(tmp_path: Path) -> dict[str, str]:
    """Bad files -> the words their one-sentence error must contain."""
    (tmp_path / "notes.txt").write_text("not an echo")
    (tmp_path / "fake.png").write_bytes(b"not an image")
    (tmp_path / "empty.avi").write_bytes(b"")
    whole = write_video(tmp_path / "whole.avi", echo_frames(30), fps=10).read_bytes()
    (tmp_path / "cut.avi").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "whole.avi").unlink()
    no_pixels = write_dicom(tmp_path / "report.dcm", echo_frames(1))
    dataset = pydicom.dcmread(no_pixels)
    del dataset.PixelData
    dataset.save_as(no_pixels)
    write_image(tmp_path / "huge.png", np.zeros((2, 9000, 3), np.uint8))
    return {
        "notes.txt": "is not a recording lvwall can read",
        "fake.png": "cannot be read as an image",
        "empty.avi": "cannot be decoded as a video",
        "cut.avi": "truncated",
        "report.dcm": "without pixel data",
        "huge.png": "larger than the 8192-pixel limit",
        "missing.mp4": "does not exist",
    }


def test_bad_inputs_fail_alone_and_leave_nothing(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    reasons = _bad_inputs(bad)
    good = write_video(tmp_path / "good.avi", echo_frames(), fps=10)
    out = tmp_path / "out"
    inputs = [str(bad / name) for name in reasons] + [str(good)]
    result = runner.invoke(
        app, ["predict", *inputs, "--out", str(out), "--model", str(tiny_model["onnx"])]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    # Only the good input has results; no temporary files are left over.
    assert sorted(p.name for p in out.iterdir()) == ["good", SUMMARY_FILE]
    assert len(list((out / "good").iterdir())) == 4

    outcomes = predict_sources(
        discover([bad / name for name in reasons]),
        load_segmentation_model(tiny_model["onnx"]),
        PredictOptions(),
        tmp_path / "out2",
    )
    for outcome, (name, reason) in zip(outcomes, reasons.items(), strict=True):
        assert not outcome.ok and outcome.output is None
        sentence = str(outcome.error)
        assert sentence.startswith(f"{bad / name}: ") and reason in sentence
        assert "\n" not in sentence
        assert outcome.reason == outcome.error.problem and outcome.reason in result.output
    assert [p.name for p in (tmp_path / "out2").iterdir()] == [SUMMARY_FILE]
    with (tmp_path / "out2" / SUMMARY_FILE).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["status"] for row in rows] == ["failed"] * len(reasons)
    assert {row["reason"] for row in rows} == {outcome.reason for outcome in outcomes}


def test_video_input_with_png_format_fails_but_images_go_on(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    clip = write_video(tmp_path / "clip.avi", echo_frames(), fps=10)
    image = write_image(tmp_path / "still.png", echo_frames(1)[0])
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["predict", str(clip), str(image), "--out", str(out), "--format", "png", "--model",
              str(tiny_model["onnx"])]
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--format png writes masks of single images only" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["quality.csv", "still.png", SUMMARY_FILE]


@pytest.mark.parametrize(
    ("model_file", "content", "message"),
    [
        ("weights.pt", b"\x00" * 32, "is not a model file lvwall knows"),
        ("broken.onnx", b"not a protobuf", "cannot be read as an ONNX model"),
        ("broken.safetensors", b"\x00" * 32, "is neither an lvwall model file"),
        ("absent.onnx", None, "does not exist"),
        ("identity.onnx", "identity", "not a segmentation model"),
    ],
)
def test_unknown_or_broken_model_file_is_one_sentence(
    tmp_path: Path, model_file: str, content: bytes | str | None, message: str
) -> None:
    path = tmp_path / model_file
    if content == "identity":  # a valid ONNX model, but not one that segments frames
        value = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3])
        graph = onnx.helper.make_graph(
            [onnx.helper.make_node("Identity", ["x"], ["x_out"])], "identity", [value], [value]
        )
        graph.output[0].name = "x_out"
        # The IR version and opset of lvwall's own exports, which every supported ONNX
        # Runtime reads (onnx's newest default may be beyond the installed runtime).
        opset = [onnx.helper.make_opsetid("", 17)]
        model = onnx.helper.make_model(graph, ir_version=8, opset_imports=opset)
        onnx.save(model, str(path))
    elif content is not None:
        path.write_bytes(content)
    clip = write_image(tmp_path / "still.png", echo_frames(1)[0])
    result = runner.invoke(
        app, ["predict", str(clip), "--out", str(tmp_path / "out"), "--model", str(path)]
    )
    assert result.exit_code == 1
    assert f"{path}: " in result.output and message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_rerun_replaces_own_outputs_but_not_user_files(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    clip = write_image(tmp_path / "still.png", echo_frames(1)[0])
    model = load_segmentation_model(tiny_model["onnx"])
    out = tmp_path / "out"
    for _ in range(2):
        (outcome,) = predict_sources(discover([clip]), model, PredictOptions(), out)
        assert outcome.ok
    (out / "still" / "my-notes.txt").write_text("mine")
    (outcome,) = predict_sources(discover([clip]), model, PredictOptions(), out)
    assert not outcome.ok and "holds files lvwall did not write" in outcome.reason
    assert outcome.reason.startswith(str(out / "still"))
    assert (out / "still" / "my-notes.txt").read_text() == "mine"


@pytest.mark.gpu
def test_predict_runs_the_bundled_model_on_cuda_by_default(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.avi", echo_frames(), fps=25)
    result = runner.invoke(app, ["predict", str(clip), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "bundled default model (PyTorch fp32 on cuda)" in result.output
    masks = np.load(tmp_path / "out" / "clip" / "masks.npz")
    assert masks["model"].shape == (N_FRAMES, MODEL_SIZE, MODEL_SIZE)
    assert masks["original"].shape == (N_FRAMES, HEIGHT, WIDTH)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["ES0001 _4CH_1.gif", "ES0001_CH2_1.gif"])
def test_bundled_model_segments_both_apical_views_of_the_hmcqu_sample(
    tmp_path: Path, hmcqu_sample_dir: Path, name: str
) -> None:
    result = runner.invoke(app, ["predict", str(hmcqu_sample_dir / name), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    stem = Path(name).stem
    with (tmp_path / stem / "quality.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    flagged = sum(bool(row["flags"]) for row in rows)
    assert len(rows) >= 40
    assert flagged <= 0.1 * len(rows), f"{flagged} of {len(rows)} frames flagged"
    assert np.median([float(row["quality"]) for row in rows]) >= 0.7
    masks = np.load(tmp_path / stem / "masks.npz")["model"]
    assert len(masks) == len(rows) and all(mask.any() for mask in masks)


def test_a_big_png_batch_prints_a_summary_that_reads_in_80_columns(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    """101 images: the counts and where the full list is, not 101 lines; nothing cut."""
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for index in range(101):
        cv2.imwrite(str(images / f"frame{index:03d}.png"), rng.integers(0, 255, (48, 64), np.uint8))
    out = tmp_path / "out"
    result = CliRunner(env={"COLUMNS": "80"}).invoke(
        app,
        ["predict", str(images), "--format", "png", "--model", str(tiny_model["onnx"])]
        + ["--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert "101 inputs: 101 written, 0 skipped (complete), 0 failed" in result.output
    assert len(result.output.splitlines()) < 10
    assert "fitted for the bundled model, not this one" in " ".join(result.output.split())
    assert len(_read_csv(out / SUMMARY_FILE)) == 101


def test_an_overlay_that_cannot_be_written_fails_its_input(
    tmp_path: Path, tiny_model: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (cv2.imwrite returning False) is a failure named by the file, not ok."""
    image = tmp_path / "still.png"
    cv2.imwrite(str(image), np.full((48, 64), 90, np.uint8))
    monkeypatch.setattr("lvwall.infer.writers.cv2.imwrite", lambda *args, **kwargs: False)
    result = runner.invoke(
        app,
        ["predict", str(image), "--model", str(tiny_model["onnx"]), "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert f"{tmp_path / 'o' / 'still' / 'overlay.png'}: could not be written" in said
    assert not (tmp_path / "o" / "still").exists()
