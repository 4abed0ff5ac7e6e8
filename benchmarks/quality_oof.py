"""Out-of-fold quality features: every frame segmented by a model that never trained on it.

For the patient-wise 5-fold split of ``camus_cv.py`` (seed 0), each CAMUS dev frame is
segmented by the model fine-tuned on the other four folds, through exactly the inference
path of ``lvwall predict --format png`` (ONNX Runtime, one image per recording, its sector
found in it), and measured by :class:`lvwall.quality.QualityControl`. Degraded copies of each
frame (``quality_data.DEGRADATIONS``) and phantom frames (seed 21, which no model trained on;
recording ``i`` goes to fold ``i mod 5``), clean and degraded, cover the low-Dice range. The
Dice of each mask is against the ground-truth wall at model size (224 x 224), the size of
the mask quality control scores. With ``--companions``, each row also has the disagreement of
the fold's companion network (``quality_companion.py``). ``--camus`` and ``--views`` must be
those of the ``camus_cv.py`` run that trained the fold models, so that the folds agree.
Writes one row per frame (with its view) to ``OUT/quality_oof.csv``.

    python benchmarks/quality_oof.py --camus ../shared/data/camus-2view-dev \\
        --models 'runs/cv2view/camus-fold{fold}/last.ckpt' --out runs/quality
"""

from __future__ import annotations

import argparse
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from camus_cv import fold_splits
from lvwall.atomic import atomic_path
from lvwall.data import load_labelled
from lvwall.infer import PredictOptions, SegmentationModel, load_segmentation_model, segment_frames
from lvwall.metrics import frame_metrics
from lvwall.quality import QualityControl
from quality_companion import companion_features, companion_probability
from quality_data import DEGRADATIONS, PHANTOM_SEED, TruthFrame, camus_frames, phantom_cycles

FOLDS = 5


def measured_row(
    model: SegmentationModel,
    image: np.ndarray,
    truth: np.ndarray,
    companion: SegmentationModel | None = None,
) -> dict:
    """Segment one image as ``lvwall predict --format png`` does, measure its quality features
    and flags (and the ``companion`` network's disagreement, when given), and score its mask
    against ``truth``."""
    (frame,) = list(segment_frames([image], model, PredictOptions()))
    examined = QualityControl().examine(frame.image, frame.probability, frame.mask)
    features = dict(examined.features)
    if companion is not None:
        other = companion_probability(image, model, companion)
        features.update(companion_features(frame.probability, frame.mask, other))
    return {
        "dice": frame_metrics(frame.mask, truth)["dice"],
        **features,
        "flags": ";".join(examined.reasons),
    }


def frame_rows(
    frame: TruthFrame,
    source: str,
    fold: int,
    model: SegmentationModel,
    n_degraded: int,
    companion: SegmentationModel | None = None,
) -> list[dict]:
    """The clean frame and ``n_degraded`` degraded copies (drawn from the frame's name)."""
    rng = np.random.default_rng(zlib.crc32(frame.name.encode()))
    names = list(DEGRADATIONS)
    versions = [("", frame.image, frame.truth)]
    for name in rng.choice(names, size=n_degraded, replace=False):
        versions.append((str(name), *DEGRADATIONS[name](frame.image, frame.truth, rng)))
    return [
        {
            "source": source,
            "fold": fold,
            "group": frame.patient,
            "name": frame.name,
            "view": frame.view,
            "degradation": degradation,
            **measured_row(model, image, truth, companion),
        }
        for degradation, image, truth in versions
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--camus", type=Path, nargs="+", default=[Path("../shared/data/camus-2view-dev")]
    )
    parser.add_argument("--views", default="A4C,A2C", help="comma-separated views")
    parser.add_argument(
        "--models",
        required=True,
        help="path of fold FOLD's model with a {fold} placeholder (.ckpt, .safetensors, .onnx)",
    )
    parser.add_argument(
        "--companions",
        default=None,
        help="path of fold FOLD's companion network with a {fold} placeholder: adds the "
        "companion features (default: none)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/quality"))
    parser.add_argument("--camus-degraded", type=int, default=3, help="degraded copies per frame")
    parser.add_argument("--phantom-recordings", type=int, default=40)
    parser.add_argument("--phantom-frames", type=int, default=5, help="frames per recording")
    parser.add_argument("--phantom-degraded", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    views = args.views.upper().split(",")
    recordings = load_labelled(args.camus, progress=False, views=views)
    held_out = {
        recording.patient: fold
        for fold, _, test in fold_splits(recordings, None)
        for recording in test
    }
    models = {
        fold: load_segmentation_model(
            args.models.format(fold=fold), backend="onnx", threads=args.threads
        )
        for fold in range(FOLDS)
    }
    companions = {
        fold: load_segmentation_model(
            args.companions.format(fold=fold), backend="onnx", threads=args.threads
        )
        if args.companions
        else None
        for fold in range(FOLDS)
    }
    rows = []
    frames = [frame for root in args.camus for frame in camus_frames(root)]
    for frame in (frame for frame in frames if frame.view in views):
        fold = held_out[frame.patient]
        rows += frame_rows(
            frame, "camus", fold, models[fold], args.camus_degraded, companions[fold]
        )
    print(f"CAMUS: {len(rows)} frames ({time.perf_counter() - started:.0f} s)", flush=True)
    for index, (name, frames, masks) in enumerate(
        phantom_cycles(PHANTOM_SEED, args.phantom_recordings)
    ):
        fold = index % FOLDS
        picked = np.linspace(0, len(frames) - 1, args.phantom_frames).round().astype(int)
        for k in picked:
            frame = TruthFrame(f"{name}#{k}", name, frames[k], masks[k])
            rows += frame_rows(
                frame, "phantom", fold, models[fold], args.phantom_degraded, companions[fold]
            )
    print(f"all: {len(rows)} frames ({time.perf_counter() - started:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    target = args.out / "quality_oof.csv"
    with atomic_path(target) as tmp:
        table.to_csv(tmp, index=False)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
