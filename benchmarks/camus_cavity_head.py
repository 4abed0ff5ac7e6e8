"""EF with the endocardium placed by a learned cavity output rather than by the wall's inner
edge, on the CAMUS ED/ES stills of camus-2view-dev.

Run: ``.venv/bin/python benchmarks/camus_cavity_head.py --models TEMPLATE [--folds 2,4]
[--camus DIR] [--out DIR]``, the template a fold checkpoint path with a ``{fold}``
placeholder, each trained with ``--auxiliary cavity`` (``camus_cv.py`` writes them as
``runs/X/camus-fold{fold}/last.ckpt``), so that it holds the training-only cavity head beside
the U-Net.

EF is a cavity measurement, and ``lvwall measure`` finds the cavity inside the wall: rays from
the wall's centreline end at its inner edge (:func:`lvwall.measure.trace_border`). Each
held-out still is segmented by its fold's model through predict's pipeline (ONNX), and the
same network input goes through the PyTorch U-Net for its cavity head. Two walls of one
still are then measured alike:

* wall head: the wall's probability map at the model's threshold, as predict gives it;
* endocardium from the cavity head: the region the wall and the cavity cover together (holes
  between them filled) less the cavity (the cavity head's largest piece at 0.5), so that the
  wall's inner edge is the cavity head's border and its outer edge the wall head's.

Printed per view: LV-wall Dice of each wall and the cavity head's Dice against the experts'
cavity (label 1); EF's mean absolute error and bias against the experts' wall measured alike,
with the partial errors of ``camus_ef_error.py``; and the paired Wilcoxon test of the two
walls' absolute EF errors over patients. ``--out`` writes the per-still table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import ndimage

from bench_measure_camus import held_out_folds, load_fold_models
from camus_ef_error import DEFAULT_CAMUS, error_table, measured_rows
from lvwall.benchmark import machine_facts
from lvwall.data import (
    PHASES,
    STRUCTURE_LABELS,
    VIEWS,
    InputSource,
    list_patients,
    load_patient,
)
from lvwall.experiment import format_p, paired_wilcoxon
from lvwall.infer import PredictOptions, network_inputs, segment_frames
from lvwall.measure import ejection_fraction
from lvwall.metrics import frame_metrics
from lvwall.model import load_model
from quality_latent import SAME_INPUT_TOLERANCE

WALL_HEAD = "wall head"
FROM_CAVITY = "endocardium from the cavity head"
#: The cavity head's probability threshold (a sigmoid output, trained with Dice + BCE).
CAVITY_THRESHOLD = 0.5


class CavityModel:
    """A fold checkpoint's U-Net with its training-only cavity head."""

    def __init__(self, path: str) -> None:
        self.unet, _ = load_model(path)
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        auxiliary = checkpoint["hyper_parameters"]["train_config"].get("auxiliary", [])
        if "cavity" not in auxiliary:
            raise SystemExit(f"{path}: learned no cavity head (train it with --auxiliary cavity)")
        state = checkpoint["state_dict"]
        self.head = torch.nn.Conv2d(self.unet.head.in_channels, len(auxiliary), kernel_size=1)
        self.head.load_state_dict(
            {name: state[f"auxiliary_head.{name}"] for name in ("weight", "bias")}
        )
        self.channel = auxiliary.index("cavity")

    def probabilities(self, grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(wall, cavity) probabilities of one model-size grey still, given to the network as
        predict gives it (outside the sector blanked, :func:`lvwall.infer.network_inputs`)."""
        _, inputs = network_inputs([(None, grey)], grey.shape[0])
        ((_, network_input),) = list(inputs)
        batch = torch.from_numpy(np.ascontiguousarray(network_input, dtype=np.float32))[None, None]
        with torch.inference_mode():
            features = self.unet.decoder_features(batch)[-1]
            wall = torch.sigmoid(self.unet.head(features))[0, 0].numpy()
            cavity = torch.sigmoid(self.head(features))[0, self.channel].numpy()
        return wall, cavity


def largest_piece(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected piece of ``mask`` (all False when it is empty)."""
    pieces, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = np.bincount(pieces.ravel())[1:]
    return pieces == 1 + int(np.argmax(sizes))


def wall_from_cavity(wall: np.ndarray, cavity_mask: np.ndarray) -> np.ndarray:
    """The wall whose inner edge is ``cavity_mask``'s border (module docstring)."""
    covered = ndimage.binary_fill_holes(wall | cavity_mask)
    return largest_piece(covered & ~cavity_mask)


def still_rows(files, segmenter, model: CavityModel) -> list[dict]:
    """Rows of the experts', the wall head's and the cavity-placed wall of both stills."""
    labelled = load_patient(files)
    rows = []
    for phase in PHASES:
        index = labelled.meta["phase_frames"][phase]
        truth = labelled.masks[index] > 0
        truth_cavity = labelled.structures[index] == STRUCTURE_LABELS["cavity"]
        image = files.images[files.phases.index(phase)]
        frames = list(InputSource(image, image.stem).open().frames())
        (segmented,) = segment_frames(frames, segmenter, PredictOptions())
        wall_probability, cavity_probability = model.probabilities(segmented.grey)
        difference = float(np.abs(wall_probability - segmented.probability).max())
        if difference > SAME_INPUT_TOLERANCE:
            raise SystemExit(f"{image}: PyTorch and ONNX differ by {difference:.4f}")
        wall = segmented.probability >= segmenter.threshold
        cavity_mask = ndimage.binary_fill_holes(
            largest_piece(cavity_probability >= CAVITY_THRESHOLD)
        )
        masks = {
            "experts": truth,
            WALL_HEAD: wall,
            FROM_CAVITY: wall_from_cavity(wall, cavity_mask),
        }
        cavity_dice = frame_metrics(cavity_mask, truth_cavity)["dice"]
        rows.extend(
            {**row, "cavity dice": cavity_dice} for row in measured_rows(files, phase, masks, truth)
        )
    return rows


def ef_errors(stills: pd.DataFrame, source: str) -> pd.Series:
    """Per (view, patient): ``source``'s EF minus the experts' wall's EF, NaN where either
    wall could not be measured."""
    volumes = stills.set_index(["view", "patient", "source", "phase"])["volume"]
    errors = {}
    for view, patient in stills[["view", "patient"]].drop_duplicates().itertuples(index=False):
        measured = [
            volumes[view, patient, of, phase] for of in (source, "experts") for phase in PHASES
        ]
        if np.isnan(measured).any():
            errors[view, patient] = np.nan
            continue
        errors[view, patient] = ejection_fraction(*measured[:2]) - ejection_fraction(*measured[2:])
    return pd.Series(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, default=DEFAULT_CAMUS)
    parser.add_argument("--models", required=True, help="fold checkpoints, with {fold}")
    parser.add_argument("--folds", help="only the patients of these comma-separated folds")
    parser.add_argument("--out", type=Path, help="write cavity_head_stills.csv here")
    args = parser.parse_args()
    started = time.perf_counter()
    torch.set_num_threads(1)
    held_out = held_out_folds([args.camus], args.folds)
    folds = set(held_out.values())
    segmenters = load_fold_models(args.models, folds)
    models = {fold: CavityModel(args.models.format(fold=fold)) for fold in folds}
    rows = []
    for files in list_patients(args.camus):
        fold = held_out.get(files.patient)
        if fold is not None and set(files.phases) == set(PHASES):
            rows.extend(still_rows(files, segmenters[fold], models[fold]))
    stills = pd.DataFrame(rows)
    print(
        f"{stills.patient.nunique()} patients of folds {args.folds or 'all'}; "
        f"{machine_facts()['cpu']}; {time.perf_counter() - started:.0f} s\n"
    )
    pd.set_option("display.width", 200)
    print(error_table(stills).round(4).to_string(index=False))
    print()
    cavity_dice = stills[stills.source == "experts"].groupby("view")["cavity dice"].mean()
    head, placed = ef_errors(stills, WALL_HEAD), ef_errors(stills, FROM_CAVITY)
    for view in (view for view in VIEWS if view in cavity_dice):
        test = paired_wilcoxon(placed[view].abs(), head[view].abs())
        print(
            f"{view}: cavity head's Dice against the experts' cavity {cavity_dice[view]:.4f}; "
            f"absolute EF error, cavity-placed minus wall head: {test.mean_difference:+.2f} "
            f"points, {format_p(test.p_value)} (n = {test.n})"
        )
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        stills.drop(columns="cut").to_csv(args.out / "cavity_head_stills.csv", index=False)


if __name__ == "__main__":
    main()
