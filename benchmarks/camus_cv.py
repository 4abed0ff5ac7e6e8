"""Real-data accuracy: patient-wise 5-fold cross-validation on CAMUS frames.

For each fold the model trains on 4/5 of the patients and is scored on the 5th, with the
weights of the last epoch (the held-out fold never picks a checkpoint). ``--camus`` takes one
or more CAMUS folders, read as one dataset (``lvwall.data.registry.load_labelled``): a
patient's views and copies always land on one side of the split, and ``--views`` keeps some
views only. Three regimes:

* ``phantom``: trained on the synthetic phantom only (one model, scored on every fold);
* ``camus``: trained on the CAMUS training folds only;
* ``phantom+camus``: the phantom model fine-tuned on the CAMUS training folds.

Usage, the bundled model's recipe on both views of 309 patients (about 32 minutes per fold
and process on 2 CPU cores, one thread each)::

    python benchmarks/camus_cv.py --camus ../shared/data/camus-2view-dev --regimes camus \
        --seeds 0 --swa-start 0.5 --lr 0.01 --epochs 50 --frames-per-epoch 480 \
        --threads 1 --folds 0,1,2 --out runs/cv2view-a
    python benchmarks/camus_cv.py ... --folds 3,4 --out runs/cv2view-b
    python benchmarks/camus_cv.py --pool runs/cv2view-a/camus_cv.csv runs/cv2view-b/camus_cv.csv

It prints per regime and view (A4C, A2C, and both: a patient's mean over its views) the mean
LV-wall Dice over patients (frame means per recording) with its 95 % t-interval, median,
minimum and the mean over folds, and a paired Wilcoxon test of every regime against
``--reference`` (default: the first) over the patients both scored. With ``--seeds 0,1,2``
every fold is fine-tuned once per training seed (the patient split stays that of seed 0),
each model is scored as ``REGIME sS``, and their uniform model soup (``lvwall soup``) as
``REGIME soup``. ``--swa-start 0.5`` trains with stochastic weight averaging from half-way
through (``lvwall train --swa-start``); those models are labelled ``REGIME+swa``. Folds or
regimes run in separate processes are reported together with ``--pool`` (``camus_cv.csv`` is
rewritten after every fold, so a run stopped part-way keeps the folds it finished); seeds run
in separate processes (``--seeds 0``, ``--seeds 1``, ... with the same other options) are scored
with their soup by ``--regimes REGIME --soup RUN1 RUN2 ...``. The phantom regimes need
``--pretrained`` (a phantom pre-training, ``lvwall train --data runs/phantom60 ...``).
``--loss``, ``--widths``, ``--image-size``, ``--auxiliary cavity,atrium`` (CAMUS's cavity
and atrium learned beside the wall, ``lvwall train --auxiliary``) and ``--deep-supervision``
vary the recipe.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from lvwall.atomic import atomic_path, write_json
from lvwall.data import MODEL_SIZE, kfold, load_labelled, select_recordings
from lvwall.experiment import evaluate_model, format_p, paired_wilcoxon, summarise
from lvwall.model import DEFAULT_THRESHOLD, load_model
from lvwall.train import CONFIG_FILE, LAST_CHECKPOINT, TrainConfig, average_models, fit

FOLDS = 5
SPLIT_SEED = 0


def fine_tune(
    train: list,
    held_out: list,
    seed: int,
    out: Path,
    init: Path | None,
    args: argparse.Namespace,
) -> Path:
    """Fine-tune on ``train`` with training seed ``seed``; ``held_out`` is only logged."""
    config = TrainConfig(
        data=[str(path) for path in args.camus],
        loss=args.loss,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.epochs,
        augment=args.augment,
        seed=seed,
        frames_per_epoch=args.frames_per_epoch,
        init_checkpoint=str(init) if init else None,
        preset=args.preset,
        swa_start=args.swa_start,
        model_overrides={"widths": [int(w) for w in args.widths.split(",")]} if args.widths else {},
        image_size=args.image_size,
        auxiliary=args.auxiliary,
        deep_supervision=args.deep_supervision,
        compile=args.compile,
    )
    # The split is passed in, not drawn from ``seed``, so that every seed holds out the
    # same patients and their soup is scored on patients none of them saw.
    result = fit(config, out, recordings=train, val_recordings=held_out)
    return Path(result.last_checkpoint)


def fold_splits(recordings: list, folds: str | None) -> list[tuple[int, list, list]]:
    """``(fold, training recordings, held-out recordings)`` of the patient-wise split that
    every model of this benchmark is scored on, for the comma-separated ``folds`` (all when
    ``None``)."""
    chosen = range(FOLDS) if folds is None else {int(fold) for fold in folds.split(",")}
    return [
        (fold, select_recordings(recordings, train_idx), select_recordings(recordings, test_idx))
        for fold, (train_idx, test_idx) in enumerate(kfold(recordings, FOLDS, SPLIT_SEED))
        if fold in chosen
    ]


def scored_rows(
    label: str, fold: int, model: torch.nn.Module, meta: dict, held_out: list, started: float
) -> list[dict]:
    """Score ``model`` on the held-out recordings, print its fold Dice and the time since
    ``started``, and return one ``camus_cv.csv`` row per patient."""
    result = evaluate_model(
        model.eval(), held_out, threshold=meta.get("threshold", DEFAULT_THRESHOLD)
    )
    dice = result.metrics.recordings["dice"]
    print(
        f"{label:19s} fold {fold}: Dice {dice.mean():.3f} ({len(dice)} recordings, "
        f"{time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    by_name = {recording.name: recording for recording in held_out}
    return [
        {
            "regime": label,
            "fold": fold,
            "patient": by_name[name].patient,
            "view": by_name[name].view,
            "recording": name,
            "dice": value,
        }
        for name, value in dice.items()
    ]


def scored_models(
    regime: str, fold: int, train: list, held_out: list, args: argparse.Namespace
) -> dict[str, tuple[torch.nn.Module, dict]]:
    """The models of ``regime`` for ``fold`` by label: one per seed, plus their soup."""
    if regime == "phantom":
        return {regime: load_model(args.pretrained)}
    init = args.pretrained if regime == "phantom+camus" else None
    label = regime_label(regime, args.swa_start)
    if len(args.seeds) == 1:
        run = args.out / f"{regime}-fold{fold}"
        return {label: load_model(fine_tune(train, held_out, args.seeds[0], run, init, args))}
    checkpoints = {
        f"{label} s{seed}": fine_tune(
            train, held_out, seed, args.out / f"{regime}-fold{fold}-seed{seed}", init, args
        )
        for seed in args.seeds
    }
    return members_and_soup(checkpoints, label)


def regime_label(regime: str, swa_start: float | None) -> str:
    """Fine-tunes with weight averaging (``--swa-start``) are labelled ``REGIME+swa``."""
    return f"{regime}+swa" if swa_start is not None else regime


def members_and_soup(checkpoints: dict[str, Path], label: str) -> dict[str, tuple]:
    """The models of ``checkpoints`` by label, plus their uniform soup as ``LABEL soup``
    where there are several (the soup of one model is that model)."""
    models = {name: load_model(path) for name, path in checkpoints.items()}
    if len(checkpoints) > 1:
        models[f"{label} soup"] = average_models(list(checkpoints.values()))
    return models


def souped_models(
    regime: str, fold: int, runs: list[Path]
) -> dict[str, tuple[torch.nn.Module, dict]]:
    """The last checkpoints of ``regime`` for ``fold`` in single-seed runs made by separate
    processes (one ``--seeds S`` each), labelled by the seed and weight averaging their
    ``config.yaml`` records, plus their soup: the models one ``--seeds S1,S2,...`` run trains."""
    checkpoints = {}
    for run in runs:
        folder = run / f"{regime}-fold{fold}"
        config = TrainConfig.from_yaml(folder / CONFIG_FILE)
        label = regime_label(regime, config.swa_start)
        checkpoints[f"{label} s{config.seed}"] = folder / LAST_CHECKPOINT
    return members_and_soup(checkpoints, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--camus",
        type=Path,
        nargs="+",
        default=[Path("../shared/data/camus-a4c-dev")],
        help="CAMUS folders; several are read as one dataset, split by patient",
    )
    parser.add_argument(
        "--views",
        default="A4C,A2C",
        help="comma-separated views to train and score on (default: both)",
    )
    parser.add_argument("--pretrained", type=Path)
    parser.add_argument(
        "--reference", default=None, help="regime the others are tested against (default: first)"
    )
    parser.add_argument(
        "--pool",
        nargs="+",
        help="report these camus_cv.csv files together instead of training; FILE=NAME "
        "reports the rows of FILE as the regime NAME (runs that differ in an option only)",
    )
    parser.add_argument(
        "--soup",
        type=Path,
        nargs="+",
        help="score the seeds of these single-seed runs and their soup per fold, not training",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/camus_cv"))
    parser.add_argument("--regimes", default="phantom,camus,phantom+camus")
    parser.add_argument("--preset", default="fast6")
    parser.add_argument(
        "--widths", default=None, help="channels per level, e.g. 16,32,64,128,256 (default: preset)"
    )
    parser.add_argument(
        "--image-size", type=int, default=MODEL_SIZE, help="side of the frames the model trains on"
    )
    parser.add_argument(
        "--auxiliary",
        default="",
        help="structures learned beside the wall by a training-only head, e.g. cavity,atrium",
    )
    parser.add_argument(
        "--deep-supervision",
        type=int,
        default=0,
        help="decoder levels above the last that also learn the wall (lvwall train "
        "--deep-supervision)",
    )
    parser.add_argument("--loss", default="dice-bce")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--frames-per-epoch", type=int, default=80)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--augment", default="echo")
    parser.add_argument(
        "--swa-start",
        type=float,
        default=None,
        help="average the weights from this fraction of the epochs on (default: no averaging)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--compile",
        action="store_true",
        help="train through torch.compile (lvwall train --compile)",
    )
    parser.add_argument("--folds", default=None, help="comma-separated folds to run (default: all)")
    parser.add_argument(
        "--seeds",
        type=lambda text: [int(seed) for seed in text.split(",")],
        default="0",
        help="comma-separated training seeds per fold; several also score their soup",
    )
    args = parser.parse_args()
    if args.pool:
        pool(args.pool, args.reference)
        return
    regimes = args.regimes.split(",")
    if args.soup and "phantom" in regimes:
        parser.error("--soup scores fine-tunes; the phantom regime trains none")
    if args.pretrained is None and not args.soup and {"phantom", "phantom+camus"} & set(regimes):
        parser.error("--pretrained is required for the phantom regimes")
    torch.set_num_threads(args.threads)

    recordings = load_labelled(
        args.camus, args.image_size, progress=False, views=args.views.split(",")
    )
    splits = fold_splits(recordings, args.folds)
    rows = []
    for regime in regimes:
        for fold, train, test in splits:
            started = time.perf_counter()
            models = (
                souped_models(regime, fold, args.soup)
                if args.soup
                else scored_models(regime, fold, train, test, args)
            )
            for label, (model, meta) in models.items():
                rows += scored_rows(label, fold, model, meta, test, started)
            # Rewritten after every fold, so that a run stopped part-way keeps the folds it
            # finished (``--pool`` reports them).
            with atomic_path(args.out / "camus_cv.csv") as partial:
                pd.DataFrame(rows).to_csv(partial, index=False)
    table = pd.DataFrame(rows)
    summary = report(table, args.reference)
    write_json(args.out / "camus_cv.json", summary)


def report(table: pd.DataFrame, reference: str | None = None) -> dict[str, dict]:
    """Print per regime and view the mean LV-wall Dice over patients with its 95 % CI, over
    folds, and a paired Wilcoxon test against ``reference`` (default: the first regime) over
    the patients both scored; return the per-regime summary."""
    regimes = list(dict.fromkeys(table.regime))
    reference = reference or regimes[0]
    n_patients = table.patient.nunique()
    print(f"\nLV-wall Dice, patient-wise {FOLDS}-fold CV over {n_patients} patients")
    print(f"{'regime':19s} {'view':4s} {'mean over patients [95% CI]':>30s} {'over folds':>14s}")
    summary: dict[str, dict] = {}
    for regime in regimes:
        summary[regime] = {}
        for view, part in _views(table[table.regime == regime]):
            by_patient = part.groupby("patient").dice.mean()
            stats = summarise(by_patient.to_numpy())
            per_fold = part.groupby("fold").dice.mean()
            summary[regime][view] = {
                **stats.to_dict(),
                "median": float(by_patient.median()),
                "min": float(by_patient.min()),
                "folds": per_fold.tolist(),
            }
            print(
                f"{regime:19s} {view:4s} {stats.mean:.3f} [{stats.ci_low:.3f}, "
                f"{stats.ci_high:.3f}] (median {by_patient.median():.3f}, min "
                f"{by_patient.min():.3f})   {per_fold.mean():.3f} ± {per_fold.std():.3f}"
            )
    for regime in regimes:
        if regime == reference:
            continue
        for view, _ in _views(table):
            by_patient = _views_of(table, view).pivot_table(
                index="patient", columns="regime", values="dice"
            )
            test = paired_wilcoxon(by_patient[regime], by_patient[reference])
            summary[regime][view]["against_reference"] = test.to_dict()
            print(
                f"{regime} - {reference}, {view}: mean difference {test.mean_difference:+.4f} "
                f"over {test.n} patients, Wilcoxon {format_p(test.p_value)}"
            )
    return summary


def _views_of(table: pd.DataFrame, view: str) -> pd.DataFrame:
    return table if view == "all" else table[table.view == view]


def _views(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Each view's rows, then all rows (a patient's Dice: the mean over its views)."""
    views = sorted(table.view.unique()) if "view" in table else []
    return [(view, _views_of(table, view)) for view in views] + [("all", table)]


def pool(paths: list[str], reference: str | None = None) -> None:
    """Report the pooled ``camus_cv.csv`` of runs that each did some folds or regimes; a
    ``FILE=NAME`` gives the rows of ``FILE`` the regime ``NAME``."""
    tables = []
    for entry in paths:
        path, _, name = entry.partition("=")
        table = pd.read_csv(path)
        if name:
            table["regime"] = name
        tables.append(table)
    report(pd.concat(tables, ignore_index=True), reference)


if __name__ == "__main__":
    main()
