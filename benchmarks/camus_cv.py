"""Real-data accuracy: patient-wise 5-fold cross-validation on the CAMUS dev frames.

For each fold the model trains on 4/5 of the patients and is scored on the 5th, with the
weights of the last epoch (the held-out fold never picks a checkpoint). Three regimes:

* ``phantom``: trained on the synthetic phantom only (one model, scored on every fold);
* ``camus``: trained on the CAMUS training folds only;
* ``phantom+camus``: the phantom model fine-tuned on the CAMUS training folds.

Usage (about 40 minutes per regime on 2 CPU cores with the default budget)::

    lvwall simulate runs/phantom60 -n 60 --seed 1 --workers 2
    lvwall train --data runs/phantom60 --loss dice --preset fast5 --epochs 8 \\
        --frames-per-epoch 1000 --batch-size 16 --augment echo --out runs/pretrain
    python benchmarks/camus_cv.py --camus ../shared/data/camus-a4c-dev \\
        --pretrained runs/pretrain/best.ckpt --out runs/camus_cv

It prints LV-wall Dice mean ± std over patients (frame means per patient) and over folds,
and a paired Wilcoxon signed-rank test of every two regimes over their patients. Folds or
regimes run in separate processes (``--folds 0,1,2`` and ``--folds 3,4`` use both cores) are
reported together with ``python benchmarks/camus_cv.py --pool RUN1/camus_cv.csv
RUN2/camus_cv.csv ...``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import pandas as pd
import torch

from lvwall.checkpoint import load_model
from lvwall.config import TrainConfig
from lvwall.data.camus import load_dataset
from lvwall.data.splits import kfold
from lvwall.evaluate import evaluate_model
from lvwall.experiment.stats import format_p, paired_wilcoxon
from lvwall.train import fit

FOLDS = 5
SEED = 0


def fine_tune(
    recordings: list,
    fold: int,
    out: Path,
    init: Path | None,
    args: argparse.Namespace,
) -> Path:
    config = TrainConfig(
        data=[str(args.camus)],
        loss=args.loss,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.epochs,
        augment=args.augment,
        fold=fold,
        folds=FOLDS,
        seed=SEED,
        frames_per_epoch=args.frames_per_epoch,
        init_checkpoint=str(init) if init else None,
        preset=args.preset,
        model_overrides={"widths": [int(w) for w in args.widths.split(",")]} if args.widths else {},
    )
    result = fit(config, out, recordings=recordings)
    return Path(result.last_checkpoint)


def score(checkpoint: Path, recordings: list) -> pd.Series:
    model, meta = load_model(checkpoint)
    result = evaluate_model(model.eval(), recordings, threshold=meta.get("threshold", 0.5))
    return result.metrics.recordings["dice"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, default=Path("../shared/data/camus-a4c-dev"))
    parser.add_argument("--pretrained", type=Path)
    parser.add_argument(
        "--pool",
        type=Path,
        nargs="+",
        help="report these camus_cv.csv files together instead of training",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/camus_cv"))
    parser.add_argument("--regimes", default="phantom,camus,phantom+camus")
    parser.add_argument("--preset", default="fast5")
    parser.add_argument(
        "--widths", default=None, help="channels per level, e.g. 16,32,64,128,256 (default: preset)"
    )
    parser.add_argument("--loss", default="dice-bce")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--frames-per-epoch", type=int, default=80)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--augment", default="echo")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--folds", default=None, help="comma-separated folds to run (default: all)")
    args = parser.parse_args()
    if args.pool:
        pool(args.pool)
        return
    regimes = args.regimes.split(",")
    if args.pretrained is None and {"phantom", "phantom+camus"} & set(regimes):
        parser.error("--pretrained is required for the phantom regimes")
    torch.set_num_threads(args.threads)

    recordings = load_dataset(args.camus, progress=False)
    folds = kfold(recordings, FOLDS, SEED)
    chosen = range(FOLDS) if args.folds is None else {int(f) for f in args.folds.split(",")}
    rows = []
    for regime in regimes:
        for fold, (_, test_idx) in enumerate(folds):
            if fold not in chosen:
                continue
            test = [recordings[i] for i in test_idx]
            started = time.perf_counter()
            if regime == "phantom":
                checkpoint = args.pretrained
            else:
                init = args.pretrained if regime == "phantom+camus" else None
                run = args.out / f"{regime}-fold{fold}"
                checkpoint = fine_tune(recordings, fold, run, init, args)
            dice = score(checkpoint, test)
            seconds = time.perf_counter() - started
            print(
                f"{regime:14s} fold {fold}: Dice {dice.mean():.3f} ({len(dice)} patients, "
                f"{seconds:.0f} s)",
                flush=True,
            )
            rows += [
                {"regime": regime, "fold": fold, "patient": name, "dice": value}
                for name, value in dice.items()
            ]
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "camus_cv.csv", index=False)
    summary = report(table)
    (args.out / "camus_cv.json").write_text(json.dumps(summary, indent=2, default=float))


def report(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Print Dice per regime over patients and over folds, and paired Wilcoxon tests of every
    two regimes over the patients both scored; return the per-regime summary."""
    regimes = list(dict.fromkeys(table.regime))
    summary = {}
    print("\nLV-wall Dice, patient-wise 5-fold CV on CAMUS dev (101 frames, 92 patients)")
    print(f"{'regime':14s} {'over patients':>16s} {'over folds':>14s}")
    for regime in regimes:
        part = table[table.regime == regime]
        per_fold = part.groupby("fold").dice.mean()
        summary[regime] = {
            "patients_mean": part.dice.mean(),
            "patients_std": part.dice.std(),
            "folds_mean": per_fold.mean(),
            "folds_std": per_fold.std(),
            "n_patients": int(part.patient.nunique()),
        }
        print(
            f"{regime:14s} {part.dice.mean():.3f} ± {part.dice.std():.3f}"
            f"   {per_fold.mean():.3f} ± {per_fold.std():.3f}"
            f"   (folds {', '.join(f'{value:.3f}' for value in per_fold)})"
        )
    by_patient = table.pivot_table(index="patient", columns="regime", values="dice")
    for first, second in itertools.combinations(regimes, 2):
        test = paired_wilcoxon(by_patient[first], by_patient[second])
        print(
            f"{first} - {second}: mean difference {test.mean_difference:+.4f} over "
            f"{test.n} patients, Wilcoxon {format_p(test.p_value)}"
        )
    return summary


def pool(paths: list[Path]) -> None:
    """Report the pooled ``camus_cv.csv`` of runs that each did some folds or regimes."""
    report(pd.concat([pd.read_csv(path) for path in paths], ignore_index=True))


if __name__ == "__main__":
    main()
