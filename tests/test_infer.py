"""Predictors, post-processing and ``lvwall predict`` end to end on every kind of input."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import pydicom
import pytest
import torch
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, UltrasoundMultiFrameImageStorage
from typer.testing import CliRunner

from lvwall.checkpoint import save_model
from lvwall.cli import app
from lvwall.data.inputs import discover
from lvwall.data.preprocess import prepare_frame
from lvwall.data.records import MODEL_SIZE
from lvwall.data.video import probe, write_video
from lvwall.errors import DataError, ModelError
from lvwall.export import export_onnx
from lvwall.infer import (
    WALL_COLOUR,
    WALL_OPACITY,
    CentredMean,
    FlipAverage,
    OnnxPredictor,
    PredictOptions,
    SegmentationModel,
    TorchPredictor,
    keep_largest_component,
    load_segmentation_model,
    overlay,
    predict_sources,
    segment_frames,
)
from lvwall.model import UNetConfig, build_model

runner = CliRunner(env={"COLUMNS": "400"})
HEIGHT, WIDTH, N_FRAMES = 64, 80, 5


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny random U-Net saved as lvwall model file and as its ONNX export."""
    folder = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    network = build_model(UNetConfig(widths=(4, 8), norm="batch"))
    with torch.no_grad():  # a bias that makes some pixels wall and some not
        network.head.bias.fill_(0.2)
    weights = save_model(folder / "tiny.safetensors", network, {"threshold": 0.5})
    onnx_path = export_onnx(network, folder / "tiny.onnx", meta={"threshold": 0.5}).path
    return {"weights": weights, "onnx": onnx_path}


