"""``lvwall explain`` end to end on a tiny saved model, a tiny video and a tiny image."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.commands.explain import Method, Randomisation, Split, Target
from lvwall.data.video import write_video
from lvwall.explain.filters import block_names
from lvwall.explain.saliency import METHODS
from lvwall.explain.sanity import RANDOMISATIONS
from lvwall.explain.targets import SPLITTERS, TARGET_NAMES
from lvwall.model import UNet, UNetConfig
from lvwall.model.checkpoint import save_model
from lvwall.wall.errors import RegionalError
from tiny_models import seeded_unet

runner = CliRunner()
SIZE = 32


pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_model(path: Path, head_bias: float) -> Path:
    """A 32-px U-Net whose head bias makes every pixel wall (> 0) or none (< 0)."""
    model = seeded_unet((4, 8), norm="batch")
    with torch.no_grad():
        model.head.bias.fill_(head_bias)
    return save_model(path, model, {"image_size": SIZE})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("explain")
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, size=(3, 40, 48, 3), dtype=np.uint8)
    image = folder / "still.png"
    cv2.imwrite(str(image), video[0, :, :, 0])
    return {
        "model": _tiny_model(folder / "wall.safetensors", 6.0),
        "blind": _tiny_model(folder / "blind.safetensors", -20.0),
        "video": write_video(folder / "clip.gif", video, fps=10),
        "image": image,
    }


def _invoke(model: object, recording: object, *args: object) -> object:
    return runner.invoke(app, ["explain", str(recording), "--model", str(model), *map(str, args)])


def test_video_frames_get_figures_and_maps(files: dict[str, Path], tmp_path: Path) -> None:
    result = _invoke(
        files["model"], files["video"], "--out", tmp_path, "--frames", "2,0",
        "--method", "vanilla", "--method", "integrated-gradients", "--ig-steps", "4",
        "--no-sector",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for index in (0, 2):
        for method in ("vanilla", "integrated-gradients"):
            figure = tmp_path / f"clip_f{index:03d}_wall_{method}.png"
            assert figure.read_bytes()[:4] == b"\x89PNG"
        with np.load(tmp_path / f"clip_f{index:03d}_wall.npz") as maps:
            assert set(maps.files) == {
                "frame", "probability", "region", "vanilla", "integrated-gradients",
                "integrated-gradients_delta",
            }  # fmt: skip
            assert maps["vanilla"].shape == maps["frame"].shape == (SIZE, SIZE)
            assert maps["region"].all()  # the head bias makes every pixel wall
    for name in ("filters.png", "clip_f000_feature_maps.png", "receptive_field.png"):
        assert (tmp_path / name).is_file()
    with (tmp_path / "model_summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[-1]["layer"] == "head"
    assert "| layer |" in (tmp_path / "model_summary.md").read_text()
    assert "Model summary" in result.output


def test_an_image_with_a_segment_target_and_the_sanity_check(
    files: dict[str, Path], tmp_path: Path
) -> None:
    result = _invoke(
        files["model"], files["image"], "--out", tmp_path, "--method", "gradcam",
        "--layer", "decoders.0", "--target", "SEG9", "--split", "thirds", "--sanity",
        "--no-filters", "--no-receptive-fields",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "still_f000_SEG9_gradcam.png").is_file()
    with np.load(tmp_path / "still_f000_SEG9.npz") as maps:
        region = maps["region"]
    # Every pixel is predicted wall, so SEG9 is the middle third of the left (septal) half:
    # rows r with floor(3 r / 32) = 1, i.e. 11..21, and columns left of the mid-line 15.5.
    expected = np.zeros((SIZE, SIZE), dtype=bool)
    expected[11:22, :16] = True
    assert np.array_equal(region, expected)
    with (tmp_path / "still_f000_SEG9_gradcam_sanity.csv").open() as handle:
        steps = list(csv.DictReader(handle))
    model = UNet(UNetConfig(in_channels=1, widths=(4, 8), norm="batch"))
    assert [step["step"] for step in steps] == block_names(model)[::-1]
    assert (tmp_path / "still_f000_SEG9_gradcam_sanity.png").is_file()
    assert not (tmp_path / "filters.png").exists()
    assert not (tmp_path / "model_summary.csv").exists()


def test_no_model_means_the_bundled_model(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lvwall.explain.run
    from lvwall.model.bundled import BundledModel

    bundled = BundledModel(files["model"], files["model"].with_suffix(".onnx"))
    monkeypatch.setattr(lvwall.explain.run, "default_model_paths", lambda: bundled)
    result = runner.invoke(
        app,
        ["explain", str(files["image"]), "--out", str(tmp_path), "--no-receptive-fields",
         "--no-filters"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "still_f000_wall_vanilla.png").is_file()


@pytest.mark.parametrize(
    ("model", "data", "extra", "message"),
    [
        ("model", "video", ["--frames", "5"], "frame 5 does not exist"),
        ("blind", "image", [], "predicts no wall"),
        ("missing", "image", [], "does not exist"),
    ],
)
def test_user_errors_are_one_sentence(
    files: dict[str, Path],
    tmp_path: Path,
    model: str,
    data: str,
    extra: list[str],
    message: str,
) -> None:
    checkpoint = files.get(model, tmp_path / "missing.safetensors")
    result = _invoke(checkpoint, files[data], "--out", tmp_path / "out", "--no-sector", *extra)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_frames_the_centreline_split_refuses_are_skipped(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prediction the centreline split refuses gives a warning per frame, then one error."""

    def refuse(wall: np.ndarray) -> np.ndarray:
        raise RegionalError("predicted wall", "the wall mask is a closed ring")

    monkeypatch.setitem(SPLITTERS, "centreline", refuse)
    result = _invoke(files["model"], files["image"], "--out", tmp_path, "--target", "SEG3")
    assert result.exit_code == 1
    assert "warning" in result.output and "predicts no wall to explain" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--frames", "a,b"], "comma-separated"),
        (["--frames", "-1"], ">= 0"),
        (["--layer", "nope", "--method", "gradcam"], "no layer 'nope'"),
        (["--method", "occlusion"], "occlusion"),
    ],
)
def test_bad_options_are_usage_errors(
    files: dict[str, Path], tmp_path: Path, extra: list[str], message: str
) -> None:
    result = _invoke(files["model"], files["image"], "--out", tmp_path, *extra)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    ("choices", "registry"),
    [
        (Method, METHODS),
        (Target, TARGET_NAMES),
        (Split, SPLITTERS),
        (Randomisation, RANDOMISATIONS),
    ],
)
def test_cli_choices_match_the_registries(choices: type, registry: object) -> None:
    assert [choice.value for choice in choices] == list(registry)


def test_the_real_hmcqu_recording_with_its_sector(
    files: dict[str, Path], tmp_path: Path, hmcqu_sample_dir: Path
) -> None:
    """The real GIF (636x422, colour overlays): frames are prepared as `lvwall predict`
    prepares them, overlays outside the scan sector blanked."""
    recording = hmcqu_sample_dir / "ES0001 _4CH_1.gif"
    result = _invoke(
        files["model"], recording, "--out", tmp_path, "--frames", "40", "--no-filters",
        "--no-receptive-fields",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "ES0001 _4CH_1_f040_wall.npz") as maps:
        frame = maps["frame"]
    assert frame.shape == (SIZE, SIZE)
    assert frame[0, 0] == 0 and frame[0, -1] == 0  # corners lie outside the sector
    assert frame.max() > 0.3


def test_the_former_spelling_model_then_input_still_works(
    files: dict[str, Path], tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        ["explain", str(files["model"]), str(files["image"]), "--out", str(tmp_path),
         "--no-filters", "--no-receptive-fields"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "deprecated: explain MODEL INPUT is now explain INPUT --model MODEL" in result.output
    assert list(tmp_path.glob("*_wall_vanilla.png"))
