"""Every failure a user can meet, driven through the CLI as they would type it.

Each case asserts the exit code (1, or 2 for usage), one sentence that names the file or the
option and the problem, no traceback, nothing partial under ``--out`` and that the other
inputs of the same call were still processed. Cases that need a full disk or a read-only
folder run the command in a user and mount namespace (``unshare -rm``), as root would see
them there; they skip where the machine allows no namespaces.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from echo_inputs import echo_frames, write_dicom, write_image
from lvwall.cli import app
from lvwall.data.hmcqu import read_mask_mat, write_mask_mat
from lvwall.data.phantom import write_dataset
from lvwall.data.video import write_video
from lvwall.infer import SUMMARY_FILE
from lvwall.model.checkpoint import META_KEY
from lvwall.train.config import TrainConfig

runner = CliRunner(env={"COLUMNS": "1000"})
SMALL_PHANTOM = {"width": 128, "height": 96, "n_frames": 8, "cycle_frames": 6}
LVWALL = [sys.executable, "-m", "lvwall.cli"]


@dataclass
class Place:
    """What a case may use: a folder of its own and the shared data and models."""

    tmp: Path
    phantom: Path
    weights: Path
    onnx: Path

    def video(self, name: str = "good.avi", n_frames: int = 5, size: int = 64) -> Path:
        frames = echo_frames(n_frames, height=size, width=size * 5 // 4)
        return write_video(self.tmp / name, frames, fps=10)


@dataclass
class Case:
    """A command line and what it must do: ``exit_code``, the words of its error sentence
    (``says``; empty for a clean run), the outputs that must exist under ``out`` (the other
    inputs of the call) and, for ``namespace`` cases, the shell commands that prepare the
    namespace (mounts) before the command runs."""

    args: list[str]
    exit_code: int
    says: list[str]
    out: Path | None = None
    outputs: list[str] = field(default_factory=list)
    namespace: list[str] | None = None
    not_said: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "phantom"
    write_dataset(out, 6, seed=0, progress=False, fixed_params=SMALL_PHANTOM)
    return out


def _wrong_shape_mask(place: Place) -> Case:
    data = place.tmp / "phantom"
    shutil.copytree(place.phantom, data)
    mask = data / "LV Ground-truth Segmentation Masks" / "Mask_PH0001 _4CH_1.mat"
    n_frames = len(read_mask_mat(mask))
    write_mask_mat(mask, np.zeros((n_frames, 100, 224), np.uint8))
    return Case(
        ["evaluate", str(place.weights), "--data", str(data)],
        1,
        [str(mask), f"({n_frames}, 100, 224)", f"({n_frames}, 224, 224)"],
    )


def _tiny_image(suffix: str) -> Callable[[Place], Case]:
    def build(place: Place) -> Case:
        if suffix == ".png":
            tiny = write_image(place.tmp / "dot.png", np.zeros((1, 1, 3), np.uint8))
        else:
            tiny = write_video(place.tmp / "dot.gif", np.zeros((3, 1, 1, 3), np.uint8))
        out = place.tmp / "out"
        return Case(
            ["predict", str(tiny), str(place.video()), "--out", str(out), "-m", str(place.onnx)],
            1,
            [str(tiny), "1x1-pixel frames, smaller than the 32-pixel minimum"],
            out,
            ["good"],
        )

    return build


def _out_is_a_file(command: str) -> Callable[[Place], Case]:
    def build(place: Place) -> Case:
        target = place.tmp / "results.txt"
        target.write_text("notes")
        args = {
            "predict": ["predict", str(place.video()), "-m", str(place.onnx)],
            "evaluate": ["evaluate", str(place.weights), "--data", str(place.phantom)],
            "regional": ["regional", str(place.video()), "-m", str(place.onnx)],
            "explain": ["explain", str(place.video()), "-m", str(place.weights)],
            "train": ["train", "--data", str(place.phantom)],
        }[command]
        return Case([*args, "--out", str(target)], 1, [str(target), "is a file"])

    return build


def _output_subfolder_is_a_file(place: Place) -> Case:
    out = place.tmp / "out"
    out.mkdir()
    (out / "good").write_text("a file where the recording's folder goes")
    other = place.video("other.avi")
    return Case(
        ["predict", str(place.video()), str(other), "--out", str(out), "-m", str(place.onnx)],
        1,
        [str(out / "good"), "exists and holds files lvwall did not write"],
        out,
        ["other", "good"],
    )


def _read_only_out(place: Place) -> Case:
    out = place.tmp / "out"
    out.mkdir()
    return Case(
        ["predict", str(place.video()), "--out", str(out), "-m", str(place.onnx)],
        1,
        [str(out), "--out", "may not write into"],
        out,
        namespace=[f"mount --bind {_q(out)} {_q(out)}", f"mount -o remount,bind,ro {_q(out)}"],
    )


def _read_only_output_subfolder(place: Place) -> Case:
    out = place.tmp / "out"
    (out / "good").mkdir(parents=True)
    (out / "good" / "masks.npz").write_bytes(b"from an earlier run")
    folder = out / "good"
    other = place.video("other.avi")
    return Case(
        ["predict", str(place.video()), str(other), "--out", str(out), "-m", str(place.onnx)],
        1,
        [str(folder), "could not be written", "read-only file system"],
        out,
        ["other", "good"],
        namespace=[
            f"mount --bind {_q(folder)} {_q(folder)}",
            f"mount -o remount,bind,ro {_q(folder)}",
        ],
    )


def _disk_full(place: Place) -> Case:
    out = place.tmp / "out"
    out.mkdir()
    long_video = place.video("a-long.avi", n_frames=60, size=240)
    still = write_image(place.tmp / "b-still.png", echo_frames(1)[0])
    return Case(
        ["predict", str(long_video), str(still), "--out", str(out), "-m", str(place.onnx)],
        1,
        [str(out / "a-long"), "could not be written (no space left on device)"],
        out,
        ["b-still"],
        namespace=[f"mount -t tmpfs -o size=96k lvwall-full {_q(out)}"],
    )


def _truncated_masks_with_skip_existing(place: Place) -> Case:
    out = place.tmp / "out"
    video = place.video()
    args = ["predict", str(video), "--out", str(out), "-m", str(place.onnx)]
    assert runner.invoke(app, args).exit_code == 0
    masks = out / "good" / "masks.npz"
    masks.write_bytes(masks.read_bytes()[:100])
    return Case(
        [*args, "--skip-existing"],
        0,
        [str(video), "redone: good/masks.npz cannot be read (truncated or corrupt"],
        out,
        ["good/masks.npz"],
    )


def _resume_run(place: Place, checkpoint: Callable[[Path], None]) -> Case:
    run = place.tmp / "run"
    run.mkdir()
    TrainConfig(data=[str(place.phantom)], epochs=2).to_yaml(run / "config.yaml")
    checkpoint(run / "last.ckpt")
    return Case(["train", "--out", str(run), "--resume"], 1, [str(run / "last.ckpt")])


def _truncated_checkpoint(place: Place) -> Case:
    def write(path: Path) -> None:
        torch.save({"state_dict": {"model.w": torch.zeros(64)}}, path)
        path.write_bytes(path.read_bytes()[:200])

    case = _resume_run(place, write)
    case.says.append("is truncated or corrupt")
    return case


def _unsafe_checkpoint(place: Place) -> Case:
    def write(path: Path) -> None:
        torch.save({"state_dict": {}, "payload": argparse.Namespace(run="rm -rf ~")}, path)

    case = _resume_run(place, write)
    case.says.append("refuses to unpickle")
    case.not_said.append("weights_only=False")
    return case


def _export(place: Place, *extra: str) -> list[str]:
    return ["export", str(place.weights), *extra]


def _export_onnx_folder(place: Place) -> Case:
    folder = place.tmp / "model.onnx"
    folder.mkdir()
    return Case(_export(place, "--out", str(folder)), 1, [str(folder), "must be a file"])


def _export_onnx_inside_a_file(place: Place) -> Case:
    blocker = place.tmp / "notes.txt"
    blocker.write_text("a file")
    target = blocker / "model.onnx"
    return Case(_export(place, "--out", str(target)), 1, [str(target), f"inside {blocker}"])


def _absurd_widths(place: Place) -> Case:
    model = place.tmp / "huge.safetensors"
    config = {"in_channels": 1, "widths": [2**20, 2**21, 2**22], "norm": "batch"}
    meta = {"model_config": config, "format": "lvwall-model"}
    save_file({"head.weight": torch.zeros(1, 4, 1, 1)}, model, {META_KEY: json.dumps(meta)})
    out = place.tmp / "out"
    return Case(
        ["predict", str(place.video()), "--out", str(out), "-m", str(model)],
        1,
        [str(model), "holds weights that do not fit its model configuration"],
        out,
    )


def _huge_png(place: Place) -> Case:
    huge = place.tmp / "huge.png"
    assert cv2.imwrite(str(huge), np.zeros((9500, 9500), np.uint8))
    out = place.tmp / "out"
    return Case(
        ["predict", str(huge), str(place.video()), "--out", str(out), "-m", str(place.onnx)],
        1,
        [str(huge), "larger than the 8192-pixel limit"],
        out,
        ["good"],
        not_said=["DecompressionBombWarning"],
    )


def _resume_without_a_run(place: Place) -> Case:
    run = place.tmp / "empty"
    run.mkdir()
    return Case(
        ["train", "--out", str(run), "--resume"], 1, [str(run), "nothing to resume", "last.ckpt"]
    )


def _too_small_for_the_default_split(place: Place) -> Case:
    out = place.tmp / "run"
    return Case(
        ["train", "--data", str(place.phantom), "--out", str(out)],
        1,
        ["6 recordings", "too few", "--fold 0 --folds 2", "--val-data"],
        out,
    )


def _absurd_dicom_header(place: Place) -> Case:
    """A DICOM whose Frame Time and Pixel Spacing are absurd: both ignored (fps unknown,
    volumes in px3), where they once ended in OverflowError; the other input goes on."""
    dicom = write_dicom(
        place.tmp / "absurd.dcm",
        echo_frames(6, height=64, width=80),
        FrameTime="1e300",
        PixelSpacing=["1e60", "1e60"],
    )
    out = place.tmp / "out"
    return Case(
        ["measure", str(dicom), str(place.video()), "--out", str(out), "-m", str(place.onnx)],
        0,
        [str(dicom), "EF"],
        out,
        ["absurd/measurements.json", "good/measurements.json"],
        not_said=["OverflowError", " ml"],
    )


def _absurd_dicom_header_in_predict(place: Place) -> Case:
    """``lvwall predict`` shows what the reader ignored, as a warning under the input, and
    writes it in summary.csv's reason."""
    dicom = write_dicom(
        place.tmp / "absurd.dcm",
        echo_frames(6, height=64, width=80),
        FrameTime="1e300",
        PixelSpacing=["1e60", "1e60"],
    )
    out = place.tmp / "out"
    return Case(
        ["predict", str(dicom), "--out", str(out), "-m", str(place.onnx)],
        0,
        ["warning:", "ignored its Frame Time of 1e+300 ms"],
        out,
        ["absurd/masks.npz"],
    )


