"""A synthetic apical echo phantom (4-chamber or 2-chamber view) with known ground truth.

It simulates B-mode recordings (sector scan, speckle that moves with the tissue, clutter,
dropout, scanner overlays) of a beating heart whose six wall segments of the view move with
known amplitudes, hypokinetic where infarcted, and writes them in the exact HMC-QU layout
with LV-wall masks, so the whole pipeline can run and be tested without the real dataset.
"""

from lvwall.data.phantom.dataset import (
    PhantomTruth,
    load_truth,
    recording_seed,
    truth_path,
    truth_view,
    write_dataset,
    write_recording,
)
from lvwall.data.phantom.function import FunctionTruth, function_truth
from lvwall.data.phantom.params import PhantomParams, sample_params, sample_segment_mi
from lvwall.data.phantom.recording import (
    PhantomRecording,
    draw_params,
    echo_name,
    simulate_recording,
)

__all__ = [
    "FunctionTruth",
    "PhantomParams",
    "PhantomRecording",
    "PhantomTruth",
    "draw_params",
    "echo_name",
    "function_truth",
    "load_truth",
    "recording_seed",
    "sample_params",
    "sample_segment_mi",
    "simulate_recording",
    "truth_path",
    "truth_view",
    "write_dataset",
    "write_recording",
]
