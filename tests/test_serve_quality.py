"""Per-frame quality read from ``lvwall predict``'s quality.csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvwall.errors import DataError
from lvwall.serve.quality import QUALITY_FILE, read_quality


def test_without_the_file_quality_is_not_checked(tmp_path: Path) -> None:
    quality = read_quality(tmp_path, 3)
    assert not quality.checked and quality.frame_flags is None and quality.flagged == []
    assert quality.to_json()["frames"] == [
        {"index": index, "quality": None, "flags": []} for index in range(3)
    ]


def test_flags_and_scores_are_read_per_frame(tmp_path: Path) -> None:
    (tmp_path / QUALITY_FILE).write_text(
        "frame,quality,flags\n0,0.91,\n1,0.40,low_contrast;broken_wall\n2,,\n3,0.8,dropout\n"
    )
    quality = read_quality(tmp_path, 4)
    assert quality.checked
    assert quality.flagged == [1, 3]
    assert quality.frame_flags == [(), ("low_contrast", "broken_wall"), (), ("dropout",)]
    assert [frame["quality"] for frame in quality.to_json()["frames"]] == [0.91, 0.4, None, 0.8]


@pytest.mark.parametrize(
    ("content", "frames", "problem"),
    [
        ("frame,score\n0,1\n", 1, "is not a quality file"),
        ("frame,quality,flags\n0,1,\n", 2, "has 1 rows for a recording of 2 frames"),
        ("frame,quality,flags\n0,good,\n", 1, "holds a quality that is not a finite number"),
        ("frame,quality,flags\n0,nan,\n", 1, "holds a quality that is not a finite number"),
    ],
)
def test_a_malformed_file_is_one_sentence_naming_it(
    tmp_path: Path, content: str, frames: int, problem: str
) -> None:
    (tmp_path / QUALITY_FILE).write_text(content)
    with pytest.raises(DataError, match=problem) as raised:
        read_quality(tmp_path, frames)
    assert raised.value.path == tmp_path / QUALITY_FILE
