"""How fast lvwall runs on this machine: the timing rule, the synthetic video and the machine
facts that ``lvwall benchmark`` and the scripts under ``benchmarks/`` share."""

from lvwall.benchmark.timing import (
    VIDEO_FRAMES,
    Timing,
    machine_facts,
    measure_video,
    median_seconds,
    native_bf16,
    predict_video,
    synthetic_echo_video,
    time_runs,
)

__all__ = [
    "VIDEO_FRAMES",
    "Timing",
    "machine_facts",
    "measure_video",
    "median_seconds",
    "native_bf16",
    "predict_video",
    "synthetic_echo_video",
    "time_runs",
]
