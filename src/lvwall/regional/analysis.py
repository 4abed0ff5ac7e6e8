"""Regional analysis of one recording's cycle, and the files ``lvwall regional`` writes.

Everything is named by the view the cycle was analysed as: its six segments
(:func:`lvwall.data.segment_names`: A4C SEG3..SEG6, A2C SEG4..SEG1, AHA 17-segment model,
Cerqueira et al., Circulation 105(4), 2002), in label-map order 1..6.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lvwall.atomic import atomic_path, write_json, write_text
from lvwall.data import SEGMENT_TITLES, VIEW_SEGMENTS, check_view, segment_names
from lvwall.errors import DataError
from lvwall.regional.figures import plot_motion_curves, plot_segment_diagram, plot_segment_overlay
from lvwall.regional.mi import (
    DEFAULT_SCORE,
    SCORE_RANGES,
    SCORES,
    MIEvaluation,
    flag_hypokinetic,
    segment_scores,
)
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
    """Learned hypokinesia thresholds (6,) of one view's segments for one motion score, as
    ``regional-eval`` saves them (one file per view)."""

    score: str
    values: np.ndarray
    view: str = "A4C"

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", check_view(self.view))
        if np.shape(self.values) != (len(segment_names(self.view)),):
            raise ValueError(f"need 6 thresholds, got shape {np.shape(self.values)}")

    @classmethod
    def from_evaluation(cls, evaluation: MIEvaluation) -> Thresholds:
        return cls(score=evaluation.score, values=evaluation.thresholds, view=evaluation.view)

    def save(self, target: str | Path) -> Path:
        """Write ``{"score", "view", "thresholds": {segment name: value}}`` as JSON."""
        names = segment_names(self.view)
        thresholds = dict(zip(names, map(float, self.values), strict=True))
        # -inf is the threshold of a segment that is never flagged.
        return write_json(
            target,
            {"score": self.score, "view": self.view, "thresholds": thresholds},
            allow_infinity=True,
        )

    @classmethod
    def load(cls, path: str | Path, view: str | None = None) -> Thresholds:
        """Read a thresholds file, of ``view`` when one is given; :class:`DataError` when it
        is missing, malformed or holds the thresholds of another view than ``view``.

        The file's view is the one whose six segments it names (files written before views
        existed name the A4C ones and have no ``view`` field).
        """
        path, wanted = Path(path), None if view is None else check_view(view)
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
            named = set(content["thresholds"])
            score = str(content["score"])
        except FileNotFoundError:
            raise DataError(path, "does not exist") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(
                path, f"is not a thresholds file written by lvwall regional-eval ({error})"
            ) from None
        held = [name for name, segments in VIEW_SEGMENTS.items() if set(segments) == named]
        if not held:
            raise DataError(
                path,
                f"is not a thresholds file written by lvwall regional-eval (it names the "
                f"segments {sorted(named)}, not the six of one view)",
            )
        held_view = held[0]
        if wanted is not None and held_view != wanted:
            raise DataError(
                path,
                f"holds thresholds for the {held_view} segments "
                f"({', '.join(VIEW_SEGMENTS[held_view])}), not for the {wanted} view analysed "
                f"here; give the {wanted} thresholds file of lvwall regional-eval",
            )
        try:
            names = segment_names(held_view)
            values = np.array([float(content["thresholds"][name]) for name in names])
        except (ValueError, TypeError) as error:
            raise DataError(
                path, f"is not a thresholds file written by lvwall regional-eval ({error})"
            ) from None
        if score not in SCORES:
            raise DataError(path, f"names an unknown score {score!r} (known: {sorted(SCORES)})")
        return cls(score=score, values=values, view=held_view)


@dataclass(frozen=True)
class RegionalAnalysis:
    """The six-segment split of every frame of a cycle, its motion and per-segment scores.

    ``view`` (A4C or A2C) names the segments: label k and column k are the k-th of
    :func:`lvwall.data.segment_names`. ``flags`` (6 booleans, hypokinetic) is ``None`` when
    no thresholds were given.
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
    view: str = "A4C"

    @property
    def segment_names(self) -> tuple[str, ...]:
        """The view's six segments, in label-map order."""
        return segment_names(self.view)

    @property
    def labels(self) -> np.ndarray:
        return label_maps(self.splits)

    @property
    def flags(self) -> np.ndarray | None:
        if self.thresholds is None:
            return None
        return flag_hypokinetic(self.scores, self.thresholds)

    def table(self) -> pd.DataFrame:
        """One row per segment: name, title, view, motion figures, score, threshold and flag."""
        table = pd.DataFrame(
            {
                "segment": self.segment_names,
                "title": [SEGMENT_TITLES[name] for name in self.segment_names],
                "view": self.view,
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
    view: str = "A4C",
) -> RegionalAnalysis:
    """Split every frame of one cycle (T, H, W), measure its motion and score each segment.

    Frame 0 is the reference (start of the cycle). ``view`` (A4C or A2C, any case) names the
    six segments; ``septal_side`` is the image side of the view's first wall (the septum in
    A4C, the inferior wall in A2C). With ``thresholds`` (whose score must be ``score`` and
    whose view ``view``) each segment is also flagged hypokinetic or not. Predicted masks may
    break in a few frames, and quality control may flag some (``excluded``, 0-based): those
    hold the previous frame's split (``held_frames``), so their masks add no motion to the
    curves.
    """
    view = check_view(view)
    if thresholds is not None and thresholds.score != score:
        raise ValueError(f"thresholds are for score {thresholds.score!r}, not {score!r}")
    if thresholds is not None and thresholds.view != view:
        raise ValueError(f"thresholds are for the {thresholds.view} view, not {view}")
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
        view=view,
    )