def _truncated_gif(place: Place) -> Case:
    whole = write_video(place.tmp / "whole.gif", echo_frames(12, height=64, width=80), fps=10)
    cut = place.tmp / "cut.gif"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    out = place.tmp / "out"
    return Case(
        ["predict", str(cut), str(place.video()), "--out", str(out), "-m", str(place.onnx)],
        1,
        [str(cut), "is truncated: the GIF stops after", "whole frames, without the end marker"],
        out,
        ["good"],
    )


def _multi_page_tiff(place: Place) -> Case:
    from PIL import Image

    pages = [Image.fromarray(frame) for frame in echo_frames(5, height=64, width=80)]
    tiff = place.tmp / "pages.tif"
    pages[0].save(tiff, save_all=True, append_images=pages[1:])
    out = place.tmp / "out"
    return Case(
        ["predict", str(tiff), str(place.video()), "--out", str(out), "-m", str(place.onnx)],
        0,
        [str(tiff), "(5 frames"],
        out,
        ["pages", "good"],
    )


def _too_many(option: str, value: str) -> Callable[[Place], Case]:
    def build(place: Place) -> Case:
        out = place.tmp / "out"
        if option == "--threads":
            args = ["predict", str(place.video()), "--out", str(out), "-m", str(place.onnx)]
            outputs = ["good"]
        else:
            args = ["simulate", str(out), "--recordings", "1", "--width", "64", "--height", "48"]
            outputs = ["A4C.xlsx"]
        return Case(
            [*args, option, value],
            0,
            [f"{option} {value} is more than the", "CPU cores this process may use; using"],
            out,
            outputs,
        )

    return build


