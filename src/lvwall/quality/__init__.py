"""Quality control of segmented frames: named anatomical and input checks, and a score.

Typical use, one :class:`QualityControl` per recording, fed its frames in order::

    from lvwall.quality import QualityControl
    control = QualityControl()
    for frame in segment_frames(frames, model, options):
        verdict = control.assess(frame.image, frame.probability, frame.mask, sector)
        verdict.quality      # estimated Dice of this frame's wall, in [0, 1]
        verdict.flags        # e.g. ("fragmented", "cavity"); empty when every check passes
        verdict.reasons      # {flag: one-line reason}

and on labelled frames, how well the score predicts the real Dice::

    from lvwall.quality import quality_agreement
    quality_agreement(qualities, dices)   # {"mae": ..., "spearman": ..., "auroc": ...}

and the apical view of a recording (A4C or A2C), from its grey frames and predicted walls::

    from lvwall.quality import ViewCall, load_view_classifier
    call = load_view_classifier().classify(recording.greys, recording.masks)
    call.view, call.probability      # "A2C", 0.97
    ViewCall.given("a4c").to_dict()  # {"view": "A4C", "source": "given"}

The flags are :data:`FLAGS`; their thresholds, and how they were derived, are in
:mod:`lvwall.quality.thresholds`.
"""

from lvwall.quality import thresholds
from lvwall.quality.agreement import FAIL_BELOW, quality_agreement
from lvwall.quality.checks import FLAGS, echo_checks, jump_checks, shape_checks
from lvwall.quality.control import (
    UNTRUSTWORTHY,
    FrameFeatures,
    FrameQuality,
    QualityControl,
    check_recording,
)
from lvwall.quality.echo_input import fan_shape, sector_content
from lvwall.quality.features import FEATURE_NAMES
from lvwall.quality.jump import JumpChecker
from lvwall.quality.score_model import (
    QUALITY_MODEL_NAME,
    UNCALIBRATED_NOTE,
    QualityModel,
    bundled_quality_model,
    fit_quality_model,
    read_quality_model,
)
from lvwall.quality.view import (
    VIEW_MODEL_NAME,
    ViewCall,
    ViewClassifier,
    WallCrop,
    fit_view_classifier,
    load_view_classifier,
    read_view_classifier,
)
from lvwall.quality.wall_shape import cavity_mask, measure_wall

__all__ = [
    "FAIL_BELOW",
    "FEATURE_NAMES",
    "FLAGS",
    "QUALITY_MODEL_NAME",
    "UNCALIBRATED_NOTE",
    "UNTRUSTWORTHY",
    "VIEW_MODEL_NAME",
    "FrameFeatures",
    "FrameQuality",
    "JumpChecker",
    "QualityControl",
    "QualityModel",
    "ViewCall",
    "ViewClassifier",
    "WallCrop",
    "bundled_quality_model",
    "cavity_mask",
    "check_recording",
    "echo_checks",
    "fan_shape",
    "fit_quality_model",
    "fit_view_classifier",
    "jump_checks",
    "load_view_classifier",
    "measure_wall",
    "quality_agreement",
    "read_quality_model",
    "read_view_classifier",
    "sector_content",
    "shape_checks",
    "thresholds",
]
