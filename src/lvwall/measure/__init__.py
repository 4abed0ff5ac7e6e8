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
``lvwall predict`` masks.npz) with :func:`measure_segmented`. Methods and the JSON fields are
described in docs/measure.md.
"""

from lvwall.measure.contour import Endocardium, endocardium
from lvwall.measure.figures import plot_measurements
from lvwall.measure.intervals import Interval, conformal_scale, normalised_error
from lvwall.measure.outputs import OUTPUT_FILES, write_measurement_files, write_measurements
from lvwall.measure.phases import Cycle, NoCycleError, select_cycle
from lvwall.measure.recording import measure_recording, measure_segmented
from lvwall.measure.result import Measurements, QualitySummary
from lvwall.measure.scale import PixelScale, pixel_scale
from lvwall.measure.strain import segmental_strain, strain_percent
from lvwall.measure.volumes import area_length_volume, disc_volume, ejection_fraction

__all__ = [
    "OUTPUT_FILES",
    "Cycle",
    "Endocardium",
    "Interval",
    "Measurements",
    "NoCycleError",
    "PixelScale",
    "QualitySummary",
    "area_length_volume",
    "conformal_scale",
    "disc_volume",
    "ejection_fraction",
    "endocardium",
    "measure_recording",
    "measure_segmented",
    "normalised_error",
    "pixel_scale",
    "plot_measurements",
    "segmental_strain",
    "select_cycle",
    "strain_percent",
    "write_measurement_files",
    "write_measurements",
]
