"""Large batches: interrupted runs leave nothing half-done and resume, parts split one batch,
the summary lists every input; and Ctrl+C in training says how to resume."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from echo_inputs import echo_frames, write_image
from lvwall.cli import app
from lvwall.data.phantom import write_dataset
from lvwall.data.video import write_video
from lvwall.infer import SUMMARY_FILE, share

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
