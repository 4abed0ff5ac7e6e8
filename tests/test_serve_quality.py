"""The frames' quality verdicts as the page shows them."""

from __future__ import annotations

from lvwall.quality import FrameQuality
from lvwall.serve.quality import RecordingQuality


def test_without_verdicts_quality_is_not_checked() -> None:
    quality = RecordingQuality.of([None, None, None])
    assert not quality.checked and quality.frame_flags is None and quality.flagged == []
    assert [frame["quality"] for frame in quality.to_json()["frames"]] == [None] * 3


def test_flags_and_scores_are_shown_per_frame() -> None:
    verdicts = [
        FrameQuality(0.91, (), {}),
        FrameQuality(0.4, ("fragmented", "holes"), {"fragmented": "a", "holes": "b"}),
        FrameQuality(0.8, ("jump",), {"jump": "c"}),
    ]
    quality = RecordingQuality.of(verdicts)
    assert quality.checked and quality.flagged == [1, 2]
    assert quality.frame_flags == [(), ("fragmented", "holes"), ("jump",)]
    frames = quality.to_json()["frames"]
    assert [frame["quality"] for frame in frames] == [0.91, 0.4, 0.8]
    assert frames[1]["reasons"] == {"fragmented": "a", "holes": "b"}