def _train_option(option: str, value: str, says: str) -> Callable[[Place], Case]:
    def build(place: Place) -> Case:
        out = place.tmp / "run"
        return Case(
            ["train", "--data", str(place.phantom), "--out", str(out), option, value],
            2,
            [f"'{option}'", says],
            out,
        )

    return build


def _non_finite_soup(place: Place) -> Case:
    from lvwall.model import build_model, save_model

    paths = []
    for index, value in enumerate((0.1, float("nan"))):
        model = build_model("fast", widths=(4, 8))
        with torch.no_grad():
            next(iter(model.parameters())).fill_(value)
        paths.append(save_model(place.tmp / f"m{index}.safetensors", model, {}))
    out = place.tmp / "soup"
    return Case(
        ["soup", *map(str, paths), "--out", str(out / "soup.safetensors")],
        1,
        [str(paths[1]), "holds weights that are not finite", "nothing was written"],
        out,
    )


CASES: dict[str, Callable[[Place], Case]] = {
    "hmcqu mask of the wrong shape": _wrong_shape_mask,
    "1x1 PNG": _tiny_image(".png"),
    "1x1 GIF": _tiny_image(".gif"),
    "predict --out is a file": _out_is_a_file("predict"),
    "evaluate --out is a file": _out_is_a_file("evaluate"),
    "regional --out is a file": _out_is_a_file("regional"),
    "explain --out is a file": _out_is_a_file("explain"),
    "train --out is a file": _out_is_a_file("train"),
    "an output subfolder is a file": _output_subfolder_is_a_file,
    "--skip-existing meets a truncated masks.npz": _truncated_masks_with_skip_existing,
    "read-only --out": _read_only_out,
    "read-only output subfolder": _read_only_output_subfolder,
    "disk full half-way": _disk_full,
    "resume a truncated last.ckpt": _truncated_checkpoint,
    "resume an unsafe last.ckpt": _unsafe_checkpoint,
    "export --opset 99": lambda p: Case(
        _export(p, "--out", str(p.tmp / "m.onnx"), "--opset", "99"), 2, ["--opset", "13 to 20"]
    ),  # noqa: E501
    "export --out is a folder": _export_onnx_folder,
    "export --out inside a file": _export_onnx_inside_a_file,
    "export --install-default without --force": lambda p: Case(
        _export(p, "--install-default"), 2, ["--force"]
    ),  # noqa: E501
    "evaluate --batch-size 0": lambda p: Case(
        ["evaluate", str(p.weights), "--data", str(p.phantom), "--batch-size", "0"],
        2,
        ["--batch-size"],
    ),  # noqa: E501
    "safetensors asking for absurd widths": _absurd_widths,
    "10000-pixel PNG": _huge_png,
    "resume without a run": _resume_without_a_run,
    "dataset too small for the default split": _too_small_for_the_default_split,
    "--folds without --fold": lambda p: Case(
        ["train", "--data", str(p.phantom), "--out", str(p.tmp / "r"), "--folds", "2"],
        2,
        ["--folds", "--fold 0 --folds 2"],
    ),  # noqa: E501
    "explain with an ONNX model": lambda p: Case(
        ["explain", str(p.video()), "--model", str(p.onnx), "--out", str(p.tmp / "x")],
        1,
        [str(p.onnx), "explanations need the PyTorch weights"],
    ),  # noqa: E501
    **{
        f"measure --spacing {value}": lambda p, value=value: Case(
            ["measure", str(p.video()), "--out", str(p.tmp / "m"), "--spacing", value],
            2,
            ["'--spacing'", "positive number of millimetres per pixel from 0.001 to 10"],
            p.tmp / "m",
        )
        for value in ("1e60", "1e-30", "inf", "nan", "0")
    },
    "DICOM with absurd Frame Time and Pixel Spacing": _absurd_dicom_header,
    "predict warns of a DICOM's absurd Frame Time and Pixel Spacing": (
        _absurd_dicom_header_in_predict
    ),
    "truncated GIF": _truncated_gif,
    "5-page TIFF": _multi_page_tiff,
    "predict --threads 1000": _too_many("--threads", "1000"),
    "simulate --workers 100000": _too_many("--workers", "100000"),
    "train --epochs 0": _train_option("--epochs", "0", "greater than or equal to 1"),
    "train --lr 0": _train_option("--lr", "0", "must be a positive finite number"),
    "train --lr nan": _train_option("--lr", "nan", "must be a positive finite number"),
    "train --lr inf": _train_option("--lr", "inf", "must be a positive finite number"),
    "train --seed -1": _train_option("--seed", "-1", "greater than or equal to 0"),
    "train --batch-size 0": _train_option("--batch-size", "0", "greater than or equal to 1"),
    "train --lr -inf": _train_option("--lr", "-inf", "must be a positive finite number"),
    "soup of a model with NaN weights": _non_finite_soup,
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_failure_is_one_sentence(
    name: str, tmp_path: Path, phantom: Path, tiny_model: dict[str, Path]
) -> None:
    place = Place(tmp_path, phantom, tiny_model["weights"], tiny_model["onnx"])
    case = CASES[name](place)
    before = _listing(case.out)
    exit_code, output, after = _run(case, tmp_path / "listing.txt")
    assert exit_code == case.exit_code, output
    assert "Traceback" not in output
    line = next((line for line in output.splitlines() if all(w in line for w in case.says)), "")
    assert line, f"no line says all of {case.says}:\n{output}"
    assert not any(word in output for word in case.not_said), output
    if case.out is not None:
        written = after - before
        assert not [path for path in written if ".tmp" in path], written
        for name_ in case.outputs:
            assert name_ in after, f"{name_} missing: the other inputs must go on"


def _run(case: Case, listing: Path) -> tuple[int, str, set[str]]:
    """Exit code, output and what ``case.out`` then holds. A namespace case lists its
    output folder from inside the namespace, where its mounts are."""
    if case.namespace is None:
        result = runner.invoke(app, case.args)
        return result.exit_code, result.output, _listing(case.out)
    if shutil.which("unshare") is None or not _namespaces_allowed():
        pytest.skip(
            "needs user and mount namespaces (unshare -rm) to make a full or read-only disk"
        )
    assert case.out is not None
    run = shlex.join([*LVWALL, *case.args])
    keep = f"find {_q(case.out)} -mindepth 1 -printf '%P\\n' > {_q(listing)}"
    command = " && ".join(case.namespace) + f" && {{ {run}; code=$?; {keep}; exit $code; }}"
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "1000"},
    )
    found = (
        set(listing.read_text().split("\n")) - {"", SUMMARY_FILE} if listing.is_file() else set()
    )
    return done.returncode, done.stdout + done.stderr, found


def _namespaces_allowed() -> bool:
    check = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return check.returncode == 0


def _listing(out: Path | None) -> set[str]:
    if out is None or not out.is_dir():
        return set()
    return {str(path.relative_to(out)) for path in out.rglob("*") if path.name != SUMMARY_FILE}


def _q(path: Path) -> str:
    return shlex.quote(str(path))
