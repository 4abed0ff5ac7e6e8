"""Explain the U-Net: saliency maps, learned filters, receptive fields and a sanity check.

* :mod:`~lvwall.explain.targets`: which predicted pixels an explanation is about;
* :mod:`~lvwall.explain.saliency`: Captum attributions (vanilla gradient, SmoothGrad,
  Integrated Gradients, Grad-CAM) of the summed wall probability in a target;
* :mod:`~lvwall.explain.filters`: first-layer kernels and per-block feature maps;
* :mod:`~lvwall.explain.receptive_field`: analytic receptive fields, their gradient check and
  the model summary table;
* :mod:`~lvwall.explain.sanity`: the model-parameter randomisation test;
* :mod:`~lvwall.explain.figures`: the figures of all of these.
"""

from lvwall.explain import run
from lvwall.explain.figures import feature_map_figure, kernel_grid_figure, saliency_figure
from lvwall.explain.filters import (
    FeatureMaps,
    block_names,
    feature_maps,
    first_convolution,
    grey_kernels,
)
from lvwall.explain.receptive_field import (
    LayerSummary,
    ReceptiveField,
    analytic_receptive_field,
    empirical_receptive_field,
    gradient_supports,
    summarise,
    summary_csv,
    summary_markdown,
    summary_table,
)
from lvwall.explain.saliency import (
    METHODS,
    AttributionSettings,
    Explanation,
    RegionScore,
    explain_frame,
    predict_probability,
)
from lvwall.explain.sanity import RANDOMISATIONS, SanityReport, randomisation_test, rank_correlation
from lvwall.explain.targets import (
    SPLITTERS,
    TARGET_NAMES,
    EmptyRegionError,
    split_by_thirds,
    target_region,
)

__all__ = [
    "METHODS",
    "RANDOMISATIONS",
    "SPLITTERS",
    "TARGET_NAMES",
    "AttributionSettings",
    "EmptyRegionError",
    "Explanation",
    "FeatureMaps",
    "LayerSummary",
    "ReceptiveField",
    "RegionScore",
    "SanityReport",
    "analytic_receptive_field",
    "block_names",
    "empirical_receptive_field",
    "explain_frame",
    "feature_map_figure",
    "feature_maps",
    "first_convolution",
    "gradient_supports",
    "grey_kernels",
    "kernel_grid_figure",
    "predict_probability",
    "randomisation_test",
    "rank_correlation",
    "run",
    "saliency_figure",
    "split_by_thirds",
    "summarise",
    "summary_csv",
    "summary_markdown",
    "summary_table",
    "target_region",
]
