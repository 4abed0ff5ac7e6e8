"""From wall masks to the numbers cardiologists report: LV volumes, EF, GLS, segmental strain.

Typical use on one recording's model-size wall masks (T, 224, 224), with the model's
probability maps for intervals and the video frame's pixel spacing for millilitres::

    from lvwall.measure import measure_recording, write_measurements
    result = measure_recording(masks, probabilities, spacing_mm=0.3, frame_size=(422, 636))
    result.ef_percent, result.gls_percent, result.segment_strain["SEG14"]
    result.intervals["ef_percent"]           # Interval(low, high, ensemble)
    result.missing                           # {json key: why it is missing}
    write_measurements(result, "out/echo")        # measurements.json, .csv and .png

or from a :class:`lvwall.infer.SegmentedRecording` (a recording segmented now, or a
``lvwall predict`` masks.npz) with :func:`measure_segmented`; a two-view exam (A4C and A2C
recordings of one heart: biplane volumes and EF, twelve segments) with :func:`measure_exam`
and :func:`write_exam`. Methods and the JSON fields are
described in docs/measure.md.
"""

from lvwall.measure.contour import Endocardium, endocardium
from lvwall.measure.exam import BIPLANE_KEYS, ExamMeasurements, measure_exam
from lvwall.measure.exam_figure import plot_exam
from lvwall.measure.figures import plot_measurements
from lvwall.measure.intervals import Interval, conformal_scale, normalised_error
from lvwall.measure.outputs import (
    EXAM_FILES,
    OUTPUT_FILES,
    write_exam,
    write_measurement_files,
    write_measurements,
)
from lvwall.measure.phases import Cycle, NoCycleError, select_cycle
from lvwall.measure.recording import measure_recording, measure_segmented, trace_border
from lvwall.measure.result import Measurements, QualitySummary
from lvwall.measure.scale import PixelScale, pixel_scale
from lvwall.measure.strain import segmental_strain, strain_percent
from lvwall.measure.volumes import (
    Discs,
    area_length_volume,
    biplane_volume,
    disc_volume,
    discs,
    ejection_fraction,
)

__all__ = [
    "BIPLANE_KEYS",
    "EXAM_FILES",
    "OUTPUT_FILES",
    "Cycle",
    "Discs",
    "Endocardium",
    "ExamMeasurements",
    "Interval",
    "Measurements",
    "NoCycleError",
    "PixelScale",
    "QualitySummary",
    "area_length_volume",
    "biplane_volume",
    "conformal_scale",
    "disc_volume",
    "discs",
    "ejection_fraction",
    "endocardium",
    "measure_exam",
    "measure_recording",
    "measure_segmented",
    "normalised_error",
    "pixel_scale",
    "plot_exam",
    "plot_measurements",
    "segmental_strain",
    "select_cycle",
    "strain_percent",
    "trace_border",
    "write_exam",
    "write_measurement_files",
    "write_measurements",
]
