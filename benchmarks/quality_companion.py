"""A companion network for the quality score: its disagreement features, and its CPU cost.

The question (issue 21): does a second, much cheaper U-Net, trained apart from the model,
reveal by disagreeing with it the frames the model is confidently wrong on? Disagreement
between independently trained networks is how ensembles estimate uncertainty
(Lakshminarayanan et al., "Simple and scalable predictive uncertainty estimation using deep
ensembles", NeurIPS 2017; on CAMUS, Dahal et al., "Uncertainty estimation in deep 2D
echocardiography segmentation", 2020). The experiment, on the folds of ``camus_cv.py``:

    python benchmarks/camus_cv.py --camus ../shared/data/camus-a4c-dev --regimes camus \\
        --widths 4,8,16,32,64 --image-size 112 --threads 2 --out runs/companion_112
    python benchmarks/quality_oof.py --camus ../shared/data/camus-a4c-dev \\
        --models '/work/main/runs/camus_cv/phantom+camus-fold{fold}/last.ckpt' \\
        --companions 'runs/companion_112/camus-fold{fold}/last.ckpt' --out runs/quality_companion
    python benchmarks/quality_cv.py runs/quality_companion/quality_oof.csv
    python benchmarks/quality_companion.py runs/companion_112/camus-fold0/last.ckpt

``quality_oof.py --companions`` adds :data:`COMPANION_FEATURE_NAMES` to every row (the fold's
companion, which trained on the same patients as the fold's model; phantom frames, which no
network trained on, take the companion of the fold they are assigned to); ``quality_cv.py``
then reports the nested figures with and without them side by side (it writes the bundled
quality model from the single-network features only). This script times the companion
against the bundled model in one run: ONNX Runtime, one thread, batches of 8.

Result (docs/quality.md): the disagreement tracks Dice on clean CAMUS frames, but carries
nothing the single-network score lacks, so the bundled score does not use it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from lvwall.benchmark import time_runs
from lvwall.data import prepare_frame, resize
from lvwall.infer import SegmentationModel, load_segmentation_model, network_inputs

#: The features that need the companion network's probability map, in a fixed order.
COMPANION_FEATURE_NAMES: tuple[str, ...] = ("companion_disagreement", "companion_gap")
#: The companion's probabilities at or above this make its mask.
COMPANION_THRESHOLD = 0.5
#: Frames per timed batch, as ``lvwall predict`` batches them.
BATCH = 8


def companion_features(
    probability: np.ndarray, mask: np.ndarray, companion: np.ndarray
) -> dict[str, float]:
    """How far the companion's probability map ``companion`` (any size; resized bilinearly to
    the mask's) disagrees with the model's ``probability`` and ``mask`` (H, W).

    ``companion_disagreement`` is 1 - the Dice between the model's mask and the companion's
    (its map thresholded at :data:`COMPANION_THRESHOLD`): 0 for identical masks, 1 for
    disjoint ones. ``companion_gap`` is the mean absolute difference of the two maps over the
    union of the two masks. Both are 0 when neither mask has a wall.
    """
    p = np.asarray(probability, dtype=np.float32)
    wall = np.asarray(mask) > 0
    q = np.asarray(companion, dtype=np.float32)
    if p.ndim != 2 or wall.shape != p.shape or q.ndim != 2 or 0 in q.shape:
        raise ValueError(
            f"need a (H, W) probability, a mask of its shape and a 2-D companion map, got "
            f"{p.shape}, {wall.shape} and {q.shape}"
        )
    if q.shape != p.shape:
        q = cv2.resize(q, (p.shape[1], p.shape[0]), interpolation=cv2.INTER_LINEAR)
    other = q >= COMPANION_THRESHOLD
    n_both = int(np.count_nonzero(wall & other))
    n_total = int(np.count_nonzero(wall)) + int(np.count_nonzero(other))
    union = wall | other
    return {
        "companion_disagreement": 1.0 - 2.0 * n_both / n_total if n_total else 0.0,
        "companion_gap": float(np.abs(p[union] - q[union]).mean()) if n_total else 0.0,
    }


def companion_probability(
    image: np.ndarray, model: SegmentationModel, companion: SegmentationModel
) -> np.ndarray:
    """The companion's probability map of ``image`` as a pipeline would make it cheaply: from
    the model's own input (grey, model size, outside the sector blanked), shrunk to the
    companion's size by area averaging."""
    _, inputs = network_inputs([(None, prepare_frame(image, model.image_size))], model.image_size)
    ((_, grey),) = list(inputs)
    small = resize(grey, companion.image_size)
    return companion.predictor.predict(small[None, None])[0, 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("companion", type=Path, help="the companion's .ckpt/.safetensors/.onnx")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    models = {
        "bundled model": load_segmentation_model(None, backend="onnx", threads=1),
        "companion": load_segmentation_model(args.companion, backend="onnx", threads=1),
    }
    best: dict[str, float] = {}
    for _ in range(2):  # interleaved rounds, so that a busy spell of the CPU hits both
        for name, model in models.items():
            size = model.image_size
            batch = rng.random((BATCH, 1, size, size), dtype=np.float32)
            timing = time_runs(lambda m=model, b=batch: m.predictor.predict(b), args.repeats)
            best[name] = min(best.get(name, np.inf), timing.best / BATCH * 1000)
    for name, model in models.items():
        print(
            f"{name:14s} {model.image_size:3d} px: {best[name]:.2f} ms/frame "
            f"(best of {args.repeats} batches of {BATCH}, 1 thread)"
        )
    print(f"companion / bundled model: {best['companion'] / best['bundled model']:.3f}")


if __name__ == "__main__":
    main()
