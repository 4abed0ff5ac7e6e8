"""Regional analysis of one recording's cycle, and the files ``lvwall regional`` writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lvwall.atomic import atomic_path, write_json, write_text
from lvwall.data import SEGMENT_NAMES, SEGMENT_TITLES
from lvwall.errors import DataError
from lvwall.regional.figures import plot_motion_curves, plot_segment_diagram, plot_segment_overlay
from lvwall.regional.mi import DEFAULT_SCORE, SCORES, MIEvaluation, flag_hypokinetic, segment_scores
from lvwall.regional.motion import MotionCurves, wall_motion
from lvwall.wall import SegmentSplit, label_maps, split_predicted_sequence

#: The files :func:`write_regional` writes, by what they hold.
OUTPUT_FILES: dict[str, str] = {
    "segments": "segments.npz",
    "motion_csv": "motion.csv",
    "motion_png": "motion.png",
    "diagram": "diagram.png",
    "overlay": "overlay.png",
    "table": "segments.csv",
}


@dataclass(frozen=True)
class Thresholds:
    """Learned hypokinesia thresholds (6,) for one motion score, as ``regional-eval`` saves."""

    score: str
    values: np.ndarray

    @classmethod
    def from_evaluation(cls, evaluation: MIEvaluation) -> Thresholds:
        return cls(score=evaluation.score, values=evaluation.thresholds)

    def save(self, target: str | Path) -> Path:
        thresholds = dict(zip(SEGMENT_NAMES, map(float, self.values), strict=True))
        # -inf is the threshold of a segment that is never flagged.
        return write_json(
            target, {"score": self.score, "thresholds": thresholds}, allow_infinity=True
        )

    @classmethod
    def load(cls, path: str | Path) -> Thresholds:
        """Read a thresholds file; :class:`DataError` when it is missing or malformed."""
        path = Path(path)
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
            values = np.array([float(content["thresholds"][name]) for name in SEGMENT_NAMES])
            score = str(content["score"])
        except FileNotFoundError:
            raise DataError(path, "does not exist") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(
                path, f"is not a thresholds file written by lvwall regional-eval ({error})"
            ) from None
        if score not in SCORES:
            raise DataError(path, f"names an unknown score {score!r} (known: {sorted(SCORES)})")
        return cls(score=score, values=values)


@dataclass(frozen=True)
class RegionalAnalysis:
    """The six-segment split of every frame of a cycle, its motion and per-segment scores.

    ``flags`` (6 booleans, hypokinetic) is ``None`` when no thresholds were given.
    ``held_frames`` are the 0-based frames whose wall could not be split or that quality
    control flagged, and that reuse the previous frame's split (see
    :func:`split_predicted_sequence`); ``excluded_frames`` are those flagged.
    """

    splits: list[SegmentSplit]
    motion: MotionCurves
    score: str
    scores: np.ndarray
    thresholds: np.ndarray | None
    held_frames: tuple[int, ...] = ()
    excluded_frames: tuple[int, ...] = ()

    @property
    def labels(self) -> np.ndarray:
        return label_maps(self.splits)

    @property
    def flags(self) -> np.ndarray | None:
        if self.thresholds is None:
            return None
        return flag_hypokinetic(self.scores, self.thresholds)

    def table(self) -> pd.DataFrame:
        """One row per segment: name, title, motion figures, score, threshold and flag."""
        table = pd.DataFrame(
            {
                "segment": SEGMENT_NAMES,
                "title": [SEGMENT_TITLES[name] for name in SEGMENT_NAMES],
                "max_displacement_pct_long_axis": 100 * self.motion.max_displacement,
                "max_inward_pct_long_axis": 100 * self.motion.max_inward,
                "max_thickening_pct": 100 * self.motion.max_thickening,
                f"score_{self.score}": self.scores,
            }
        )
        if self.thresholds is not None:
            table["threshold"] = self.thresholds
            table["hypokinetic"] = self.flags
        return table


def analyse_cycle(
    masks: np.ndarray,
    septal_side: str = "left",
    score: str = DEFAULT_SCORE,
    thresholds: Thresholds | None = None,
    source: str = "masks",
    excluded: Sequence[int] = (),
) -> RegionalAnalysis:
    """Split every frame of one cycle (T, H, W), measure its motion and score each segment.

    Frame 0 is the reference (start of the cycle). With ``thresholds`` (whose score must be
    ``score``) each segment is also flagged hypokinetic or not. Predicted masks may break in a
    few frames, and quality control may flag some (``excluded``, 0-based): those hold the
    previous frame's split (``held_frames``), so their masks add no motion to the curves.
    """
    if thresholds is not None and thresholds.score != score:
        raise ValueError(f"thresholds are for score {thresholds.score!r}, not {score!r}")
    splits, held = split_predicted_sequence(
        masks, septal_side=septal_side, source=source, excluded=excluded
    )
    motion = wall_motion(splits)
    return RegionalAnalysis(
        splits=splits,
        motion=motion,
        score=score,
        scores=segment_scores(motion, score),
        thresholds=None if thresholds is None else thresholds.values,
        held_frames=tuple(held),
        excluded_frames=tuple(sorted(set(excluded))),
    )


def write_regional(
    analysis: RegionalAnalysis, out_dir: str | Path, frame: np.ndarray, title: str = ""
) -> dict[str, Path]:
    """Write the label maps, curves, diagram, overlay (on ``frame``) and table to ``out_dir``.

    ``frame`` is the grey reference frame (H, W) the overlay is drawn on. Returns the
    written paths by the keys of :data:`OUTPUT_FILES`.
    """
    out_dir = Path(out_dir)
    paths = {key: out_dir / name for key, name in OUTPUT_FILES.items()}
    with atomic_path(paths["segments"]) as tmp:
        np.savez_compressed(tmp, segments=analysis.labels, segment_names=np.array(SEGMENT_NAMES))
    write_text(paths["motion_csv"], motion_table(analysis.motion).to_csv(index=False))
    plot_motion_curves(analysis.motion, paths["motion_png"], title=title)
    plot_segment_diagram(
        analysis.scores,
        paths["diagram"],
        value_label=f"{analysis.score} score",
        flags=analysis.flags,
        title=title,
    )
    plot_segment_overlay(frame, analysis.splits[0].labels, paths["overlay"], title=title)
    write_text(paths["table"], analysis.table().to_csv(index=False))
    return paths


def motion_table(motion: MotionCurves) -> pd.DataFrame:
    """The motion curves as a table: one row per frame (1-based), one column per curve."""
    columns: dict[str, np.ndarray] = {"frame": np.arange(1, len(motion.displacement) + 1)}
    for index, name in enumerate(SEGMENT_NAMES):
        columns[f"displacement_pct_{name}"] = 100 * motion.normalised_displacement[:, index]
    for index, name in enumerate(SEGMENT_NAMES):
        columns[f"inward_pct_{name}"] = 100 * motion.normalised_inward[:, index]
    for index, name in enumerate(SEGMENT_NAMES):
        columns[f"thickening_pct_{name}"] = 100 * motion.thickening[:, index]
    return pd.DataFrame(columns)
