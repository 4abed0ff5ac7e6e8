"""An experiment's plan and folder: the outer folds, the checks before anything trains.

The experiment folder::

    config.yaml               the exact ExperimentConfig (written first)
    folds.json                the outer folds, by recording name
    runs/fold-K/<loss>/<candidate>/   one lvwall.train.fit run per candidate
    runs/fold-K/<loss>/result.json    marker: chosen candidate + test-fold metrics
    results.csv, results.json, report.html, figures/*.png

Outer folds come from :func:`lvwall.data.splits.kfold` (patient-wise, MI-stratified); every
fold's training part must also split patient-wise for the inner validation of
:mod:`lvwall.experiment.tuning`, which is checked here, before the first run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvwall.atomic import write_json
from lvwall.data import LabelledRecording, kfold, load_labelled, select_recordings
from lvwall.errors import DataError, OutputError
from lvwall.experiment.config import ExperimentConfig
from lvwall.experiment.report import REPORT_FILE
from lvwall.experiment.results import CSV_FILE, JSON_FILE
from lvwall.experiment.tuning import inner_split
from lvwall.train import CONFIG_FILE

FOLDS_FILE = "folds.json"
RUNS_DIR = "runs"
RESULT_FILE = "result.json"
#: Files and folders an experiment writes; a fresh experiment refuses a folder holding any.
OWN_OUTPUTS: tuple[str, ...] = (
    CONFIG_FILE,
    FOLDS_FILE,
    RUNS_DIR,
    CSV_FILE,
    JSON_FILE,
    REPORT_FILE,
)


@dataclass(frozen=True)
class ExperimentPlan:
    """A prepared experiment: its config, folder, recordings and outer folds (indices into
    ``recordings``; fold ``k`` is numbered ``k + 1`` in names and reports)."""

    config: ExperimentConfig
    out_dir: Path
    recordings: list[LabelledRecording]
    folds: list[tuple[list[int], list[int]]]

    def split(self, fold: int) -> tuple[list[LabelledRecording], list[LabelledRecording]]:
        """The outer (training, test) recordings of fold index ``fold``."""
        if not 0 <= fold < len(self.folds):
            raise ValueError(f"fold must be in 0..{len(self.folds) - 1}, got {fold}")
        train, test = self.folds[fold]
        return select_recordings(self.recordings, train), select_recordings(self.recordings, test)

    def loss_dir(self, fold: int, loss: str) -> Path:
        return self.out_dir / RUNS_DIR / f"fold-{fold + 1}" / loss

    @property
    def n_runs(self) -> int:
        """Training runs in the whole experiment."""
        per_fold = sum(len(self.config.candidates(loss)) for loss in self.config.losses)
        return per_fold * len(self.folds)

    def folds_record(self) -> dict[str, Any]:
        """The outer folds by recording name, as written to ``folds.json``."""
        return {
            "seed": self.config.seed,
            "folds": [
                {
                    "fold": k + 1,
                    "train": [self.recordings[i].name for i in train],
                    "test": [self.recordings[i].name for i in test],
                }
                for k, (train, test) in enumerate(self.folds)
            ],
        }


def prepare_experiment(
    config: ExperimentConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    recordings: Sequence[LabelledRecording] | None = None,
) -> ExperimentPlan:
    """Check the folder, load the data, draw the outer folds and save config and folds.

    A fresh experiment refuses a folder that already holds experiment outputs; ``resume``
    requires the saved ``config.yaml`` and ``folds.json`` to match. ``recordings`` skips
    loading ``config.data``. Raises :class:`OutputError` (about the folder) or
    :class:`DataError` (about the data), one sentence naming the folder or file.
    """
    out_dir = Path(out_dir).expanduser().resolve()
    _check_out_dir(out_dir, config, resume)
    if recordings is None:
        recordings = load_labelled(
            config.data, size=config.train.image_size, progress=True, views=config.train.views
        )
    recordings = list(recordings)
    n_patients = len({recording.patient for recording in recordings})
    if n_patients < config.folds:
        raise DataError(
            config.data[0],
            f"holds {n_patients} patients, too few for {config.folds}-fold cross-validation",
        )
    try:
        folds = [
            (list(train), list(test))
            for train, test in kfold(recordings, config.folds, config.seed)
        ]
    except ValueError as error:
        raise DataError(
            config.data[0],
            f"cannot be split into {config.folds} patient-wise folds stratified by MI ({error})",
        ) from None
    plan = ExperimentPlan(config, out_dir, recordings, folds)
    for k in range(len(folds)):
        train, _ = plan.split(k)
        try:
            inner_split(train, config.train.val_fraction, config.seed)
        except ValueError as error:
            raise DataError(
                config.data[0],
                f"training fold {k + 1} cannot be split patient-wise for validation ({error}); "
                "use fewer folds, another val_fraction or more recordings",
            ) from None
    folds_path = out_dir / FOLDS_FILE
    if resume:
        saved = json.loads(folds_path.read_text(encoding="utf-8")) if folds_path.is_file() else None
        if saved != plan.folds_record():
            raise OutputError(
                folds_path,
                "--resume must continue on the same data, but the folds drawn "
                "now differ from the saved ones (did the data change?)",
            )
    else:
        config.to_yaml(out_dir / CONFIG_FILE)
        write_json(folds_path, plan.folds_record())
    return plan


def _check_out_dir(out_dir: Path, config: ExperimentConfig, resume: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(out_dir, "the output path exists and is not a folder")
    config_path = out_dir / CONFIG_FILE
    if resume:
        if not config_path.is_file():
            raise OutputError(out_dir, f"nothing to resume, there is no {CONFIG_FILE}")
        changed = ExperimentConfig.from_yaml(config_path).differences(config)
        if changed:
            raise OutputError(
                config_path,
                "--resume must continue the same experiment, but "
                f"{', '.join(changed)} differ from the saved config",
            )
        return
    present = [name for name in OWN_OUTPUTS if (out_dir / name).exists()]
    if present:
        raise OutputError(
            out_dir,
            f"the folder already holds an experiment ({', '.join(present)}); "
            "pick a new --out or continue it with --resume",
        )
