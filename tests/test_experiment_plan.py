"""lvwall.experiment.plan: the outer folds and the folder checks made before anything trains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lvwall.data.phantom import write_dataset
from lvwall.errors import DataError, LvwallError
from lvwall.experiment.config import ExperimentConfig
from lvwall.experiment.plan import FOLDS_FILE, prepare_experiment

SMALL_PHANTOM = {"width": 128, "height": 96, "n_frames": 8, "cycle_frames": 6}
N_RECORDINGS = 6


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "phantom"
    write_dataset(out, N_RECORDINGS, seed=0, progress=False, fixed_params=SMALL_PHANTOM)
    return out


def test_prepare_writes_config_and_folds_by_name(phantom: Path, tmp_path: Path) -> None:
    plan = prepare_experiment(ExperimentConfig.from_preset([phantom], "tiny"), tmp_path)
    record = json.loads((tmp_path / FOLDS_FILE).read_text(encoding="utf-8"))
    assert record == plan.folds_record()
    names = [set(f["test"]) for f in record["folds"]]
    assert set().union(*names) == {r.name for r in plan.recordings}
    assert not set.intersection(*names)


def test_a_fresh_experiment_refuses_a_used_folder(phantom: Path, tmp_path: Path) -> None:
    config = ExperimentConfig.from_preset([phantom], "tiny")
    prepare_experiment(config, tmp_path)
    with pytest.raises(LvwallError, match="already holds an experiment"):
        prepare_experiment(config, tmp_path)


def test_resume_refuses_a_changed_config(phantom: Path, tmp_path: Path) -> None:
    prepare_experiment(ExperimentConfig.from_preset([phantom], "tiny"), tmp_path)
    changed = ExperimentConfig.from_preset([phantom], "tiny", seed=1)
    with pytest.raises(LvwallError, match="seed, train.seed differ"):
        prepare_experiment(changed, tmp_path, resume=True)


def test_resume_needs_an_experiment(phantom: Path, tmp_path: Path) -> None:
    with pytest.raises(LvwallError, match="nothing to resume"):
        prepare_experiment(ExperimentConfig.from_preset([phantom], "tiny"), tmp_path, resume=True)


@pytest.mark.parametrize(
    ("folds", "val_fraction", "problem"),
    [
        (N_RECORDINGS + 1, 0.5, "too few for 7-fold"),
        # 6 folds of 6 patients: more folds than patients in either MI class.
        (N_RECORDINGS, 0.5, "cannot be split into 6 patient-wise folds"),
        # 4 training patients: the inner 20 % split needs 4 folds, more than either class has.
        (3, 0.2, "training fold 1 cannot be split patient-wise"),
    ],
)
def test_too_few_patients_for_the_folds(
    phantom: Path, tmp_path: Path, folds: int, val_fraction: float, problem: str
) -> None:
    config = ExperimentConfig.from_preset([phantom], "tiny", folds=folds)
    config.train = config.train.with_overrides(val_fraction=val_fraction)
    with pytest.raises(DataError, match=problem):
        prepare_experiment(config, tmp_path)
    assert not (tmp_path / "config.yaml").exists()
