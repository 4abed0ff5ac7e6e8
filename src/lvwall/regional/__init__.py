"""Regional wall analysis: the six segments' motion over a cycle of an apical view, and MI flags.

The wall's geometry (centreline, segments, profiles) is :mod:`lvwall.wall`.

Typical use on one cycle of wall masks (T, H, W), frame 0 the reference (end-diastole)::

    from lvwall.regional import analyse_cycle
    analysis = analyse_cycle(masks, view="A2C")  # split, motion, per-segment scores
    analysis.labels                              # (T, H, W): 0 background, 1..6 the segments
    analysis.table()                             # per-segment figures, SEG4 .. SEG1

and on labelled data, to learn and check hypokinesia thresholds::

    from lvwall.regional import evaluate_cycles
    evaluation = evaluate_cycles([(masks, segment_mi), ...], groups=patients)
    print(evaluation.table(), evaluation.summary())

Label maps number the segments 1..6 in the order of the view's
:func:`lvwall.data.segment_names`, from the image-left base over the apex to the image-right
base: A4C SEG3, SEG9, SEG14, SEG16, SEG12, SEG6 (septal to lateral), A2C SEG4, SEG10, SEG15,
SEG13, SEG7, SEG1 (inferior to anterior), as in the AHA 17-segment model (Cerqueira et al.,
Circulation 105(4), 2002) and HMC-QU's sheets.
"""

from lvwall.regional.analysis import (
    RegionalAnalysis,
    Thresholds,
    analyse_cycle,
    motion_table,
    write_regional,
)
from lvwall.regional.evaluation import DatasetEvaluation, evaluate_dataset
from lvwall.regional.figures import plot_motion_curves, plot_segment_diagram, plot_segment_overlay
from lvwall.regional.mi import (
    DEFAULT_SCORE,
    PUBLISHED_HMCQU_MI_DETECTION,
    SCORE_RANGES,
    SCORES,
    DetectionMetrics,
    MIEvaluation,
    PatientEvaluation,
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
    "SCORE_RANGES",
    "SCORES",
    "DatasetEvaluation",
    "DetectionMetrics",
    "MIEvaluation",
    "MotionCurves",
    "PatientEvaluation",
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
