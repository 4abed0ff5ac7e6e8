"""Large batches: interrupted runs leave nothing half-done and resume, parts split one batch,
the summary lists every input; and Ctrl+C in training says how to resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from echo_inputs import echo_frames, write_image
from lvwall.cli import app
from lvwall.data import discover
from lvwall.data.phantom import write_dataset
from lvwall.data.video import write_video
from lvwall.infer import SUMMARY_FILE, PredictOptions, load_segmentation_model, share
from lvwall.infer import batch as batch_module
from lvwall.infer.batch import predict_sources

runner = CliRunner(env={"COLUMNS": "1000"})
LVWALL = [sys.executable, "-m", "lvwall.cli"]


def _summary(out: Path) -> list[dict[str, str]]:
    with (out / SUMMARY_FILE).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _wait_for(condition, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the command ended (exit {process.returncode}) before the moment came")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the moment to interrupt never came")
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("n_items", "num_parts", "expected"),
    [
        (5, 2, [[0, 2, 4], [1, 3]]),
        (2, 3, [[0], [1], []]),
        (4, 1, [[0, 1, 2, 3]]),
    ],
)
def test_parts_are_disjoint_and_cover_the_inputs(
    n_items: int, num_parts: int, expected: list[list[int]]
) -> None:
    items = list(range(n_items))
    assert [share(items, num_parts, k) for k in range(num_parts)] == expected


@pytest.mark.parametrize(("num_parts", "part_id"), [(0, 0), (2, 2), (2, -1)])
def test_bad_parts_are_value_errors(num_parts: int, part_id: int) -> None:
    with pytest.raises(ValueError):
        share([1, 2, 3], num_parts, part_id)


def test_two_parts_give_exactly_the_outputs_of_one_run(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    inputs = [
        write_video(tmp_path / f"clip{index}.avi", echo_frames(3 + index), fps=10)
        for index in range(3)
    ]
    model = ["--model", str(tiny_model["onnx"])]
    whole, split = tmp_path / "whole", tmp_path / "split"
    result = runner.invoke(app, ["predict", *map(str, inputs), "--out", str(whole), *model])
    assert result.exit_code == 0, result.output
    for part in ("0", "1"):
        args = ["predict", *map(str, inputs), "--out", str(split), "--num-parts", "2"]
        result = runner.invoke(app, [*args, "--part-id", part, *model])
        assert result.exit_code == 0, result.output
        assert f"part {part} of 2" in result.output

    def files(out: Path) -> dict[str, bytes]:
        return {
            str(path.relative_to(out)): path.read_bytes()
            for path in sorted(out.rglob("*"))
            if path.is_file() and path.name != SUMMARY_FILE
        }

    whole_files, split_files = files(whole), files(split)
    assert sorted(whole_files) == sorted(split_files)
    for name in whole_files:
        if name.endswith(".npz"):
            for key in ("model", "original"):
                np.testing.assert_array_equal(
                    np.load(whole / name)[key], np.load(split / name)[key]
                )
        elif name.endswith(".csv"):
            assert whole_files[name] == split_files[name], name
    for rows in (_summary(whole), _summary(split)):
        for row in rows:
            row["output"] = Path(row["output"]).name
    assert _summary_without_outputs(whole) == _summary_without_outputs(split)


def _summary_without_outputs(out: Path) -> list[dict[str, str]]:
    return [{**row, "output": Path(row["output"]).name} for row in _summary(out)]


def test_summary_lists_every_input_with_its_outcome(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    good = write_video(tmp_path / "good.avi", echo_frames(4), fps=10)
    bad = tmp_path / "notes.txt"
    bad.write_text("not an echo")
    out = tmp_path / "out"
    args = ["predict", str(good), str(bad), "--out", str(out), "--model", str(tiny_model["onnx"])]
    assert runner.invoke(app, args).exit_code == 1
    rows = {row["name"]: row for row in _summary(out)}
    assert rows["good"]["status"] == "ok" and rows["good"]["frames"] == "4"
    assert rows["notes"]["status"] == "failed"
    assert "is not a recording lvwall can read" in rows["notes"]["reason"]
    result = runner.invoke(app, [*args, "--skip-existing"])
    rows = {row["name"]: row for row in _summary(out)}
    assert (rows["good"]["status"], rows["good"]["frames"]) == ("skipped", "4")
    assert "skipped" in result.output and rows["notes"]["status"] == "failed"


def test_a_killed_run_leaves_no_temporary_and_resumes(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    first = write_video(tmp_path / "a-short.avi", echo_frames(3), fps=10)
    frames = echo_frames(400, height=240, width=320)
    second = write_video(tmp_path / "b-long.avi", frames, fps=10)
    out = tmp_path / "out"
    command = [*LVWALL, "predict", str(first), str(second), "--out", str(out)]
    command += ["--model", str(tiny_model["onnx"]), "--threads", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: (out / "a-short").is_dir() and list(out.glob(".b-long.*.tmp")), 120, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(out.glob(".b-long.*.tmp")), "the killed run left its temporary folder"
    assert not (out / "b-long").exists(), "nothing carries a final name unless complete"
    finished = {path: path.stat().st_mtime_ns for path in (out / "a-short").iterdir()}

    result = runner.invoke(app, [*command[len(LVWALL) :], "--skip-existing"])
    assert result.exit_code == 0, result.output
    assert not [path for path in out.iterdir() if path.name.startswith(".")]
    assert {path: path.stat().st_mtime_ns for path in (out / "a-short").iterdir()} == finished
    assert np.load(out / "b-long" / "masks.npz")["model"].shape[0] == len(frames)
    statuses = {row["name"]: row["status"] for row in _summary(out)}
    assert statuses == {"a-short": "skipped", "b-long": "ok"}

    again = runner.invoke(app, command[len(LVWALL) :])
    assert again.exit_code == 0, again.output
    assert {row["status"] for row in _summary(out)} == {"ok"}


def test_ctrl_c_in_training_says_how_to_resume(tmp_path: Path) -> None:
    data = tmp_path / "phantom"
    small = {"width": 128, "height": 96, "n_frames": 8, "cycle_frames": 6}
    write_dataset(data, 4, seed=0, progress=False, fixed_params=small)
    run = tmp_path / "run"
    command = [*LVWALL, "train", "--data", str(data), "--out", str(run), "--epochs", "500"]
    command += ["--frames-per-epoch", "4", "--batch-size", "4", "--fold", "0", "--folds", "2"]
    command += ["--threads", "1", "--augment", "none"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "1000"},
    )
    _wait_for(lambda: (run / "last.ckpt").is_file(), 300, process)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "Traceback" not in output
    assert f"continue it with: lvwall train --out {run} --resume" in output


def test_image_folder_png_summary(tmp_path: Path, tiny_model: dict[str, Path]) -> None:
    for name in ("b", "a"):
        write_image(tmp_path / "images" / f"{name}.png", echo_frames(1)[0])
    out = tmp_path / "out"
    args = ["predict", str(tmp_path / "images"), "--format", "png", "--out", str(out)]
    result = runner.invoke(app, [*args, "--model", str(tiny_model["onnx"])])
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in _summary(out)] == ["a", "b"]
    assert all(row["output"].endswith(".png") for row in _summary(out))


# Two recordings that share a file name in different folders, and how many frames each has:
# a mix-up shows as the other one's frame count or recorded path.
PATIENTS = {"p2": 3, "p3": 5}


def _recorded_input(masks: Path) -> str:
    with zipfile.ZipFile(masks) as archive:
        return json.loads(archive.read("source.json"))["path"]


@pytest.mark.parametrize(
    ("runs", "redone_in_run"),
    [
        # The case: p3 done alone, then p2 alone finds OUT/echo made from p3.
        ([["p3"], ["p2"], ["p2", "p3"], ["p3"]], {1: "held the outputs of another input"}),
        # A patient added to the batch, then the batch without the first one.
        ([["p2"], ["p2", "p3"], ["p3"], ["p2", "p3"]], {2: "held the outputs of another input"}),
        # Both, then each alone.
        ([["p2", "p3"], ["p2"], ["p3"]], {2: "held the outputs of another input"}),
    ],
)
def test_recordings_sharing_a_name_never_take_each_others_outputs(
    tmp_path: Path,
    tiny_model: dict[str, Path],
    runs: list[list[str]],
    redone_in_run: dict[int, str],
) -> None:
    videos = {
        patient: write_video(tmp_path / "pts" / patient / "echo.avi", echo_frames(n), fps=10)
        for patient, n in PATIENTS.items()
    }
    out = tmp_path / "out"
    done: set[str] = set()
    for index, patients in enumerate(runs):
        args = ["predict", *(str(videos[p]) for p in patients), "--out", str(out)]
        result = runner.invoke(app, [*args, "--skip-existing", "--model", str(tiny_model["onnx"])])
        assert result.exit_code == 0, result.output
        if index in redone_in_run:
            assert "redone" in result.output and redone_in_run[index] in result.output
        done |= {str(videos[p].resolve()) for p in patients}
        rows = {row["input"]: row for row in _summary(out)}
        assert set(rows) == done, "one row per input path, keyed by the resolved path"
        for patient in patients:
            row = rows[str(videos[patient].resolve())]
            assert row["status"] in {"ok", "skipped"}
            assert row["frames"] == str(PATIENTS[patient]), (index, patient, result.output)
            masks = Path(row["output"]) / "masks.npz"
            assert _recorded_input(masks) == str(videos[patient].resolve())
            assert np.load(masks)["model"].shape[0] == PATIENTS[patient]
        for row in rows.values():  # no row, of this run or an earlier one, points elsewhere
            if row["status"] != "replaced":
                assert _recorded_input(Path(row["output"]) / "masks.npz") == row["input"]
    names = {row["name"] for row in _summary(out)}
    assert names <= {"echo", "echo_p2", "echo_p3"}


def _truncate_masks(folder: Path, video: Path) -> None:
    masks = folder / "masks.npz"
    masks.write_bytes(masks.read_bytes()[: masks.stat().st_size // 2])


def _masks_without_source(folder: Path, video: Path) -> None:
    """An output of an lvwall that recorded no input."""
    masks = folder / "masks.npz"
    with zipfile.ZipFile(masks) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(masks, "w") as archive:
        for name, data in members.items():
            if name != "source.json":
                archive.writestr(name, data)


def _input_rewritten(folder: Path, video: Path) -> None:
    write_video(video, echo_frames(6), fps=10)
    os.utime(video, ns=(time.time_ns(), time.time_ns() + 10**9))


def _wall_area_lost(folder: Path, video: Path) -> None:
    (folder / "wall_area.csv").unlink()


@pytest.mark.parametrize(
    ("damage", "says", "frames"),
    [
        (_truncate_masks, "clip/masks.npz cannot be read (truncated or corrupt", 4),
        (_masks_without_source, "clip/masks.npz records no input", 4),
        (_input_rewritten, "clip is older than its input", 6),
        (_wall_area_lost, "clip is incomplete (no wall_area.csv)", 4),
    ],
    ids=["truncated masks.npz", "no recorded input", "input rewritten", "wall_area.csv lost"],
)
def test_skip_existing_redoes_an_output_it_cannot_vouch_for(
    tmp_path: Path,
    tiny_model: dict[str, Path],
    damage: Callable[[Path, Path], None],
    says: str,
    frames: int,
) -> None:
    video = write_video(tmp_path / "clip.avi", echo_frames(4), fps=10)
    out = tmp_path / "out"
    args = ["predict", str(video), "--out", str(out), "--model", str(tiny_model["onnx"])]
    assert runner.invoke(app, args).exit_code == 0
    damage(out / "clip", video)
    result = runner.invoke(app, [*args, "--skip-existing"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    line = next(line for line in result.output.splitlines() if "redone" in line)
    assert says in line and str(video) in line
    (row,) = _summary(out)
    assert (row["status"], row["frames"]) == ("ok", str(frames))
    assert says in row["reason"]
    assert np.load(out / "clip" / "masks.npz")["model"].shape[0] == frames
    # Now complete and of this input: the next run skips it.
    again = runner.invoke(app, [*args, "--skip-existing"])
    assert "skipped, complete" in again.output and "redone" not in again.output


def _markup_folder(tmp_path: Path) -> Path:
    """A path that reads ``odd[/]name.avi`` (a file name cannot hold ``/``; a path can)."""
    return tmp_path / "odd[" / "]name.avi"


@pytest.mark.parametrize(
    ("make_path", "shown"),
    [
        (_markup_folder, "odd[/]name.avi"),
        (lambda tmp: tmp / "[bold red]alarm.avi", "[bold red]alarm.avi"),
        (lambda tmp: Path(os.fsdecode(os.fsencode(tmp) + b"/echo\xff.avi")), "echo\\xff.avi"),
    ],
    ids=["[/] in the path", "[bold red] in the name", "undecodable name"],
)
def test_names_are_shown_and_written_literally(
    tmp_path: Path, tiny_model: dict[str, Path], make_path: Callable[[Path], Path], shown: str
) -> None:
    path = make_path(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a plain name, then renamed: the encoders take only decodable names.
    write_video(tmp_path / "plain.avi", echo_frames(3), fps=10).rename(path)
    good = write_video(tmp_path / "good.avi", echo_frames(3), fps=10)
    out = tmp_path / "out"
    args = ["predict", str(path), str(good), "--out", str(out)]
    result = runner.invoke(app, [*args, "--model", str(tiny_model["onnx"])])
    assert result.exit_code == 0, result.output
    line = next((line for line in result.output.splitlines() if shown in line), "")
    assert line, f"{shown} is not shown literally:\n{result.output}"
    text = (out / SUMMARY_FILE).read_text(encoding="utf-8")
    assert shown in text
    assert [row["status"] for row in _summary(out)] == ["ok", "ok"]


def test_an_interrupted_batch_keeps_the_summary_of_the_inputs_finished(
    tmp_path: Path, tiny_model: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    videos = [
        write_video(tmp_path / f"clip{index}.avi", echo_frames(3), fps=10) for index in (1, 2, 3)
    ]
    predict_one = batch_module._predict_one
    calls: list[Path] = []

    def failing_second(source, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(source.path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as Ctrl+C in the middle of the second input
        return predict_one(source, *args, **kwargs)

    monkeypatch.setattr(batch_module, "_predict_one", failing_second)
    out = tmp_path / "out"
    model = load_segmentation_model(tiny_model["onnx"])
    with pytest.raises(KeyboardInterrupt):
        predict_sources(discover(videos), model, PredictOptions(), out)
    rows = _summary(out)
    assert [(Path(row["input"]).name, row["status"]) for row in rows] == [("clip1.avi", "ok")]
    assert (out / "clip1" / "masks.npz").is_file() and not (out / "clip2").exists()


def test_png_masks_record_their_input_and_are_skipped_only_for_it(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    from PIL import Image

    stills = {
        patient: write_image(tmp_path / patient / "still.png", echo_frames(1)[0])
        for patient in ("p2", "p3")
    }
    out = tmp_path / "out"
    model = ["--format", "png", "--skip-existing", "--model", str(tiny_model["onnx"])]
    for patient in ("p3", "p2", "p2"):
        result = runner.invoke(app, ["predict", str(stills[patient]), "--out", str(out), *model])
        assert result.exit_code == 0, result.output
    assert "skipped, complete" in result.output
    with Image.open(out / "still.png") as image:
        image.load()  # the text chunk follows the pixels
        assert json.loads(image.info["lvwall-source"])["path"] == str(stills["p2"].resolve())
    rows = {Path(row["input"]).parent.name: row for row in _summary(out)}
    assert (rows["p2"]["status"], rows["p3"]["status"]) == ("skipped", "replaced")
    assert rows["p3"]["output"] == "" and "run it again" in rows["p3"]["reason"]


def test_sigterm_ends_a_batch_cleanly_keeping_the_summary_of_what_finished(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    first = write_video(tmp_path / "a-short.avi", echo_frames(3), fps=10)
    second = write_video(tmp_path / "b-long.avi", echo_frames(400, height=240, width=320), fps=10)
    out = tmp_path / "out"
    command = [*LVWALL, "predict", str(first), str(second), "--out", str(out)]
    command += ["--model", str(tiny_model["onnx"]), "--threads", "1"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _wait_for(lambda: (out / "a-short").is_dir() and list(out.glob(".b-long.*.tmp")), 120, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "terminated" in stderr and "Traceback" not in stderr
    assert not [path for path in out.iterdir() if path.name.startswith(".")], "no temporary"
    assert {row["name"]: row["status"] for row in _summary(out)} == {"a-short": "ok"}


def test_two_runs_on_one_out_keep_each_others_temporaries(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    """A second run of the same input into the same folder, while the first is writing it,
    leaves the first's temporary alone: both finish, one complete output remains."""
    frames = echo_frames(400, height=240, width=320)
    video = write_video(tmp_path / "b-long.avi", frames, fps=10)
    out = tmp_path / "out"
    args = ["predict", str(video), "--out", str(out), "--model", str(tiny_model["onnx"])]
    args += ["--threads", "1"]
    process = subprocess.Popen(
        [*LVWALL, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _wait_for(lambda: list(out.glob(".b-long.*.tmp")), 120, process)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    # Had the second run removed the first's temporary as stale, the first would fail to
    # finish writing into it.
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert not [path for path in out.iterdir() if path.name.startswith(".")]
    assert np.load(out / "b-long" / "masks.npz")["model"].shape[0] == len(frames)
    assert [row["status"] for row in _summary(out)] == ["ok"]


def test_an_out_folder_inside_the_input_folder_is_not_searched_for_inputs(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    """A second run over a folder that holds its own --out does not take the first run's
    overlay videos for recordings."""
    data = tmp_path / "echo"
    write_video(data / "clip.avi", echo_frames(4), fps=10)
    out = data / "out"
    args = ["predict", str(data), "--out", str(out), "--model", str(tiny_model["onnx"])]
    for _ in range(2):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert [Path(row["input"]).name for row in _summary(out)] == ["clip.avi"]
    assert sorted(path.name for path in out.iterdir()) == ["clip", SUMMARY_FILE]
