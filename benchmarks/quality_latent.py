"""Do distances in the network's own feature space tell the quality score anything new?

A network is confidently wrong most often on inputs unlike those it learned from, and its own
features show it: the distance of a test image's pooled decoder features from the training
images' (Mahalanobis with a shrunk covariance, or to the nearest neighbours) detects the
"silent failures" of segmentation networks that their output's confidence hides (González et
al., "Distance-based detection of out-of-distribution silent failures for Covid-19 lung
lesion segmentation", Medical Image Analysis 82:102596, 2022; Lee et al., NeurIPS 2018). For
every clean CAMUS frame of the chosen folds this segments the frame with the fold model of
``camus_cv.py`` that never trained on it, as ``lvwall predict --format png`` does, measures
the quality score's own features (:data:`lvwall.quality.FEATURE_NAMES`), and pools the same
model's decoder features (:meth:`lvwall.model.UNet.decoder_features`, each level averaged over
the frame) of the frame and of every frame the model trained on. Four distances
(:data:`LATENT_FEATURES`) are then ranked against Dice alone and added to the bundled features
in the nested patient-wise evaluation of ``quality_cv.py`` on these frames.

    python benchmarks/quality_latent.py \\
        --models 'runs/cv2view-f-seed1-f{fold}/camus-fold{fold}/last.ckpt' --folds 2,4 \\
        --out runs/quality-latent
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.covariance import LedoitWolf
from sklearn.neighbors import NearestNeighbors

from camus_cv import fold_splits
from lvwall.data import load_labelled, prepare_frame
from lvwall.infer import (
    PredictOptions,
    load_segmentation_model,
    network_inputs,
    segment_frames,
)
from lvwall.model import load_model
from lvwall.quality import FAIL_BELOW, FEATURE_NAMES, quality_agreement
from quality_contrast import bundled_row, compare_candidates
from quality_cv import nested_scores
from quality_data import camus_frames

#: Distances of a frame's pooled features from the training frames': Mahalanobis and mean
#: Euclidean distance to the ``NEIGHBOURS`` nearest (features standardised by the training
#: frames' spread), on the coarsest decoder level alone and on every level's pool side by side.
LATENT_FEATURES: tuple[str, ...] = (
    "coarse_mahalanobis",
    "coarse_neighbours",
    "all_levels_mahalanobis",
    "all_levels_neighbours",
)
NEIGHBOURS = 5
#: Patient-wise resamples of the paired bootstrap (:func:`paired_difference`).
BOOTSTRAP_SAMPLES = 2000
#: The largest difference tolerated between the PyTorch model's probabilities and those of
#: the ONNX model that segmented the frame, a check that both saw the same input.
SAME_INPUT_TOLERANCE = 1e-3


def pooled_levels(model: torch.nn.Module, grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(every decoder level's channels averaged over the frame, coarsest first; the wall
    probabilities) of one model-size grey frame, given to the network as predict gives it
    (outside the frame's sector blanked, :func:`lvwall.infer.network_inputs`)."""
    _, inputs = network_inputs([(None, grey)], grey.shape[0])
    ((_, network_input),) = list(inputs)
    with torch.inference_mode():
        batch = torch.from_numpy(np.ascontiguousarray(network_input, dtype=np.float32))[None, None]
        levels = model.decoder_features(batch)
        probability = torch.sigmoid(model.head(levels[-1]))[0, 0].numpy()
    return np.concatenate([level.mean(dim=(2, 3))[0].numpy() for level in levels]), probability


class Distances:
    """Distances of pooled features from those of the frames one model trained on."""

    def __init__(self, training: np.ndarray) -> None:
        self.mean = training.mean(axis=0)
        self.scale = training.std(axis=0) + 1e-6
        standardised = (training - self.mean) / self.scale
        self.covariance = LedoitWolf().fit(standardised)
        self.neighbours = NearestNeighbors(n_neighbors=NEIGHBOURS).fit(standardised)

    def __call__(self, features: np.ndarray) -> tuple[float, float]:
        """(Mahalanobis distance, mean distance to the nearest training frames)."""
        standardised = ((features - self.mean) / self.scale)[None]
        mahalanobis = float(np.sqrt(self.covariance.mahalanobis(standardised)[0]))
        distances, _ = self.neighbours.kneighbors(standardised)
        return mahalanobis, float(distances.mean())


