"""Every Python block of the guides under docs/ runs, on inputs made here, and gives what its
prose says. The README's blocks run in test_readme.py on the tour's outputs.

A block's names that the prose leaves to the reader (``masks``, ``four_chamber``, ``frame``,
...) are filled in by the block's entry in :data:`SETUPS`, and the paths it names are
replaced by files made here; a guide that gains a block fails
:func:`test_every_python_block_has_a_setup` until it is added below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lvwall.data import find_sector
from lvwall.data.phantom import draw_params, simulate_recording, write_dataset
from lvwall.data.video import write_video
from lvwall.infer import PredictOptions, SegmentedRecording, load_segmentation_model, segment_frames
from lvwall.model import UNet, UNetConfig, save_model
from lvwall.regional.schematic import beating_wall
from tiny_models import soft_probabilities

DOCS = Path(__file__).resolve().parents[1] / "docs"
TINY = {"width": 96, "height": 64, "n_frames": 13, "cycle_frames": 12, "first_ed_frame": 1}


def python_blocks(guide: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / guide).read_text(encoding="utf-8"), re.S)


def _measure(folder: Path) -> tuple[dict, dict[str, str]]:
    masks = beating_wall(n_frames=11, amplitude=10.0)
    return {"masks": masks, "probabilities": soft_probabilities(masks)}, {}


def _exam(folder: Path) -> tuple[dict, dict[str, str]]:
    four, two = beating_wall(n_frames=11, amplitude=10.0), beating_wall(n_frames=14, amplitude=7.0)
    return {
        "four_chamber": SegmentedRecording("p_4CH", four, probabilities=soft_probabilities(four)),
        "two_chamber": SegmentedRecording("p_2CH", two, probabilities=soft_probabilities(two)),
    }, {}


def _quality(folder: Path) -> tuple[dict, dict[str, str]]:
    recording = simulate_recording(3, params=draw_params(3, **TINY))
    model = load_segmentation_model(None)
    frames = list(segment_frames(iter(recording.video), model, PredictOptions()))
    return {
        "frame": frames[0],
        "sector": find_sector(np.stack([frame.grey for frame in frames])),
        "qualities": [frame.quality.quality for frame in frames],
        "dices": np.linspace(0.6, 0.9, len(frames)),
    }, {}


def _training(folder: Path) -> tuple[dict, dict[str, str]]:
    model = UNet(UNetConfig(in_channels=1, widths=(4, 8), norm=None)).eval()
    checkpoint = save_model(folder / "best.safetensors", model, {"image_size": 32})
    data = folder / "phantom"
    write_dataset(data, 2, seed=1, progress=False, fixed_params=TINY)
    replacements = {
        '"runs/dice/best.ckpt"': repr(str(checkpoint)),
        '"/data/HMC-QU"': repr(str(data)),
        '"runs/dice/eval"': repr(str(folder / "eval")),
    }
    return {}, replacements


def _check_measure(namespace: dict, folder: Path) -> None:
    assert 0 < namespace["result"].ef_percent < 100
    assert (folder / "out" / "echo" / "measurements.json").is_file()


def _check_exam(namespace: dict, folder: Path) -> None:
    exam = namespace["exam"]
    low, high = sorted(view.ef_percent for view in exam.views.values())
    assert low < exam.ef_percent < high
    assert len(exam.segments()) == 12
    assert (folder / "out" / "exam" / "exam.json").is_file()


def _check_quality(namespace: dict, folder: Path) -> None:
    verdict = namespace["verdict"]
    assert 0.0 <= verdict.quality <= 1.0 and verdict.flag_text == ";".join(verdict.flags)


def _check_training(namespace: dict, folder: Path) -> None:
    assert 0.0 <= namespace["result"].macro["dice"] <= 1.0
    assert (folder / "eval" / "metrics.json").is_file()


Setup = Callable[[Path], tuple[dict, dict[str, str]]]
Check = Callable[[dict, Path], None]
#: Per guide, one (setup, check) per Python block in order; ``None``: a block that needs a
#: running server, run in test_serve_api.py's way by :func:`test_the_serve_guide_client`.
SETUPS: dict[str, list[tuple[Setup, Check] | None]] = {
    "measure.md": [(_measure, _check_measure), (_exam, _check_exam)],
    "quality.md": [(_quality, _check_quality)],
    "training.md": [(_training, _check_training)],
    "serve.md": [None],
}


def test_every_python_block_has_a_setup() -> None:
    guides = {
        path.relative_to(DOCS).as_posix(): len(python_blocks(path.relative_to(DOCS).as_posix()))
        for path in DOCS.rglob("*.md")
    }
    with_blocks = {guide: count for guide, count in guides.items() if count}
    assert with_blocks == {guide: len(blocks) for guide, blocks in SETUPS.items()}


CASES = [
    (guide, index)
    for guide, blocks in SETUPS.items()
    for index, entry in enumerate(blocks)
    if entry is not None
]


@pytest.mark.parametrize(("guide", "index"), CASES, ids=[f"{g}-{i}" for g, i in CASES])
def test_a_guide_block_runs_and_says_true(
    guide: str, index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup, check = SETUPS[guide][index]
    namespace, replacements = setup(tmp_path)
    block = python_blocks(guide)[index]
    for old, new in replacements.items():
        assert old in block, f"{guide} block {index} no longer names {old}"
        block = block.replace(old, new)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, f"{guide} block {index}", "exec"), namespace)  # noqa: S102
    check(namespace, tmp_path)


def test_the_serve_guide_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client of docs/serve.md against a real `lvwall serve`: EF and flags come back."""
    from serve_browser import running_server

    recording = simulate_recording(5, params=draw_params(5, **TINY))
    write_video(tmp_path / "echo.avi", recording.video, fps=recording.params.fps)
    (block,) = python_blocks("serve.md")
    with running_server(temporary=tmp_path) as url:
        block = block.replace("http://127.0.0.1:8765", url.rstrip("/"))
        monkeypatch.chdir(tmp_path)
        namespace: dict = {}
        exec(compile(block, "serve.md", "exec"), namespace)  # noqa: S102
    assert namespace["result"]["frames"] == TINY["n_frames"]
    assert namespace["masks"][:2] == b"PK"  # the masks.npz, a zip