def write_regional(
    analysis: RegionalAnalysis, out_dir: str | Path, frame: np.ndarray, title: str = ""
) -> dict[str, Path]:
    """Write the label maps, curves, diagram, overlay (on ``frame``) and table to ``out_dir``.

    ``frame`` is the grey reference frame (H, W) the overlay is drawn on. Everything is named
    and coloured by the analysis's view; ``segments.npz`` also holds ``segment_names`` and
    ``view``. Returns the written paths by the keys of :data:`OUTPUT_FILES`.
    """
    out_dir, view = Path(out_dir), analysis.view
    paths = {key: out_dir / name for key, name in OUTPUT_FILES.items()}
    with atomic_path(paths["segments"]) as tmp:
        np.savez_compressed(
            tmp,
            segments=analysis.labels,
            segment_names=np.array(analysis.segment_names),
            view=np.array(view),
        )
    write_text(paths["motion_csv"], motion_table(analysis.motion, view).to_csv(index=False))
    plot_motion_curves(analysis.motion, paths["motion_png"], title=title, view=view)
    plot_segment_diagram(
        analysis.scores,
        paths["diagram"],
        value_label=f"{analysis.score} score",
        flags=analysis.flags,
        title=title,
        view=view,
        value_range=SCORE_RANGES[analysis.score],
        thresholds=analysis.thresholds,
    )
    plot_segment_overlay(frame, analysis.splits[0].labels, paths["overlay"], title=title, view=view)
    write_text(paths["table"], analysis.table().to_csv(index=False))
    return paths


def motion_table(motion: MotionCurves, view: str = "A4C") -> pd.DataFrame:
    """The motion curves as a table: one row per frame (1-based), one column per curve and
    segment of ``view`` (``displacement_pct_SEG4`` ...)."""
    names = segment_names(view)
    columns: dict[str, np.ndarray] = {"frame": np.arange(1, len(motion.displacement) + 1)}
    for index, name in enumerate(names):
        columns[f"displacement_pct_{name}"] = 100 * motion.normalised_displacement[:, index]
    for index, name in enumerate(names):
        columns[f"inward_pct_{name}"] = 100 * motion.normalised_inward[:, index]
    for index, name in enumerate(names):
        columns[f"thickening_pct_{name}"] = 100 * motion.thickening[:, index]
    return pd.DataFrame(columns)