def paired_difference(
    table: pd.DataFrame, base: tuple[str, ...], extended: tuple[str, ...], seed: int = 0
) -> dict[str, tuple[float, float]]:
    """95 % percentile intervals of the nested score's AUROC and Spearman on ``extended``
    features minus those on ``base``, patients resampled with replacement (both scores on the
    same draws)."""
    scores = {
        name: nested_scores(table, features)
        for name, features in (("base", base), ("ext", extended))
    }
    rows_of = table.groupby("group").indices
    groups = list(rows_of)
    rng = np.random.default_rng(seed)
    differences: dict[str, list[float]] = {"auroc": [], "spearman": []}
    for _ in range(BOOTSTRAP_SAMPLES):
        drawn = rng.integers(0, len(groups), len(groups))
        rows = np.concatenate([rows_of[groups[index]] for index in drawn])
        dice = table.dice.iloc[rows].to_numpy()
        if not (dice < FAIL_BELOW).any():
            continue
        figures = {
            name: quality_agreement(score.iloc[rows].to_numpy(), dice)
            for name, score in scores.items()
        }
        for metric in differences:
            differences[metric].append(figures["ext"][metric] - figures["base"][metric])
    return {
        metric: tuple(np.percentile(values, [2.5, 97.5])) for metric, values in differences.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, default=Path("../shared/data/camus-2view-dev"))
    parser.add_argument("--models", required=True, help="fold FOLD's checkpoint, with {fold}")
    parser.add_argument("--folds", default="0,1,2,3,4", help="comma-separated folds to score")
    parser.add_argument("--out", type=Path, default=Path("runs/quality-latent"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    folds = [int(fold) for fold in args.folds.split(",")]
    recordings = load_labelled([args.camus], progress=False, views=["A4C", "A2C"])
    held_out = {r.patient: fold for fold, _, test in fold_splits(recordings, None) for r in test}
    frames = camus_frames(args.camus)
    rows = []
    for fold in folds:
        path = args.models.format(fold=fold)
        segmenter = load_segmentation_model(path, backend="onnx", threads=args.threads)
        model, _ = load_model(path)
        # Only the held-out frames are segmented (their rows need the bundled features); the
        # training frames give their features alone, from the same network input.
        training, held = [], []
        for frame in frames:
            if held_out[frame.patient] != fold:
                grey = prepare_frame(frame.image, segmenter.image_size)
                training.append(pooled_levels(model, grey)[0])
                continue
            (segmented,) = list(segment_frames([frame.image], segmenter, PredictOptions()))
            features, probability = pooled_levels(model, segmented.grey)
            difference = float(np.abs(probability - segmented.probability).max())
            if difference > SAME_INPUT_TOLERANCE:
                raise SystemExit(f"{frame.name}: PyTorch and ONNX differ by {difference:.4f}")
            held.append((frame, segmented, features))
        scopes = {"coarse": slice(0, model.config.widths[-2]), "all_levels": slice(None)}
        distances = {
            scope: Distances(np.stack([features[part] for features in training]))
            for scope, part in scopes.items()
        }
        for frame, segmented, features in held:
            row = bundled_row(frame, fold, segmented)
            for scope, part in scopes.items():
                distance = distances[scope](features[part])
                row[f"{scope}_mahalanobis"], row[f"{scope}_neighbours"] = distance
            rows.append(row)
        print(
            f"fold {fold}: {len(training)} training frames ({time.perf_counter() - started:.0f} s)"
        )
    table = compare_candidates(
        rows,
        args.out / "quality_latent.csv",
        LATENT_FEATURES,
        {
            "bundled features": FEATURE_NAMES,
            "bundled + coarse Mahalanobis": (*FEATURE_NAMES, "coarse_mahalanobis"),
            "bundled + coarse neighbours": (*FEATURE_NAMES, "coarse_neighbours"),
            "bundled + all-level distances": (*FEATURE_NAMES, *LATENT_FEATURES[2:]),
            "bundled + all four distances": (*FEATURE_NAMES, *LATENT_FEATURES),
        },
        f"folds {args.folds} ({time.perf_counter() - started:.0f} s)",
    )
    for name in ("coarse_mahalanobis", "coarse_neighbours"):
        intervals = paired_difference(table, FEATURE_NAMES, (*FEATURE_NAMES, name))
        print(
            f"with {name} minus without, 95 % CI over patients: AUROC "
            f"[{intervals['auroc'][0]:+.3f}, {intervals['auroc'][1]:+.3f}], Spearman "
            f"[{intervals['spearman'][0]:+.3f}, {intervals['spearman'][1]:+.3f}]"
        )


if __name__ == "__main__":
    main()
