"""The worst out-of-fold frames of a cross-validation: where the model fails on unseen patients.

Each frame of the CAMUS folders is segmented by the fold model of ``camus_cv.py``'s
patient-wise split (same ``--camus`` folders and ``--views``) that never trained on its
patient; the script prints the Dice of the worst frames and draws them (input, experts'
wall, predicted wall with the experts' outlined) into one PNG, as the model card shows them.

    python benchmarks/oof_worst.py --camus ../shared/data/camus-2view-dev \\
        --models 'runs/cv2view/camus-fold{fold}/last.ckpt' --out docs/model_card/worst_oof.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from camus_cv import fold_splits
from lvwall.atomic import atomic_path
from lvwall.data import load_labelled
from lvwall.experiment import Case, case_panels, predict_masks
from lvwall.metrics import frame_metrics
from lvwall.model import load_model


def scored_frames(args: argparse.Namespace) -> list[tuple[float, Case]]:
    """Every held-out frame with its Dice, as a case to draw."""
    recordings = load_labelled(args.camus, progress=False, views=args.views.split(","))
    frames = []
    for fold, _, held_out in fold_splits(recordings, None):
        model, meta = load_model(args.models.format(fold=fold))
        model.eval()
        for recording in held_out:
            masks = predict_masks(model, recording.frames, threshold=meta["threshold"])
            phases = {index: phase for phase, index in recording.meta["phase_frames"].items()}
            for index, (mask, truth) in enumerate(zip(masks, recording.masks, strict=True)):
                dice = frame_metrics(mask, truth)["dice"]
                title = f"{recording.name} {phases.get(index, index)}: Dice {dice:.2f}"
                case = Case(title, recording.frames[index], truth.astype(bool), mask)
                frames.append((dice, case))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, nargs="+", required=True)
    parser.add_argument("--views", default="A4C,A2C", help="comma-separated views")
    parser.add_argument("--models", required=True, help="fold FOLD's model, {fold} placeholder")
    parser.add_argument("--worst", type=int, default=4, help="how many frames to draw")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    args = parser.parse_args()
    frames = sorted(scored_frames(args), key=lambda item: item[0])
    dice = np.array([value for value, _ in frames])
    print(
        f"{len(dice)} out-of-fold frames: Dice median {np.median(dice):.3f}; "
        f"{int((dice < 0.75).sum())} below 0.75, {int((dice < 0.5).sum())} below 0.5"
    )
    worst = [case for _, case in frames[: args.worst]]
    for case in worst:
        print(f"  {case.title}")
    figure = case_panels(worst, title="Worst out-of-fold frames")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        figure.savefig(tmp, format="png", dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
