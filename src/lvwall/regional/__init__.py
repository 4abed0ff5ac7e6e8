"""Regional wall analysis: the six A4C segments' motion over a cycle, and MI flags.

The wall's geometry (centreline, segments, profiles) is :mod:`lvwall.wall`.

Typical use on one cycle of wall masks (T, H, W), frame 0 the reference (end-diastole)::

    from lvwall.regional import analyse_cycle
    analysis = analyse_cycle(masks)          # split, motion, per-segment scores
    analysis.labels                          # (T, H, W): 0 background, 1..6 SEGMENT_NAMES
    analysis.table()                         # per-segment figures

and on labelled data, to learn and check hypokinesia thresholds::

    from lvwall.regional import evaluate_cycles
    evaluation = evaluate_cycles([(masks, segment_mi), ...], groups=patients)
    print(evaluation.table(), evaluation.summary())

Label maps number the segments 1..6 in :data:`lvwall.data.records.SEGMENT_NAMES` order
(SEG3, SEG9, SEG14, SEG16, SEG12, SEG6: septal base over the apex to the lateral base).
"""

from lvwall.regional.analysis import (
    RegionalAnalysis,
    Thresholds,
    analyse_cycle,
    motion_table,
    write_regional,
)
from lvwall.regional.evaluation import evaluate_dataset
from lvwall.regional.figures import plot_motion_curves, plot_segment_diagram, plot_segment_overlay
from lvwall.regional.mi import (
    DEFAULT_SCORE,
    PUBLISHED_HMCQU_MI_DETECTION,
    SCORES,
    DetectionMetrics,
    MIEvaluation,
    cross_validate,
    evaluate_cycles,
    flag_hypokinetic,
    learn_threshold,
    learn_thresholds,
    segment_scores,
)
from lvwall.regional.motion import MotionCurves, wall_motion
from lvwall.regional.schematic import beating_wall

__all__ = [
    "DEFAULT_SCORE",
    "PUBLISHED_HMCQU_MI_DETECTION",
    "SCORES",
    "DetectionMetrics",
    "MIEvaluation",
    "MotionCurves",
    "RegionalAnalysis",
    "Thresholds",
    "analyse_cycle",
    "beating_wall",
    "cross_validate",
    "evaluate_cycles",
    "evaluate_dataset",
    "flag_hypokinetic",
    "learn_threshold",
    "learn_thresholds",
    "motion_table",
    "plot_motion_curves",
    "plot_segment_diagram",
    "plot_segment_overlay",
    "segment_scores",
    "wall_motion",
    "write_regional",
]
