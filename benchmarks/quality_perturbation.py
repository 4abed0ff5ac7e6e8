"""Does the mask's stability under small input changes tell the quality score anything new?

A frame whose mask changes when the input is brightened, darkened, blurred or shifted by a
few pixels is one the network is unsure of, even where its probabilities look confident
(test-time augmentation as an uncertainty estimate: Wang et al., Neurocomputing 338:34-45,
2019; flips are left out, they hurt these views). For every clean CAMUS frame of a
``quality_oof.py`` table, this segments the frame and four perturbed copies with the fold
model that never trained on it, and takes the Dice between each copy's mask and the
original's (shifted alike for the shifted copy). It then compares, by the nested
patient-wise evaluation of ``quality_cv.py`` on the clean frames alone, the score on the
bundled features with the score on those features plus the four agreements.

    python benchmarks/quality_perturbation.py runs/quality2view/quality_oof.csv \\
        --models 'runs/cv2view/camus-fold{fold}/last.ckpt' --out runs/quality-perturbation
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lvwall.atomic import atomic_path
from lvwall.infer import PredictOptions, SegmentationModel, load_segmentation_model, segment_frames
from lvwall.metrics import frame_metrics
from lvwall.quality import FEATURE_NAMES, quality_agreement
from quality_cv import print_nested_agreement, read_table
from quality_data import affine, camus_frames

#: The shift, as fractions of the frame's width and height (about 3 pixels at model size).
SHIFT = (0.015, 0.015)

#: A perturbation takes an RGB uint8 frame and its model-size mask, and gives the perturbed
#: frame and the mask a perfectly stable network would give it.
Perturbation = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _gamma(power: float) -> Perturbation:
    return lambda image, mask: ((255.0 * (image / 255.0) ** power).astype(np.uint8), mask)


def _blur(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return cv2.GaussianBlur(image, (5, 5), 1.2), mask


def _shift(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shifted, moved = affine(image, mask.astype(np.uint8), 0.0, 1.0, SHIFT)
    return shifted, moved.astype(bool)


#: Perturbations, by the name of their agreement feature.
PERTURBATIONS: dict[str, Perturbation] = {
    "agreement_gamma_0.7": _gamma(0.7),
    "agreement_gamma_1.4": _gamma(1.4),
    "agreement_blur": _blur,
    "agreement_shift": _shift,
}


def mask_of(image: np.ndarray, model: SegmentationModel) -> np.ndarray:
    """The wall mask (model size) ``lvwall predict --format png`` gives ``image``."""
    (frame,) = list(segment_frames([image], model, PredictOptions()))
    return frame.mask


def agreements(image: np.ndarray, model: SegmentationModel) -> dict[str, float]:
    """Dice between the mask of each perturbed copy of ``image`` and the original's mask,
    moved as the copy was."""
    original = mask_of(image, model)
    result = {}
    for name, perturb in PERTURBATIONS.items():
        perturbed, expected = perturb(image, original)
        result[name] = frame_metrics(mask_of(perturbed, model), expected)["dice"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", type=Path, help="quality_oof.csv of the same fold models")
    parser.add_argument("--camus", type=Path, default=Path("../shared/data/camus-2view-dev"))
    parser.add_argument("--models", required=True, help="fold FOLD's model, with {fold}")
    parser.add_argument("--out", type=Path, default=Path("runs/quality-perturbation"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    table = read_table(args.features)
    table = table[table.clean_camus].set_index("name", drop=False)
    models = {
        fold: load_segmentation_model(
            args.models.format(fold=fold), backend="onnx", threads=args.threads
        )
        for fold in sorted(table.fold.unique())
    }
    frames = [frame for frame in camus_frames(args.camus) if frame.name in table.index]
    measured = pd.DataFrame(
        {frame.name: agreements(frame.image, models[table.fold[frame.name]]) for frame in frames}
    ).T
    table = table.join(measured, how="inner")
    print(f"{len(table)} clean CAMUS frames ({time.perf_counter() - started:.0f} s)")
    target = args.out / "quality_perturbation.csv"
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        table.to_csv(tmp, index=False)

    print(f"\n{'feature or score':28s} {'AUROC':>6s} {'Spearman':>8s} {'MAE':>6s}")
    for name in PERTURBATIONS:
        # Each agreement alone, as a ranking (its MAE against Dice means nothing).
        figures = quality_agreement(table[name], table.dice)
        print(f"{name:28s} {figures['auroc']:6.3f} {figures['spearman']:8.3f}")
    print_nested_agreement(
        table,
        {
            "bundled features": FEATURE_NAMES,
            "bundled + agreements": FEATURE_NAMES + tuple(PERTURBATIONS),
        },
        width=28,
    )
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
