"""Every key of the JSON files ``lvwall measure`` writes, and every column of the CSV files
``lvwall predict`` and ``lvwall measure`` write, is named in the guide that describes them.
(The page's result JSON is checked in test_serve_api.py.)"""

from __future__ import annotations

import re
from pathlib import Path

from lvwall.infer import SegmentedRecording
from lvwall.measure import measure_exam, measure_recording
from lvwall.regional.schematic import beating_wall
from tiny_models import soft_probabilities

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: Keys that stand for a name the data gives: a segment (SEG3, ...) or a view (A4C, A2C).
NAMED = re.compile(r"^(SEG\d+|A[24]C)$")
#: Unit and segment parts of column names, as the guides write them (``SEG3_length_<mm|px>``).
COLUMN_PATTERNS = (
    (re.compile(r"^SEG\d+_"), "SEG3_"),
    (re.compile(r"_(mm|px)$"), "_<mm|px>"),
    (re.compile(r"_(mm2|px2)$"), "_<mm2|px2>"),
    (re.compile(r"_(ml|px3)$"), "_<ml|px3>"),
)


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return {k for k in value if not NAMED.match(k)} | {
            key for item in value.values() for key in _keys(item)
        }
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


def _documented(guide: str) -> set[str]:
    """The names a guide writes as code (fenced blocks left out: their backticks would pair
    with the prose's)."""
    prose = re.sub(r"```.*?```", "", (DOCS / guide).read_text(encoding="utf-8"), flags=re.S)
    return set(re.findall(r"`([^`\n]+)`", prose))


def test_every_key_of_measurements_and_exam_json_is_in_measure_md() -> None:
    four, two = beating_wall(n_frames=11, amplitude=10.0), beating_wall(n_frames=14, amplitude=7.0)
    single = measure_recording(four, soft_probabilities(four), frame_flags=[()] * len(four))
    exam = measure_exam(
        SegmentedRecording("p_4CH", four, probabilities=soft_probabilities(four)),
        SegmentedRecording("p_2CH", two, probabilities=soft_probabilities(two)),
    )
    documented = _documented("measure.md")
    missing = (_keys(single.to_json()) | _keys(exam.to_json())) - documented
    assert not missing, f"keys written but not in docs/measure.md: {sorted(missing)}"


def test_every_column_of_measurements_csv_is_in_measure_md() -> None:
    masks = beating_wall(n_frames=11, amplitude=10.0)
    columns = set(measure_recording(masks, spacing_mm=0.3).frames.columns)
    columns |= set(measure_recording(masks).frames.columns)
    documented = _documented("measure.md")
    missing = set()
    for column in columns:
        shown = column
        for pattern, text in COLUMN_PATTERNS:
            shown = pattern.sub(text, shown)
        if column not in documented and shown not in documented:
            missing.add(column)
    assert not missing, f"columns written but not in docs/measure.md: {sorted(missing)}"
