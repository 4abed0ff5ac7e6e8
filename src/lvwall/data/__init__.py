"""Datasets: HMC-QU, CAMUS, the synthetic A4C phantom, and what they share."""

from lvwall.data import hmcqu
from lvwall.data.augment import AUGMENTATIONS, build_augment
from lvwall.data.camus import (
    CAMUS_VIEWS,
    PHASES,
    WALL_LABEL,
    list_patients,
    load_dataset,
    load_patient,
)
from lvwall.data.dataset import FrameDataset, select_recordings
from lvwall.data.exams import (
    Pairing,
    exam_name,
    pair_exams,
    pair_stills,
    still_phase,
    view_in_name,
)
from lvwall.data.hmcqu import find_layout, mask_path, read_a4c_xlsx, read_mask_mat, video_path
from lvwall.data.inputs import (
    IMAGE_SUFFIXES,
    MAX_SPACING_MM,
    MIN_SPACING_MM,
    InputSource,
    Recording,
    discover,
    natural_key,
    spacing_is_plausible,
)
from lvwall.data.phantom import (
    FunctionTruth,
    draw_params,
    load_truth,
    recording_seed,
    simulate_recording,
    truth_path,
    write_dataset,
)
from lvwall.data.phantom.figure import comparison_figure
from lvwall.data.preprocess import prepare_frame, resize
from lvwall.data.records import (
    MODEL_SIZE,
    SEGMENT_NAMES,
    SEGMENT_TITLES,
    VIEW_SEGMENTS,
    VIEW_WALLS,
    VIEWS,
    EchoRecord,
    LabelledRecording,
    check_view,
    check_views,
    echo_view,
    patient_id,
    segment_names,
)
from lvwall.data.registry import detect_format, load_labelled
from lvwall.data.sector import SECTOR_FRAMES, Sector, find_sector, whole_frame
from lvwall.data.splits import kfold, train_val_split
from lvwall.data.video import iter_frames, write_video

__all__ = [
    "AUGMENTATIONS",
    "CAMUS_VIEWS",
    "IMAGE_SUFFIXES",
    "MAX_SPACING_MM",
    "MIN_SPACING_MM",
    "MODEL_SIZE",
    "PHASES",
    "SECTOR_FRAMES",
    "SEGMENT_NAMES",
    "SEGMENT_TITLES",
    "VIEWS",
    "VIEW_SEGMENTS",
    "VIEW_WALLS",
    "WALL_LABEL",
    "EchoRecord",
    "FrameDataset",
    "FunctionTruth",
    "InputSource",
    "LabelledRecording",
    "Pairing",
    "Recording",
    "Sector",
    "build_augment",
    "check_view",
    "check_views",
    "comparison_figure",
    "detect_format",
    "discover",
    "echo_view",
    "draw_params",
    "exam_name",
    "find_layout",
    "find_sector",
    "hmcqu",
    "iter_frames",
    "kfold",
    "list_patients",
    "load_dataset",
    "load_labelled",
    "load_patient",
    "load_truth",
    "mask_path",
    "natural_key",
    "pair_exams",
    "pair_stills",
    "patient_id",
    "prepare_frame",
    "read_a4c_xlsx",
    "read_mask_mat",
    "recording_seed",
    "resize",
    "segment_names",
    "spacing_is_plausible",
    "select_recordings",
    "simulate_recording",
    "still_phase",
    "train_val_split",
    "truth_path",
    "video_path",
    "view_in_name",
    "whole_frame",
    "write_dataset",
    "write_video",
]
