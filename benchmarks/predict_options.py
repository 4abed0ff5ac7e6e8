"""Cost and effect of ``lvwall predict``'s options: flip TTA, temporal smoothing, clean-up.

Scores each option set with the same model on (a) phantom recordings, whose every cycle
frame has a known mask (make a set the model never trained on, e.g. another ``--seed``), and
(b) the CAMUS dev frames (single frames: smoothing cannot act there, so only TTA is scored).

    lvwall simulate /tmp/ph_eval --recordings 10 --seed 2
    python benchmarks/predict_options.py --phantom /tmp/ph_eval \\
        --camus ../shared/data/camus-a4c-dev [--model MODEL]

For each option set it prints the LV-wall Dice (mean over recordings of the frame mean;
CAMUS at the images' own size), the flicker (share of wall pixels that change between
consecutive frames of a phantom recording) and the network time per frame.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from PIL import Image

from lvwall.data import (
    WALL_LABEL,
    find_layout,
    iter_frames,
    mask_path,
    read_a4c_xlsx,
    read_mask_mat,
    video_path,
)
from lvwall.infer import PredictOptions, load_segmentation_model, segment_frames
from lvwall.metrics import frame_metrics

OPTION_SETS: dict[str, PredictOptions] = {
    "none": PredictOptions(),
    "--tta": PredictOptions(tta="flip"),
    "--smooth (mean3)": PredictOptions(smoothing="mean3"),
    "smoothing mean5": PredictOptions(smoothing="mean5"),
    "--tta --smooth": PredictOptions(tta="flip", smoothing="mean3"),
    "--largest-component": PredictOptions(mask_filter="largest"),
}


def load_phantom(root: Path) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """(RGB cycle frames, bool masks) of every phantom recording that has masks."""
    layout = find_layout(root)
    cases = []
    for record in read_a4c_xlsx(layout.xlsx):
        if not record.mask_available:
            continue
        video = iter_frames(video_path(layout, record.echo))
        frames = list(itertools.islice(video, record.reference_frame - 1, record.end_of_cycle))
        cases.append((frames, read_mask_mat(mask_path(layout, record.echo)).astype(bool)))
    return cases


def load_camus(root: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(RGB image, bool wall mask) of every CAMUS dev frame."""
    return [
        (
            np.asarray(Image.open(root / "images" / truth_path.name).convert("RGB")),
            np.asarray(Image.open(truth_path)) == WALL_LABEL,
        )
        for truth_path in sorted((root / "masks").glob("*.png"))
    ]


def phantom_scores(cases, model, options: PredictOptions) -> tuple[float, float, float]:
    """Mean Dice, mean flicker and seconds per frame over the phantom recordings."""
    dice, flicker, seconds, n_frames = [], [], 0.0, 0
    for frames, truth in cases:
        start = time.perf_counter()
        masks = np.stack([f.mask for f in segment_frames(frames, model, options)]).astype(bool)
        seconds += time.perf_counter() - start
        n_frames += len(frames)
        pairs = zip(masks, truth, strict=True)
        dice.append(np.mean([frame_metrics(p, t)["dice"] for p, t in pairs]))
        changed = (masks[1:] ^ masks[:-1]).sum(axis=(1, 2))
        flicker.append(float(changed.sum() / max(masks[1:].sum(), 1)))
    return float(np.mean(dice)), float(np.mean(flicker)), seconds / n_frames


def camus_scores(cases, model, options: PredictOptions) -> tuple[float, float]:
    """Mean Dice over the CAMUS dev frames at their own size, and seconds per frame."""
    dice, seconds = [], 0.0
    for image, truth in cases:
        start = time.perf_counter()
        (segmented,) = segment_frames([image], model, options)
        seconds += time.perf_counter() - start
        dice.append(frame_metrics(segmented.mask_original.astype(bool), truth)["dice"])
    return float(np.mean(dice)), seconds / len(dice)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phantom", type=Path, required=True)
    parser.add_argument("--camus", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None, help="default: the bundled model")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    model = load_segmentation_model(args.model, "onnx", threads=args.threads)
    phantom = load_phantom(args.phantom)
    camus = load_camus(args.camus) if args.camus else None
    print(f"model: {model.description}")
    print(f"{'options':18s} {'phantom Dice':>12s} {'flicker':>8s} {'ms/frame':>9s}", end="")
    print(f" {'CAMUS Dice':>10s} {'ms/frame':>9s}" if args.camus else "")
    for name, options in OPTION_SETS.items():
        dice, flicker, seconds = phantom_scores(phantom, model, options)
        line = f"{name:18s} {dice:12.3f} {flicker:8.3f} {1000 * seconds:9.1f}"
        if camus and options.smoothing is None:
            camus_dice, camus_seconds = camus_scores(camus, model, options)
            line += f" {camus_dice:10.3f} {1000 * camus_seconds:9.1f}"
        elif camus:
            line += f" {'(n/a)':>10s}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
