"""Segment the LV wall in any recording: backends, post-processing, the streamed pipeline
and the writers.

* :mod:`~lvwall.infer.backends`: how the network runs (:data:`BACKENDS`) and loading a model;
* :mod:`~lvwall.infer.postprocess`: test-time augmentation, temporal smoothing, mask filters;
* :mod:`~lvwall.infer.pipeline`: one recording's frames, streamed through the network;
* :mod:`~lvwall.infer.segmented`: one segmented recording, the type every analysis takes;
* :mod:`~lvwall.infer.writers`: what is written per recording (:data:`OUTPUT_WRITERS`);
* :mod:`~lvwall.infer.mask_npz`: masks in NPZ files, written and read a frame at a time;
* :mod:`~lvwall.infer.batch`: many inputs into one folder, each outcome reported.
"""

from lvwall.infer.backends import (
    BACKENDS,
    OnnxPredictor,
    Predictor,
    SegmentationModel,
    TorchPredictor,
    load_segmentation_model,
    runs_on,
)
from lvwall.infer.batch import (
    SUMMARY_FILE,
    Outcome,
    PredictProgress,
    predict_sources,
    readable_text,
    share,
)
from lvwall.infer.mask_npz import iter_npz_frames
from lvwall.infer.pipeline import (
    MAX_PREVIEW_SIDE,
    STAGE_BYTES,
    PredictOptions,
    SegmentedFrame,
    frames_in_flight,
    network_inputs,
    preview_image,
    segment_frames,
)
from lvwall.infer.postprocess import (
    MASK_FILTERS,
    SMOOTHERS,
    TEST_TIME_AUGMENTATIONS,
    CentredMean,
    FlipAverage,
    keep_largest_component,
)
from lvwall.infer.segmented import (
    ORIGINAL_KEY,
    SegmentedCollector,
    SegmentedRecording,
    join_stills,
    npz_recording_name,
    read_masks_npz,
    segment_recording,
)
from lvwall.infer.writers import (
    DEFAULT_FPS,
    OUTPUT_FILES,
    OUTPUT_WRITERS,
    WALL_COLOUR,
    WALL_OPACITY,
    even_sided,
    frame_overlay,
    mark_flagged,
    overlay,
    preview_size,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_FPS",
    "MASK_FILTERS",
    "MAX_PREVIEW_SIDE",
    "ORIGINAL_KEY",
    "OUTPUT_FILES",
    "OUTPUT_WRITERS",
    "SMOOTHERS",
    "STAGE_BYTES",
    "SUMMARY_FILE",
    "TEST_TIME_AUGMENTATIONS",
    "WALL_COLOUR",
    "WALL_OPACITY",
    "CentredMean",
    "FlipAverage",
    "OnnxPredictor",
    "Outcome",
    "PredictOptions",
    "PredictProgress",
    "Predictor",
    "SegmentationModel",
    "SegmentedCollector",
    "SegmentedFrame",
    "SegmentedRecording",
    "TorchPredictor",
    "even_sided",
    "frame_overlay",
    "frames_in_flight",
    "iter_npz_frames",
    "keep_largest_component",
    "join_stills",
    "load_segmentation_model",
    "npz_recording_name",
    "mark_flagged",
    "network_inputs",
    "overlay",
    "predict_sources",
    "preview_image",
    "preview_size",
    "readable_text",
    "read_masks_npz",
    "runs_on",
    "segment_frames",
    "segment_recording",
    "share",
]
