"""Regional wall analysis: the six A4C segments, their motion over a cycle, and MI flags.

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
    write_outputs,
)
from lvwall.regional.centreline import (
    SEPTAL_SIDES,
    Centreline,
    clean_wall_mask,
    main_wall_pixels,
    wall_centreline,
)
from lvwall.regional.errors import RegionalError
from lvwall.regional.mi import (
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
from lvwall.regional.motion import MotionCurves, WallProfile, wall_motion, wall_profile
from lvwall.regional.segments import (
    SegmentSplit,
    centreline_segments,
    label_maps,
    segment_dice,
    split_sequence,
    split_wall,
)

__all__ = [
    "PUBLISHED_HMCQU_MI_DETECTION",
    "SCORES",
    "SEPTAL_SIDES",
    "Centreline",
    "DetectionMetrics",
    "MIEvaluation",
    "MotionCurves",
    "RegionalAnalysis",
    "RegionalError",
    "SegmentSplit",
    "Thresholds",
    "WallProfile",
    "analyse_cycle",
    "centreline_segments",
    "clean_wall_mask",
    "cross_validate",
    "evaluate_cycles",
    "flag_hypokinetic",
    "label_maps",
    "learn_threshold",
    "learn_thresholds",
    "main_wall_pixels",
    "motion_table",
    "segment_dice",
    "segment_scores",
    "split_sequence",
    "split_wall",
    "wall_centreline",
    "wall_motion",
    "wall_profile",
    "write_outputs",
]