def echo_frames(n: int = N_FRAMES, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """RGB uint8 frames: a bright ring (a wall-like structure) over speckle, moving a little."""
    rng = np.random.default_rng(n)
    frames = rng.integers(0, 60, (n, height, width, 3), dtype=np.uint8)
    for index in range(n):
        centre = (width // 2 + index % 3, height // 2)
        cv2.ellipse(frames[index], centre, (width // 4, height // 3), 0, 0, 360, (220,) * 3, 4)
    return frames


def write_image(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


PRIVATE_FIELDS = {
    "PatientName": "Doe^Jane",
    "PatientID": "PID-93817",
    "PatientBirthDate": "19610317",
    "InstitutionName": "Saint Elsewhere Heart Clinic",
    "StudyDate": "20240229",
    "ReferringPhysicianName": "Welby^Marcus",
    "AccessionNumber": "ACC-55123",
}


def write_dicom(path: Path, frames: np.ndarray, **fields: object) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = UltrasoundMultiFrameImageStorage
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = "US"
    for key, value in fields.items():
        setattr(dataset, key, value)
    dataset.set_pixel_data(frames, photometric_interpretation="RGB", bits_stored=8)
    dataset.save_as(path, enforce_file_format=True)
    return path


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
            ["masks.npz", "wall_area.csv", overlay_name]
        )
        masks = np.load(folder / "masks.npz")
        assert masks["model"].shape == (n_frames, MODEL_SIZE, MODEL_SIZE)
        assert masks["original"].shape == (n_frames, HEIGHT, WIDTH)
        for key in ("model", "original"):
            assert masks[key].dtype == np.uint8 and set(np.unique(masks[key])) <= {0, 1}
        rows = _read_csv(folder / "wall_area.csv")
        assert [int(row["frame"]) for row in rows] == list(range(n_frames))
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
    sizes = {"a.png": (64, 80), "b.jpg": (50, 70), "c.bmp": (31, 47)}
    for name, (height, width) in sizes.items():
        write_image(tmp_path / "images" / name, echo_frames(1, height, width)[0])
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["predict", str(tmp_path / "images"), "--out", str(out), "--format", "png",
              "--model", str(tiny_model["onnx"])]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
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
    assert [p.name for p in out.iterdir()] == ["good"]
    assert len(list((out / "good").iterdir())) == 3

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
    assert not (tmp_path / "out2").exists() or not any((tmp_path / "out2").iterdir())


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
    assert [p.name for p in out.iterdir()] == ["still.png"]


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


def test_onnx_model_with_torch_backend_is_refused(tiny_model: dict[str, Path]) -> None:
    with pytest.raises(ModelError, match="only the onnx backend runs"):
        load_segmentation_model(tiny_model["onnx"], "torch")


def test_bundled_model_is_used_without_model(
    tmp_path: Path, tiny_model: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = write_image(tmp_path / "still.png", echo_frames(1)[0])
    args = ["predict", str(clip), "--out", str(tmp_path / "out")]
    monkeypatch.setattr("lvwall.bundled.ASSETS_DIR", tmp_path / "no-assets")
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "lvwall train" in result.output

    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "lvwall-default.onnx").write_bytes(tiny_model["onnx"].read_bytes())
    (assets / "lvwall-default.safetensors").write_bytes(tiny_model["weights"].read_bytes())
    monkeypatch.setattr("lvwall.bundled.ASSETS_DIR", assets)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "bundled default model" in result.output


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


def test_onnx_and_torch_predictors_agree(tiny_model: dict[str, Path]) -> None:
    from lvwall.checkpoint import load_model

    network, _ = load_model(tiny_model["weights"])
    images = np.random.default_rng(0).random((3, 1, MODEL_SIZE, MODEL_SIZE), dtype=np.float32)
    onnx_probabilities = OnnxPredictor(tiny_model["onnx"], threads=1).predict(images)
    torch_probabilities = TorchPredictor(network).predict(images)
    bf16_probabilities = TorchPredictor(network, dtype=torch.bfloat16).predict(images)
    assert onnx_probabilities.shape == torch_probabilities.shape == images.shape
    np.testing.assert_allclose(onnx_probabilities, torch_probabilities, atol=1e-4)
    np.testing.assert_allclose(bf16_probabilities, torch_probabilities, atol=2e-2)


class _Fixed:
    """A predictor returning a fixed map for every frame."""

    def __init__(self, probability: np.ndarray) -> None:
        self.probability = probability

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.probability, batch.shape).copy()


class _Echo:
    """A predictor returning its input (a network that is exactly left-right symmetric)."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return batch.copy()


RAMP = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (4, 1))


@pytest.mark.parametrize(
    ("predictor", "images", "expected"),
    [
        (_Fixed(RAMP), np.zeros((2, 1, 4, 8), np.float32), np.full((2, 1, 4, 8), 0.5)),
        (_Echo(), np.arange(64, dtype=np.float32).reshape(2, 1, 4, 8), None),
    ],
    ids=["left-biased-map-averages-out", "mirror-consistent-unchanged"],
)
def test_flip_average(predictor: object, images: np.ndarray, expected: np.ndarray | None) -> None:
    result = FlipAverage(predictor).predict(images)
    np.testing.assert_allclose(result, images if expected is None else expected, atol=1e-6)


@pytest.mark.parametrize(
    ("window", "values", "expected"),
    [
        (3, [0, 3, 6, 9], [1.5, 3, 6, 7.5]),
        (1, [0, 3, 6], [0, 3, 6]),
        (5, [0, 10, 20], [10, 10, 10]),
        (3, [4], [4]),
        (5, [0, 5, 10, 15, 20, 25], [5, 7.5, 10, 15, 17.5, 20]),
    ],
)
def test_centred_mean_values(window: int, values: list[float], expected: list[float]) -> None:
    stream = ((index, np.full((2, 2), v, np.float32)) for index, v in enumerate(values))
    result = list(CentredMean(window)(stream))
    assert [payload for payload, _ in result] == list(range(len(values)))
    np.testing.assert_allclose([p[0, 0] for _, p in result], expected, rtol=1e-6)


def test_centred_mean_streams_with_a_short_lag() -> None:
    seen: list[int] = []

    def source():
        for index in range(10):
            seen.append(index)
            yield index, np.zeros(1, np.float32)

    for payload, _ in CentredMean(5)(source()):
        assert len(seen) <= payload + 3  # frame t leaves once t + 2 has arrived


def test_smoothing_reduces_flicker(tiny_model: dict[str, Path]) -> None:
    rng = np.random.default_rng(0)
    noisy = 0.5 + 0.2 * rng.standard_normal((40, 1, 16, 16)).astype(np.float32)

    class Noisy:
        index = 0

        def predict(self, batch: np.ndarray) -> np.ndarray:
            out = noisy[self.index : self.index + len(batch)]
            self.index += len(batch)
            return out

    def flicker(smoothing: str | None) -> float:
        model = SegmentationModel(Noisy(), 0.5, 16, "noise")
        options = PredictOptions(smoothing=smoothing, sector=False, batch_size=7)
        frames = (np.zeros((16, 16, 3), np.uint8) for _ in range(40))
        probabilities = np.stack([f.probability for f in segment_frames(frames, model, options)])
        return float(np.abs(np.diff(probabilities, axis=0)).mean())

    assert flicker("mean3") < 0.5 * flicker(None)
    assert flicker("mean5") < flicker("mean3")


def test_segment_frames_shapes_and_threshold(tiny_model: dict[str, Path]) -> None:
    model = load_segmentation_model(tiny_model["onnx"])
    frames = echo_frames(6)

    def segment(threshold: float) -> list:
        return list(segment_frames(iter(frames), model, PredictOptions(threshold=threshold)))

    low, high = segment(0.05), segment(0.95)
    assert len(low) == 6
    assert low[0].probability.shape == low[0].mask.shape == (MODEL_SIZE, MODEL_SIZE)
    assert low[0].mask_original.shape == (HEIGHT, WIDTH)
    np.testing.assert_array_equal(low[3].image, frames[3])
    assert sum(f.mask.sum() for f in low) > sum(f.mask.sum() for f in high)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (np.zeros((6, 6), np.uint8), np.zeros((6, 6), np.uint8)),
        (
            np.array([[1, 1, 0, 0, 0], [1, 1, 0, 0, 1], [0, 0, 0, 0, 0]], np.uint8),
            np.array([[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], np.uint8),
        ),
        (np.eye(4, dtype=np.uint8), np.eye(4, dtype=np.uint8)),  # diagonal: 8-connected
    ],
)
def test_keep_largest_component(mask: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(keep_largest_component(mask), expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 0},
        {"tta": "rotate"},
        {"smoothing": "median"},
        {"mask_filter": "holes"},
        {"output_format": "tiff"},
        {"threshold": 1.0},
    ],
)
def test_bad_options_are_value_errors(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PredictOptions(**kwargs)


def test_progress_hears_every_frame(tmp_path: Path, tiny_model: dict[str, Path]) -> None:
    clip = write_video(tmp_path / "clip.avi", echo_frames(), fps=10)

    class Recorder:
        def __init__(self) -> None:
            self.started: list[str] = []
            self.frames = 0

        def start(self, recording) -> None:
            self.started.append(recording.name)

        def advance(self) -> None:
            self.frames += 1

    recorder = Recorder()
    (outcome,) = predict_sources(
        discover([clip]),
        load_segmentation_model(tiny_model["onnx"]),
        PredictOptions(),
        tmp_path / "out",
        progress=recorder,
    )
    assert outcome.ok and outcome.n_frames == N_FRAMES
    assert recorder.started == ["clip"] and recorder.frames == N_FRAMES


def test_a_failing_frame_source_fails_the_pipeline(tiny_model: dict[str, Path]) -> None:
    def frames():
        yield from echo_frames(3)
        raise DataError("clip.avi", "cannot be decoded after 3 frames")

    model = load_segmentation_model(tiny_model["onnx"])
    with pytest.raises(DataError, match="after 3 frames"):
        list(segment_frames(frames(), model, PredictOptions(batch_size=2)))


def test_stopping_early_closes_the_frame_source(tiny_model: dict[str, Path]) -> None:
    state = {"produced": 0, "closed": False}

    def frames():
        try:
            for frame in echo_frames(40):
                state["produced"] += 1
                yield frame
        finally:
            state["closed"] = True

    model = load_segmentation_model(tiny_model["onnx"])
    segmented = segment_frames(frames(), model, PredictOptions(batch_size=2, sector=False))
    next(segmented)
    segmented.close()
    assert state["closed"] and state["produced"] < 40


@pytest.mark.parametrize("grey", [0, 128, 255])
def test_overlay_tints_only_the_wall(grey: int) -> None:
    image = np.full((6, 8, 3), grey, np.uint8)
    mask = np.zeros((6, 8), np.uint8)
    mask[2:4, 3:6] = 1
    result = overlay(image, mask)
    expected = np.round(grey * (1 - WALL_OPACITY) + np.array(WALL_COLOUR) * WALL_OPACITY)
    np.testing.assert_allclose(result[mask == 1], np.broadcast_to(expected, (6, 3)), atol=1)
    np.testing.assert_array_equal(result[mask == 0], image[mask == 0])
    assert (image == grey).all(), "the input frame must not change"


def _bundled_inputs(n: int = 4) -> np.ndarray:
    """Echo-like frames at model size, as the bundled model sees them."""
    return np.stack([prepare_frame(frame) for frame in echo_frames(n)])[:, None]


@pytest.mark.gpu
@pytest.mark.parametrize(
    ("backend", "atol", "agreement"), [("torch", 1e-2, 0.999), ("torch-bf16", 0.15, 0.99)]
)
def test_bundled_model_on_cuda_agrees_with_onnx_on_the_cpu(
    backend: str, atol: float, agreement: float
) -> None:
    images = _bundled_inputs()
    on_cpu = load_segmentation_model(None, "onnx", threads=2)
    on_gpu = load_segmentation_model(None, backend)
    assert "on cuda" in on_gpu.description
    cpu_probabilities = on_cpu.predictor.predict(images)
    gpu_probabilities = on_gpu.predictor.predict(images)
    difference = np.abs(gpu_probabilities - cpu_probabilities)
    assert difference.max() <= atol and difference.mean() <= 0.01
    same = (gpu_probabilities > on_gpu.threshold) == (cpu_probabilities > on_cpu.threshold)
    assert same.mean() >= agreement


@pytest.mark.gpu
def test_predict_runs_the_bundled_model_on_cuda_by_default(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.avi", echo_frames(), fps=25)
    result = runner.invoke(app, ["predict", str(clip), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "bundled default model (PyTorch fp32 on cuda)" in result.output
    masks = np.load(tmp_path / "out" / "clip" / "masks.npz")
    assert masks["model"].shape == (N_FRAMES, MODEL_SIZE, MODEL_SIZE)
    assert masks["original"].shape == (N_FRAMES, HEIGHT, WIDTH)


@pytest.mark.gpu
def test_auto_backend_runs_onnx_files_with_onnx_runtime(tiny_model: dict[str, Path]) -> None:
    assert "ONNX Runtime" in load_segmentation_model(tiny_model["onnx"]).description
    assert "on cuda" in load_segmentation_model(tiny_model["weights"]).description
